"""A metadata-free copy of a photo, for people who want to share it without what it gives away.

The pixels are decoded and re-encoded into a new file, so nothing from the original container
survives: no EXIF (GPS, serials, thumbnail), XMP, IPTC, text chunks, comments or C2PA manifest.
The EXIF orientation is applied to the pixels (the copy looks the same, with no tag needed) and
the ICC colour profile is kept (colours stay right; it identifies no one). JPEG stays JPEG at high
quality, PNG stays PNG (lossless); other formats become PNG when they have transparency or are
lossless, JPEG otherwise. Animations keep their first frame.
"""

from __future__ import annotations

import io
import re
from pathlib import PurePath

from PIL import Image, ImageOps, JpegImagePlugin

from bot.analysis.intake import Photo, open_photo
from bot.settings import Settings, get_settings

JPEG_QUALITY = 95
_LOSSY = {"JPEG", "MPO", "HEIF", "AVIF", "WEBP"}
_JPEG_MODES = {"RGB", "L", "CMYK"}


def strip_metadata(
    photo_or_bytes: Photo | bytes,
    filename: str | None = None,
    settings: Settings | None = None,
) -> tuple[bytes, str]:
    """Return (clean file bytes, suggested filename). Bytes go through safe intake first and
    raise IntakeError when they are not a photo we can read."""
    if isinstance(photo_or_bytes, Photo):
        photo = photo_or_bytes
    else:
        limits = (settings or get_settings()).limits
        photo = open_photo(photo_or_bytes, filename or "photo", limits)
    image = _upright(photo.image)
    fmt = _output_format(photo.format, image)
    data = _encode(image, fmt, photo)
    return data, clean_filename(filename or photo.filename, fmt)


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
        clean.info = dict(keep)
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
    return f"{stem}-clean.{'jpg' if fmt == 'JPEG' else 'png'}"
