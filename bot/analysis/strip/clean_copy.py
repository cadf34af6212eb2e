"""A metadata-free copy of a photo, for people who want to share it without what it gives away.

JPEG, PNG and WebP lose their metadata without being re-encoded: the container is rewritten
with only the segments or chunks that decoding and correct display need, so the picture data
is byte for byte the original's (same pixels, about the same size). Everything else goes: EXIF
(GPS, serials, thumbnail, maker notes), XMP, IPTC, text chunks, comments, C2PA/JUMBF manifests,
MPF secondary pictures and anything after the end of the image. What stays:

- JPEG: SOF/DHT/DQT/DRI/SOS and the scan data, the ICC profile (APP2), Adobe's colour-transform
  segment (APP14) and the JFIF header with its thumbnail removed.
- PNG: every critical chunk, transparency, colour (gAMA, cHRM, sRGB, iCCP, cICP, HDR levels),
  sBIT, pHYs, bKGD and APNG animation chunks.
- WebP: the image, alpha, animation and ICC chunks; VP8X flags and the RIFF size are fixed.

An EXIF orientation other than 1 is kept as a minimal EXIF block holding that one tag (nothing
else), so the copy shows the right way up without re-encoding. Other formats (HEIC, AVIF, GIF,
TIFF, BMP), and any file whose container we cannot rewrite safely, are decoded and re-encoded:
orientation applied to the pixels, ICC kept; JPEG at high quality for lossy sources, PNG for
transparent or lossless ones; animations keep their first frame. `StrippedCopy.how` says which
happened, so the reply can say what is true of the copy.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import PurePath
from typing import NamedTuple

from PIL import Image, ImageOps, JpegImagePlugin

from bot.analysis.intake.decode import open_photo
from bot.analysis.intake.photo import Photo
from bot.settings import Settings, get_settings

JPEG_QUALITY = 95
_LOSSY = {"JPEG", "MPO", "HEIF", "AVIF", "WEBP"}
_JPEG_MODES = {"RGB", "L", "CMYK"}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
ORIENTATION = 0x0112


class StrippedCopy(NamedTuple):
    data: bytes
    filename: str
    # lossless | lossless_oriented (kept a lone orientation tag) | reencoded_jpeg | reencoded_png
    how: str


def strip_metadata(
    photo_or_bytes: Photo | bytes,
    filename: str | None = None,
    settings: Settings | None = None,
) -> StrippedCopy:
    """A copy without metadata. Bytes go through safe intake first and raise IntakeError when
    they are not a photo we can read."""
    if isinstance(photo_or_bytes, Photo):
        photo = photo_or_bytes
    else:
        limits = (settings or get_settings()).limits
        photo = open_photo(photo_or_bytes, filename or "photo", limits)
    name = filename or photo.filename
    lossless = _lossless(photo)
    if lossless is not None:
        data, fmt, oriented = lossless
        how = "lossless_oriented" if oriented else "lossless"
        return StrippedCopy(data, clean_filename(name, fmt), how)
    image = _upright(photo.image)
    fmt = _output_format(photo.format, image)
    data = _encode(image, fmt, photo)
    return StrippedCopy(data, clean_filename(name, fmt), f"reencoded_{fmt.lower()}")


# -- lossless: rewrite the container ------------------------------------------------------------
class _Malformed(ValueError):
    """The container is not laid out as its format says: re-encode instead."""


def _lossless(photo: Photo) -> tuple[bytes, str, bool] | None:
    """(clean bytes, format, orientation kept) or None when this photo must be re-encoded."""
    rewrite = {"JPEG": _strip_jpeg, "MPO": _strip_jpeg, "PNG": _strip_png, "WEBP": _strip_webp}
    strip = rewrite.get(photo.format)
    if strip is None:
        return None
    orientation = _orientation(photo)
    try:
        data = strip(photo.data, orientation)
    except (_Malformed, IndexError, struct.error):
        return None
    if not _decodes_like(data, photo.image):
        return None
    fmt = "JPEG" if photo.format == "MPO" else photo.format
    return data, fmt, orientation != 1


def _orientation(photo: Photo) -> int:
    try:
        value = int(photo.image.getexif().get(ORIENTATION, 1))
    except Exception:  # a damaged EXIF block: as if there were none
        return 1
    return value if 1 <= value <= 8 else 1


def _orientation_tiff(orientation: int) -> bytes:
    """A big-endian TIFF header with one IFD holding only the orientation tag."""
    entry = struct.pack(">HHIHH", ORIENTATION, 3, 1, orientation, 0)
    return b"MM\x00*" + struct.pack(">IH", 8, 1) + entry + b"\x00\x00\x00\x00"


def _decodes_like(data: bytes, original: Image.Image) -> bool:
    """A last guard: the rewritten file decodes to a picture of the same size and mode."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.size == original.size and im.mode == original.mode
    except Exception:
        return False


# JPEG ---------------------------------------------------------------------------------------
_SOI, _EOI, _SOS, _APP0, _APP1, _APP2, _APP14 = 0xD8, 0xD9, 0xDA, 0xE0, 0xE1, 0xE2, 0xEE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length


