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
from pathlib import PurePath
from typing import NamedTuple

from PIL import Image

from bot.analysis.intake.decode import open_photo
from bot.analysis.intake.photo import Photo
from bot.analysis.strip.reencode import encode, output_format, upright
from bot.analysis.strip.rewrite import ORIENTATION, REWRITERS, Malformed
from bot.settings import Settings, get_settings

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


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
    image = upright(photo.image)
    fmt = output_format(photo.format, image)
    data = encode(image, fmt, photo)
    return StrippedCopy(data, clean_filename(name, fmt), f"reencoded_{fmt.lower()}")


def _lossless(photo: Photo) -> tuple[bytes, str, bool] | None:
    """(clean bytes, format, orientation kept) or None when this photo must be re-encoded."""
    strip = REWRITERS.get(photo.format)
    if strip is None:
        return None
    orientation = _orientation(photo)
    try:
        data = strip(photo.data, orientation)
    except (Malformed, IndexError, struct.error):
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


def _decodes_like(data: bytes, original: Image.Image) -> bool:
    """A last guard: the rewritten file decodes to a picture of the same size and mode."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.size == original.size and im.mode == original.mode
    except Exception:
        return False


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def clean_filename(original: str, fmt: str) -> str:
    """ "IMG_0042.HEIC" -> "IMG_0042-clean.jpg": a safe name, whatever the original held."""
    stem = PurePath(original.replace("\\", "/")).stem if original else ""
    stem = _UNSAFE.sub("_", stem).strip("._-")[:60] or "photo"
    return f"{stem}-clean.{_EXTENSIONS.get(fmt, 'png')}"
