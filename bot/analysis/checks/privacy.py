"""Privacy: what the original file gives away about the person who shared it.

GPS position, serial numbers, contact details, names and place names, and an embedded EXIF
thumbnail that shows a different picture (a crop's original, say). These are PRIVACY findings:
they never move the verdict, and each says that a cleaned copy is available.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import imagehash
from PIL import ExifTags, Image, ImageOps, ImageStat

from bot.analysis.checks import CheckContext
from bot.analysis.formats.metadata_rules import exif_text
from bot.analysis.formats.xmp_parser import XmpData, photo_packets, photo_xmp
from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import Evidence, Finding, Signal, Strength, excerpt
from bot.settings import load_toml

NAME = "privacy"
ORDER = 80


@lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    return load_toml("privacy.toml")


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    xmp = photo_xmp(photo, ctx.settings.limits.max_xmp_bytes) if photo_packets(photo) else XmpData()
    findings = [
        *_gps(photo.exif, xmp),
        *_fields("serials", photo.exif, xmp, mask=True),
        *_fields("contact", {}, xmp, mask=True),
        *_fields("names", photo.exif, xmp),
        *_fields("places", {}, xmp),
        *_thumbnail(photo),
    ]
    return findings


def _finding(key: str, evidence: list[Evidence], data: dict[str, Any], **fmt: object) -> Finding:
    table = _config()[key]
    return Finding(
        check=NAME,
        signal=Signal.PRIVACY,
        strength=Strength(table["strength"]),
        title=table["title"].format(**fmt),
        evidence=tuple(evidence),
        detail=table["detail"].format(**fmt),
        data={"kind": key, **data},
    )


# ---- GPS ---------------------------------------------------------------------------------


def _dms(value: object) -> float | None:
    """Degrees from EXIF's (deg, min, sec) rationals."""
    if not isinstance(value, Iterable):
        return None
    try:
        parts = [float(v) for v in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not parts or len(parts) > 3:
        return None
    parts += [0.0] * (3 - len(parts))
    return parts[0] + parts[1] / 60 + parts[2] / 3600


_XMP_COORD = re.compile(
    r"^\s*(\d{1,3})(?:,(\d{1,2}(?:\.\d+)?))?(?:,(\d{1,2}(?:\.\d+)?))?\s*([NSEW])\s*$"
)


def _xmp_coord(value: str | None) -> float | None:
    """XMP writes "51,30.123N" or "51,30,7.4N" (degrees, minutes[, seconds], direction)."""
    match = _XMP_COORD.match(value or "")
    if not match:
        return None
    deg, minutes, seconds, ref = match.groups()
    number = float(deg) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
    return -number if ref in "SW" else number


def _signed(number: float | None, ref: object) -> float | None:
    if number is None:
        return None
    ref_text = exif_text(ref) or ""
    return -number if ref_text.upper().startswith(("S", "W")) else number


def _position(exif: dict[str, Any], xmp: XmpData) -> tuple[float, float, str] | None:
    lat = _signed(_dms(exif.get("GPSLatitude")), exif.get("GPSLatitudeRef"))
    lon = _signed(_dms(exif.get("GPSLongitude")), exif.get("GPSLongitudeRef"))
    source = "EXIF GPS"
    if lat is None or lon is None:
        lat, lon = (
            _xmp_coord(xmp.first("exif:GPSLatitude")),
            _xmp_coord(xmp.first("exif:GPSLongitude")),
        )
        source = "XMP GPS"
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:
        return None  # devices without a fix write zeros
    return lat, lon, source


def _gps(exif: dict[str, Any], xmp: XmpData) -> list[Finding]:
    position = _position(exif, xmp)
    if position is None:
        return []
    lat, lon, source = position
    coarse = f"{lat:.2f}, {lon:.2f}"
    return [
        _finding(
            "gps",
            [Evidence(source, f"about {coarse} (shown rounded)")],
            {"lat": round(lat, 2), "lon": round(lon, 2)},
            lat=f"{lat:.2f}",
            lon=f"{lon:.2f}",
        )
    ]


# ---- serials, contact details, names, places -------------------------------------------------


def _mask(value: str) -> str:
    """Enough to recognise it, not enough to copy it into a chat log."""
    return "…" + value[-4:] if len(value) > 6 else "•" * len(value)


def _fields(key: str, exif: dict[str, Any], xmp: XmpData, *, mask: bool = False) -> list[Finding]:
    table = _config()[key]
    ignore = {s.lower() for s in table.get("ignore", [])}
    evidence: dict[str, Evidence] = {}
    found = [(f, exif_text(exif.get(f))) for f in table.get("exif", [])]
    found += [(f, v) for f in table.get("xmp", []) for v in xmp.get(f)]
    for field, value in found:
        text = excerpt(value or "", 80)
        if not text or text.lower() in ignore or not any(c.isalnum() for c in text):
            continue
        evidence.setdefault(field, Evidence(field, _mask(text) if mask else text))
    if not evidence:
        return []
    return [_finding(key, list(evidence.values()), {"fields": sorted(evidence)})]


# ---- embedded thumbnail ------------------------------------------------------------------------


def exif_thumbnail(raw: bytes | None, max_side: int) -> Image.Image | None:
    """The JPEG thumbnail in EXIF IFD1, decoded if small; None when absent or unreadable."""
    if not raw:
        return None
    try:
        exif = Image.Exif()
        exif.load(raw)
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
        offset, length = int(ifd1.get(0x0201, 0)), int(ifd1.get(0x0202, 0))
        tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
        data = tiff[offset : offset + length]
        if not (offset and length and data.startswith(b"\xff\xd8")):
            return None
        thumb = Image.open(io.BytesIO(data))
        if max(thumb.size) > max_side or thumb.format != "JPEG":
            return None
        thumb.load()
        return thumb.convert("RGB")
    except Exception:  # a damaged thumbnail is simply not compared
        return None


def _hashes(image: Image.Image, size: tuple[int, int]) -> list[imagehash.ImageHash]:
    """Hashes of `image` fitted to `size` both ways cameras make thumbnails: stretched, and
    letterboxed with black bars."""
    stretched = image.resize(size, Image.Resampling.BILINEAR)
    boxed = ImageOps.pad(image, size, Image.Resampling.BILINEAR, color=(0, 0, 0))
    return [imagehash.phash(stretched), imagehash.phash(boxed)]


def _thumbnail(photo: Photo) -> list[Finding]:
    table = _config()["thumbnail"]
    thumb = exif_thumbnail(photo.exif_raw, int(table["max_side"]))
    if thumb is None:
        return []
    if _contrast(thumb) < float(table["min_contrast"]):
        return []  # a blank placeholder preview hides nothing, and hashes to noise
    # the pixel checks' 512-px working copy (cached on the photo): a second downscale of a
    # 12 MP photo just for this comparison cost ~30 ms; the hashes are of thumbnail size anyway
    main = photo.downscaled(512)
    target = imagehash.phash(thumb)
    distance = min(target - h for h in _hashes(main, thumb.size))
    if distance <= int(table["max_distance"]):
        return []
    size = f"{thumb.width}×{thumb.height}"
    return [
        _finding(
            "thumbnail",
            [
                Evidence(
                    "EXIF thumbnail", f"{size}, differs from the photo ({distance} of 64 hash bits)"
                )
            ],
            {"distance": int(distance), "thumbnail_size": [thumb.width, thumb.height]},
        )
    ]


def _contrast(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).stddev[0])
