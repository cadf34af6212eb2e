"""Reader for "stealth" generation info hidden in the lowest bit of the pixels.

NovelAI hides its metadata in the alpha channel's low bits (`stealth_pngcomp`: gzip'd JSON),
and an AUTOMATIC1111/Forge extension does the same in alpha (`stealth_pnginfo`/`stealth_pngcomp`)
or across R, G, B (`stealth_rgbinfo`/`stealth_rgbcomp`). Layout, as both writers do it: bits run
down each column, column after column (x outer, y inner; R, G, B per pixel in RGB mode): a
15-byte signature, a 32-bit big-endian length in bits, then the payload. Reading is bounded.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

SIG_BITS = 15 * 8
LEN_BITS = 32
ALPHA_SIGS = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}  # signature -> compressed
RGB_SIGS = {b"stealth_rgbinfo": False, b"stealth_rgbcomp": True}


@dataclass(frozen=True)
class Stealth:
    signature: str
    channel: str  # "alpha" or "rgb"
    text: str


def read(image: Image.Image, max_bytes: int = 1_000_000) -> Stealth | None:
    """Decode hidden info from a PNG/WebP frame, or None when there is none."""
    if image.mode not in ("RGB", "RGBA"):
        return None
    if image.mode == "RGBA":
        found = _read_plane(_Columns(image, (3,)), ALPHA_SIGS, "alpha", max_bytes)
        if found:
            return found
    return _read_plane(_Columns(image, (0, 1, 2)), RGB_SIGS, "rgb", max_bytes)


class _Columns:
    """The low-bit stream of some channels, converting only the columns a read reaches."""

    def __init__(self, image: Image.Image, channels: tuple[int, ...]) -> None:
        self.image = image
        self.channels = channels
        self.per_column = image.height * len(channels)

    def bits(self, start: int, count: int) -> np.ndarray | None:
        """Bits start..start+count (x outer, y inner, channels innermost), or None if short."""
        end = start + count
        if end > self.image.width * self.per_column:
            return None
        first, last = start // self.per_column, -(-end // self.per_column)
        block = np.asarray(self.image.crop((first, 0, last, self.image.height)))
        stream = block[..., list(self.channels)].transpose(1, 0, 2).reshape(-1)
        offset = start - first * self.per_column
        return stream[offset : offset + count] & 1


def _read_plane(
    plane: _Columns, signatures: dict[bytes, bool], channel: str, max_bytes: int
) -> Stealth | None:
    head = plane.bits(0, SIG_BITS + LEN_BITS)
    if head is None:
        return None
    signature = np.packbits(head[:SIG_BITS]).tobytes()
    if signature not in signatures:
        return None
    length = int.from_bytes(np.packbits(head[SIG_BITS:]).tobytes(), "big")
    if length <= 0 or length > max_bytes * 8:
        return None
    payload = plane.bits(SIG_BITS + LEN_BITS, length)
    if payload is None:
        return None
    data = np.packbits(payload).tobytes()
    text = _gunzip(data, max_bytes) if signatures[signature] else data.decode("utf-8", "replace")
    if text is None:
        return None
    return Stealth(signature.decode(), channel, text)


def _gunzip(data: bytes, max_bytes: int) -> str | None:
    """gzip-decompress with an output cap, so a tiny payload cannot expand without bound."""
    try:
        inflater = zlib.decompressobj(wbits=31)
        out = inflater.decompress(data, max_bytes)
    except zlib.error:
        return None
    return out.decode("utf-8", "replace")
