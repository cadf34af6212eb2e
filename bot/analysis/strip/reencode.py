"""The fallback: decode and encode again, carrying only the pixels, palette or transparency and
the ICC profile; orientation is applied to the pixels. JPEG at high quality for lossy sources,
PNG for transparent or lossless ones."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, JpegImagePlugin

from bot.analysis.intake.photo import Photo

JPEG_QUALITY = 95
_LOSSY = {"JPEG", "MPO", "HEIF", "AVIF", "WEBP"}
_JPEG_MODES = {"RGB", "L", "CMYK"}


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation to the pixels; the copy has no tag to apply."""
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # a damaged orientation tag: keep the pixels as stored
        upright = image
    return upright if upright is not None else image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def output_format(source: str, image: Image.Image) -> str:
    if source in ("JPEG", "MPO"):
        return "JPEG"
    if source == "PNG" or _has_alpha(image) or source not in _LOSSY:
        return "PNG"
    return "JPEG"


def encode(image: Image.Image, fmt: str, photo: Photo) -> bytes:
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
