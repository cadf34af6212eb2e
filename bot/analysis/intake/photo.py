"""The Photo every check reads: the decoded first frame and the raw metadata containers,
parsed once by intake."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from PIL import Image


@dataclass
class Photo:
    """A decoded photo and its raw metadata containers, parsed once for every check."""

    data: bytes
    filename: str
    format: str
    image: Image.Image  # the first frame, fully loaded
    frames: int = 1
    info: dict[str | tuple[int, int], Any] = field(default_factory=dict)  # Pillow's im.info
    text_chunks: dict[str, str] = field(default_factory=dict)
    xmp: list[str] = field(default_factory=list)
    exif: dict[str, Any] = field(default_factory=dict)
    exif_raw: bytes | None = None
    damaged_chunks: list[str] = field(default_factory=list)  # ignored for a bad checksum
    _scaled: dict[int, Image.Image] = field(default_factory=dict, repr=False)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @property
    def animated(self) -> bool:
        return self.frames > 1

    @cached_property
    def rgb(self) -> Image.Image:
        """The first frame as RGB (alpha flattened onto white). Shared and cached: never modify
        it in place (copy first). An RGB photo, the common case, is returned as is: a 12 MP
        copy costs ~48 MB and ~15 ms for nothing."""
        im = self.image
        if im.mode == "RGB":
            return im
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            canvas = Image.new("RGB", rgba.size, (255, 255, 255))
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            return canvas
        return im.convert("RGB")

    def downscaled(self, max_side: int) -> Image.Image:
        """RGB image whose longest side is at most max_side (never upscaled; cached: do not
        modify it in place)."""
        if max_side not in self._scaled:
            im = self.rgb
            scale = max_side / max(im.size)
            if scale < 1:
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            self._scaled[max_side] = im
        return self._scaled[max_side]
