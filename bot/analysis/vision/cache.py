"""Scan each photo once: the `faces` and `pixels` checks (and the annotation) share it."""

from __future__ import annotations

import weakref
from functools import lru_cache
from typing import Any

from bot.analysis.intake import Photo
from bot.analysis.vision.scan import WORK_SIDE, Scan, scan_image
from bot.settings import load_toml

_last: tuple[weakref.ref[Photo], Scan] | None = None


def scan_photo(photo: Photo) -> Scan:
    global _last
    if _last is not None and _last[0]() is photo:
        return _last[1]
    scan = scan_image(photo.downscaled(WORK_SIDE))  # downscale first: 12 MP costs as 512 px
    _last = (weakref.ref(photo), scan)
    return scan


@lru_cache(maxsize=1)
def pixels_config() -> dict[str, Any]:
    """config/pixels.toml: thresholds and wording (read once per process)."""
    return load_toml("pixels.toml")
