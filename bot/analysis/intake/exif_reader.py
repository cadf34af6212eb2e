"""EXIF flattened into {TagName: value}, whatever the file's EXIF holds."""

from __future__ import annotations

import warnings
from typing import Any

from PIL import ExifTags, Image

_IFD_NAMES = {
    ExifTags.IFD.Exif: "",
    ExifTags.IFD.GPSInfo: "GPS",
    ExifTags.IFD.Interop: "Interop",
}


def read_exif(im: Image.Image) -> tuple[dict[str, Any], bytes | None]:
    """Flatten EXIF into {TagName: value}; GPS tags are prefixed 'GPS'. Never raises."""
    with warnings.catch_warnings():  # hostile EXIF makes Pillow warn per bad tag: no log floods
        warnings.simplefilter("ignore")
        return _read_exif(im)


def _read_exif(im: Image.Image) -> tuple[dict[str, Any], bytes | None]:
    try:
        exif = im.getexif()
    except Exception:
        return {}, None
    out: dict[str, Any] = {}
    try:
        for tag, value in list(exif.items())[:512]:
            out[ExifTags.TAGS.get(tag, f"Tag{tag:#06x}")] = value
        for ifd, prefix in _IFD_NAMES.items():
            try:
                sub = exif.get_ifd(ifd)
            except Exception:
                continue
            names = ExifTags.GPSTAGS if prefix == "GPS" else ExifTags.TAGS
            for tag, value in list(sub.items())[:512]:
                name = names.get(tag, f"Tag{tag:#06x}")
                out[name if not prefix or name.startswith(prefix) else prefix + name] = value
    except Exception:
        pass
    raw = im.info.get("exif")
    return out, raw if isinstance(raw, bytes) else None