def _strip_jpeg(data: bytes, orientation: int) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise _Malformed("no SOI")
    out = [b"\xff\xd8"]
    tag = b"Exif\x00\x00" + _orientation_tiff(orientation) if orientation != 1 else b""
    for marker, segment in _jpeg_segments(data):
        if tag and marker != _APP0:  # EXIF follows the JFIF header, before everything else
            out.append(_jpeg_segment(_APP1, tag))
            tag = b""
        kept = _kept_jpeg_segment(marker, segment)
        if kept is not None:
            out.append(kept)
        if marker == _EOI:
            return b"".join(out)  # anything after it (MPF pictures, trailers) is dropped
    raise _Malformed("no EOI")


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, the segment's bytes with its scan data) from after SOI to EOI."""
    pos, n = 2, len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise _Malformed("expected a marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            yield marker, data[pos : pos + 2]
            return
        if marker in _STANDALONE:
            yield marker, data[pos : pos + 2]
            pos += 2
            continue
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if end > n or end < pos + 4:
            raise _Malformed("segment length")
        if marker == _SOS:
            end = _end_of_scan(data, end)
        yield marker, data[pos:end]
        pos = end
    raise _Malformed("ran out of data")


def _end_of_scan(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at `pos` ends: at the next marker that is not a
    stuffed 0xFF00, a restart marker or a fill byte."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise _Malformed("scan without an end")
        following = data[pos + 1]
        if following == 0 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1
        else:
            return pos


def _kept_jpeg_segment(marker: int, segment: bytes) -> bytes | None:
    """The segment as it goes into the copy, or None to drop it."""
    body = segment[4:]
    if marker == _APP0:
        if not body.startswith(b"JFIF\x00") or len(body) < 14:
            return None  # JFXX thumbnails, AVI1 and the like
        return _jpeg_segment(_APP0, body[:12] + b"\x00\x00")  # the header without its thumbnail
    if marker == _APP2:
        return segment if body.startswith(b"ICC_PROFILE\x00") else None  # MPF, FlashPix go
    if marker == _APP14:
        return segment if body.startswith(b"Adobe") else None  # says how to convert colours
    if 0xE0 <= marker <= 0xEF or marker == 0xFE:  # APPn (EXIF, XMP, IPTC, JUMBF…) and COM
        return None
    return segment


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    if len(body) + 2 > 0xFFFF:
        raise _Malformed("segment too long")
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


# PNG ----------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks that change how the pixels look (or move): everything else is dropped.
_PNG_DISPLAY = {
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"mDCv", b"cLLI", b"cLLi",
    b"sBIT", b"pHYs", b"bKGD", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def _strip_png(data: bytes, orientation: int) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise _Malformed("no PNG signature")
    out, pos = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _Malformed("chunk length")
        critical = kind[:1].isupper()
        if critical or kind in _PNG_DISPLAY:
            out.append(data[pos:end])
        if kind == b"IHDR" and orientation != 1:
            out.append(_png_chunk(b"eXIf", _orientation_tiff(orientation)))
        if kind == b"IEND":
            return b"".join(out)  # anything after it is dropped
        pos = end
    raise _Malformed("no IEND")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")


# WebP ---------------------------------------------------------------------------------------
_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(data: bytes, orientation: int) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _Malformed("no RIFF/WEBP header")
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    chunks, pos = [], 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        stop = pos + 8 + size + (size & 1)
        if pos + 8 + size > end:
            raise _Malformed("chunk size")
        if kind in _WEBP_KEEP:
            chunks.append(data[pos:stop])
        pos = stop
    if chunks and chunks[0][:4] == b"VP8X":
        flags = chunks[0][8] & ~(_VP8X_EXIF | _VP8X_XMP)
        if orientation != 1:
            flags |= _VP8X_EXIF
            chunks.append(_riff_chunk(b"EXIF", _orientation_tiff(orientation)))
        chunks[0] = chunks[0][:8] + bytes((flags,)) + chunks[0][9:]
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "little") + body + b"\x00" * (len(body) & 1)


# -- fallback: decode and encode again -----------------------------------------------------------
def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation to the pixels; the copy has no tag to apply."""
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # a damaged orientation tag: keep the pixels as stored
        upright = image
    return upright if upright is not None else image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _output_format(source: str, image: Image.Image) -> str:
    if source in ("JPEG", "MPO"):
        return "JPEG"
    if source == "PNG" or _has_alpha(image) or source not in _LOSSY:
        return "PNG"
    return "JPEG"


def _encode(image: Image.Image, fmt: str, photo: Photo) -> bytes:
    """Encode a fresh image that carries only pixels, palette/transparency and ICC profile."""
    icc = photo.image.info.get("icc_profile")
    keep = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    out = io.BytesIO()
    if fmt == "JPEG":
        clean = image if image.mode in _JPEG_MODES else image.convert("RGB")
        clean = clean.copy()
        clean.info = {}  # Pillow would copy a JPEG comment from info
        options: dict[str, object] = {"quality": JPEG_QUALITY, "optimize": True}
        sampling = _subsampling(photo)
        if sampling >= 0:
            options["subsampling"] = sampling
        if icc:
            options["icc_profile"] = icc
        clean.save(out, "JPEG", **options)
    else:
        clean = image.copy()
        clean.info = {key: value for key, value in keep.items()}  # Pillow's wider key type
        options = {"optimize": False}
        if keep:
            options.update(keep)
        if icc:
            options["icc_profile"] = icc
        if clean.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            clean = clean.convert("RGBA" if _has_alpha(clean) else "RGB")
        clean.save(out, "PNG", **options)
    return out.getvalue()


def _subsampling(photo: Photo) -> int:
    """Keep the source JPEG's chroma subsampling (no extra blur); -1 lets Pillow choose."""
    if photo.format not in ("JPEG", "MPO"):
        return -1
    try:
        return int(JpegImagePlugin.get_sampling(photo.image))
    except Exception:
        return -1


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def clean_filename(original: str, fmt: str) -> str:
    """ "IMG_0042.HEIC" -> "IMG_0042-clean.jpg": a safe name, whatever the original held."""
    stem = PurePath(original.replace("\\", "/")).stem if original else ""
    stem = _UNSAFE.sub("_", stem).strip("._-")[:60] or "photo"
    return f"{stem}-clean.{_EXTENSIONS.get(fmt, 'png')}"
