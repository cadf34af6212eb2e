"""Scan each photo once: the `faces` and `pixels` checks (and the annotation) share it."""

from __future__ import annotations

import contextlib
import weakref
from functools import lru_cache
from typing import Any

from PIL import Image

from bot.analysis.intake.photo import Photo
from bot.analysis.vision.scan import WORK_SIDE, Scan, scan_image
from bot.settings import load_toml

_last: tuple[weakref.ref[Photo], Scan] | None = None


def scan_photo(photo: Photo) -> Scan:
    global _last
    if _last is not None and _last[0]() is photo:
        return _last[1]
    # downscale first (12 MP costs as much as 512 px), then stand the photo upright as phones
    # record it: the face detector only finds upright faces
    scan = scan_image(upright(photo.downscaled(WORK_SIDE), photo.exif.get("Orientation")))
    _last = (weakref.ref(photo), scan)
    return scan


_TRANSPOSE: dict[int, tuple[Image.Transpose, ...]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def upright(im: Image.Image, orientation: object) -> Image.Image:
    """Apply an EXIF Orientation value (1–8) to an image that no longer carries its EXIF."""
    steps: tuple[Image.Transpose, ...] = ()
    if isinstance(orientation, int | float | str):  # EXIF readers give ints, some give text
        with contextlib.suppress(ValueError):
            steps = _TRANSPOSE.get(int(orientation), ())
    for step in steps:
        im = im.transpose(step)
    return im


@lru_cache(maxsize=1)
def pixels_config() -> dict[str, Any]:
    """config/pixels.toml: thresholds and wording (read once per process)."""
    return load_toml("pixels.toml")
