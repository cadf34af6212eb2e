"""Decoder for the DWT-DCT invisible watermark that Stable Diffusion's tools embed.

Reproduces invisible-watermark 0.2.0 (`imwatermark.maxDct.EmbedMaxDct.decode`) bit for bit,
with NumPy only (the haar step matches PyWavelets' `dwt2` bit for bit):

1. convert to YUV exactly as OpenCV's 8-bit COLOR_BGR2YUV does (fixed point, 14-bit shift);
2. take the haar DWT of the U channel (the reference loops over channels 0..1 and channel 0 has
   scale 0, so only U carries the mark, with scale 36);
3. cut the approximation band into 4×4 blocks; in each, the largest-magnitude coefficient other
   than the first votes 1 when |value| mod 36 > 18, else 0;
4. block number n (row-major) votes for bit n mod L; a bit is 1 when its mean vote × 255 > 127.

Despite the method's name, the reference never applies a DCT to the blocks; neither do we.

Second domain ("float"): diffusers (SDXL) hands the encoder float32 pixels, and OpenCV's float
BGR→YUV centres U on 0.5 instead of 128. The mark then sits in that float U plane, and the
8-bit reference decoder misreads it (any block whose coefficient was negative comes out
inverted, which is most blocks in warm skin tones). Decoding in the float domain reads those
images as the encoder wrote them. The 8-bit domain stays exactly the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SCALE = 36
BLOCK = 4
PIXELS_PER_BLOCK = 2 * BLOCK  # one 4×4 block of the half-size DWT band covers 8×8 pixels

# OpenCV's fixed-point RGB→YUV coefficients for 8-bit images (yuv_shift = 14).
_SHIFT = 14
_R2Y, _G2Y, _B2Y, _B2U = 4899, 9617, 1868, 8061


def planes(rgb: np.ndarray) -> np.ndarray:
    """An 8-bit RGB array (H, W, 3) as float32 colour planes (3, H, W): converted once, shared
    by both domains."""
    return np.array(np.moveaxis(rgb, -1, 0), dtype=np.float32, order="C")


def u_channel(rgb: np.ndarray) -> np.ndarray:
    """The U plane of an 8-bit RGB array (H, W, 3), as cv2.COLOR_BGR2YUV computes it."""
    return u_from_planes(planes(rgb))


def u_from_planes(p: np.ndarray) -> np.ndarray:
    """OpenCV's fixed-point U, computed exactly in float32: every product and sum is an
    integer below 2**24 (so exact), and scaling by 2**-14 then flooring is the arithmetic
    right shift. About twice as fast as the same sums in int32 from interleaved pixels."""
    r: np.ndarray = p[0]  # unpacking an array would type its rows as Any
    g: np.ndarray = p[1]
    b: np.ndarray = p[2]
    f32 = np.float32
    acc = r * f32(_R2Y)  # in place from here: the sums are exact, so their order is free
    tmp = g * f32(_G2Y)
    acc += tmp
    np.multiply(b, f32(_B2Y), out=tmp)
    acc += tmp
    acc += f32(1 << (_SHIFT - 1))
    acc *= f32(1 / (1 << _SHIFT))
    np.floor(acc, out=acc)  # y
    np.subtract(b, acc, out=acc)
    acc *= f32(_B2U)
    acc += f32((128 << _SHIFT) + (1 << (_SHIFT - 1)))
    acc *= f32(1 / (1 << _SHIFT))
    np.floor(acc, out=acc)
    np.clip(acc, 0, 255, out=acc)
    return acc.astype(np.uint8)


def u_channel_float(rgb: np.ndarray) -> np.ndarray:
    """The U plane as OpenCV computes it for float32 pixels in 0..255 (offset 0.5, not 128)."""
    return u_float_from_planes(planes(rgb))


def u_float_from_planes(p: np.ndarray) -> np.ndarray:
    r: np.ndarray = p[0]
    g: np.ndarray = p[1]
    b: np.ndarray = p[2]
    y = r * np.float32(0.299) + g * np.float32(0.587) + b * np.float32(0.114)
    return (b - y) * np.float32(0.492) + np.float32(0.5)


DOMAINS = ("uint8", "float")
_U_OF = {"uint8": u_from_planes, "float": u_float_from_planes}


def block_votes(rgb: np.ndarray, domain: str = "uint8") -> np.ndarray:
    """Each 8×8-pixel block's 0/1 vote, shape (H // 8, W // 8), as the reference computes it."""
    return block_votes_all(rgb, (domain,))[domain]


