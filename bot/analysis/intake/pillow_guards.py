"""Pillow's own guards against hostile files (decompression bombs, text-chunk floods),
set strictly for each decode, and the optional HEIF/AVIF opener."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageFile, PngImagePlugin

from bot.settings import Limits

try:  # HEIC/HEIF from phones; optional at import so a broken wheel degrades to "unsupported"
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_OPENER = True
except Exception:  # pragma: no cover - depends on the platform's wheel
    HEIF_OPENER = False

_PILLOW_LOCK = threading.RLock()


@contextmanager
def pillow_limits(limits: Limits) -> Iterator[None]:
    """Pillow's guards are module globals: set them for this decode and restore them after.

    The lock keeps two threads of one process from mixing their limits; the bot decodes in
    worker processes, one file at a time, so it never waits in practice.
    """
    with _PILLOW_LOCK:
        saved = (
            Image.MAX_IMAGE_PIXELS,
            PngImagePlugin.MAX_TEXT_CHUNK,
            PngImagePlugin.MAX_TEXT_MEMORY,
            ImageFile.LOAD_TRUNCATED_IMAGES,
        )
        Image.MAX_IMAGE_PIXELS = limits.max_pixels
        PngImagePlugin.MAX_TEXT_CHUNK = limits.max_text_chunk_bytes
        PngImagePlugin.MAX_TEXT_MEMORY = limits.max_text_total_bytes
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            with warnings.catch_warnings():
                # hostile files make Pillow warn once per bad tag or chunk: no log floods...
                warnings.simplefilter("ignore")
                # ...but a bomb warning stops the decode
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                yield
        finally:
            (
                Image.MAX_IMAGE_PIXELS,
                PngImagePlugin.MAX_TEXT_CHUNK,
                PngImagePlugin.MAX_TEXT_MEMORY,
                ImageFile.LOAD_TRUNCATED_IMAGES,
            ) = saved