def block_votes_all(rgb: np.ndarray, domains: tuple[str, ...] = DOMAINS) -> dict[str, np.ndarray]:
    """Block votes in each domain, from one conversion of the pixels."""
    h, w = rgb.shape[:2]
    p = planes(rgb[: h // 4 * 4, : w // 4 * 4])
    return {d: votes_of_u(_U_OF[d](p)) for d in domains}


def votes_of_u(u: np.ndarray) -> np.ndarray:
    approx = haar_approx(u)
    rows, cols = approx.shape[0] // BLOCK, approx.shape[1] // BLOCK
    blocks = approx[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK)
    flat = blocks.transpose(0, 2, 1, 3).reshape(rows, cols, BLOCK * BLOCK)[..., 1:]
    mag = np.abs(flat)
    pos = np.argmax(mag, axis=-1)  # first maximum, as np.argmax in the reference
    val = np.take_along_axis(mag, pos[..., None], axis=-1)[..., 0]
    return (val % SCALE > 0.5 * SCALE).astype(np.uint8)


_HAAR = 0.7071067811865476  # pywt's haar filter tap, 1/sqrt(2) as a double


def haar_approx(u: np.ndarray) -> np.ndarray:
    """The approximation band of a one-level haar DWT (even-sized input), equal bit for bit
    to `pywt.dwt2(u, "haar")[0]` (same dtype rule, same products and sums in the same order)
    at a fraction of its cost: pywt also computes the three detail bands, which are unused."""
    h: np.floating[Any]
    if u.dtype == np.float32:
        x, h = u, np.float32(_HAAR)
    else:
        x, h = u.astype(np.float64), np.float64(_HAAR)
    rows = h * x[1::2] + h * x[0::2]  # pywt filters axis 0 first, then axis 1
    return h * rows[:, 1::2] + h * rows[:, 0::2]


@dataclass(frozen=True)
class Decoded:
    bits: np.ndarray  # 0/1 per watermark bit
    means: np.ndarray  # mean vote per bit (how clear each bit is)


def decode_votes(
    votes: np.ndarray,
    length: int,
    first_block: tuple[int, int] = (0, 0),
    grid_cols: int | None = None,
) -> Decoded:
    """Bits of an L-bit mark from block votes.

    `first_block` and `grid_cols` place a crop's votes in the full image's block grid, so bit
    numbering is the encoder's: block (i, j) of the full image votes for bit (i*cols + j) mod L.
    """
    rows, cols = votes.shape
    grid_cols = cols if grid_cols is None else grid_cols
    i = np.arange(rows)[:, None] + first_block[0]
    j = np.arange(cols)[None, :] + first_block[1]
    bit_index = ((i * grid_cols + j) % length).ravel()
    counts = np.bincount(bit_index, minlength=length)
    sums = np.bincount(bit_index, weights=votes.ravel().astype(np.float64), minlength=length)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return Decoded(bits=(means * 255 > 127).astype(np.uint8), means=means)


def decode(rgb: np.ndarray, length: int, domain: str = "uint8") -> Decoded:
    """Decode the whole image; in the uint8 domain exactly as the reference decoder does."""
    return decode_votes(block_votes(rgb, domain), length)


def aligned_crop(height: int, width: int, max_side: int) -> tuple[int, int, int, int]:
    """A centred crop (top, left, crop_h, crop_w) on the encoder's 8-pixel block grid.

    Cropping on the grid keeps every block intact, so the crop's votes are the full image's
    votes for those blocks; resizing instead would destroy the mark.
    """
    grid_h, grid_w = height // PIXELS_PER_BLOCK, width // PIXELS_PER_BLOCK
    max_blocks = max_side // PIXELS_PER_BLOCK
    bh, bw = min(grid_h, max_blocks), min(grid_w, max_blocks)
    top, left = (grid_h - bh) // 2, (grid_w - bw) // 2
    step = PIXELS_PER_BLOCK
    return top * step, left * step, bh * step, bw * step


def decode_cropped(
    rgb: np.ndarray, lengths: list[int], max_side: int = 1024, domain: str = "uint8"
) -> dict[int, Decoded]:
    """Decode marks of several lengths from one aligned crop of at most max_side × max_side."""
    height, width = rgb.shape[:2]
    top, left, ch, cw = aligned_crop(height, width, max_side)
    return decode_crop(rgb[top : top + ch, left : left + cw], lengths, (top, left), width, domain)


def decode_crop(
    crop: np.ndarray,
    lengths: list[int],
    origin: tuple[int, int],
    full_width: int,
    domain: str = "uint8",
) -> dict[int, Decoded]:
    """Decode an already-cut crop whose top-left pixel `origin` lies on the 8-pixel grid."""
    return decode_crop_all(crop, lengths, origin, full_width, (domain,))[domain]


def decode_crop_all(
    crop: np.ndarray,
    lengths: list[int],
    origin: tuple[int, int],
    full_width: int,
    domains: tuple[str, ...] = DOMAINS,
) -> dict[str, dict[int, Decoded]]:
    """decode_crop in every domain, converting the crop's pixels once."""
    first = (origin[0] // PIXELS_PER_BLOCK, origin[1] // PIXELS_PER_BLOCK)
    grid_cols = full_width // PIXELS_PER_BLOCK
    return {
        d: {n: decode_votes(votes, n, first, grid_cols) for n in lengths}
        for d, votes in block_votes_all(crop, domains).items()
    }


def bits_of_bytes(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def bits_of_hex(value: str, length: int) -> np.ndarray:
    number = int(value, 16)
    return np.array([(number >> (length - 1 - k)) & 1 for k in range(length)], dtype=np.uint8)
