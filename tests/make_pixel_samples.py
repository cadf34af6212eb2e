"""Rebuild tests/data/pixels/: drawn faces that dlib's detector finds (no real or generated
photo of anyone), saved the ways avatars and uploads arrive.

    .venv/bin/python -m tests.make_pixel_samples
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

FOLDER = Path(__file__).resolve().parent / "data" / "pixels"
SKIN = (224, 172, 140)


def drawn_face(size: int = 512, seed: int = 0, bg: tuple[int, int, int] = (120, 140, 170)):
    """A shaded cartoon head and shoulders, laid out like a headshot (face ~40 % of the frame),
    with brows, eyes, nose shadow and mouth where HOG face detectors look for them."""
    k = size / 512

    def at(*v: float) -> list[float]:
        return [x * k for x in v]

    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    dark = tuple(int(c * 0.55) for c in SKIN)
    d.ellipse(at(150, 60, 362, 330), fill=(60, 40, 30))  # hair
    d.rectangle(at(200, 360, 312, 450), fill=tuple(int(c * 0.85) for c in SKIN))  # neck
    d.ellipse(at(90, 380, 422, 700), fill=(50, 60, 90))  # shoulders
    d.ellipse(at(165, 110, 347, 390), fill=SKIN)  # face
    d.ellipse(at(150, 200, 175, 270), fill=SKIN)  # ears
    d.ellipse(at(337, 200, 362, 270), fill=SKIN)
    for cx, brow in ((215, (187, 195, 237, 190)), (297, (275, 190, 325, 195))):
        d.line(at(*brow), fill=(50, 35, 25), width=max(1, int(9 * k)))
        d.ellipse(at(cx - 22, 212, cx + 22, 234), fill=(245, 245, 245))
        d.ellipse(at(cx - 10, 212, cx + 10, 234), fill=(70, 50, 40))
        d.ellipse(at(cx - 4, 219, cx + 4, 227), fill=(10, 10, 10))
        d.arc(at(cx - 24, 208, cx + 24, 238), 180, 360, fill=(60, 40, 30), width=max(1, int(3 * k)))
    d.polygon(at(256, 230, 242, 295, 270, 295), fill=dark)  # nose shadow
    d.line(at(240, 300, 272, 300), fill=dark, width=max(1, int(4 * k)))
    d.chord(at(222, 318, 290, 352), 0, 180, fill=(170, 80, 80))  # mouth
    im = im.filter(ImageFilter.GaussianBlur(3 * k))
    grain = np.random.default_rng(seed).normal(0, 4, (size, size, 3))
    return Image.fromarray((np.asarray(im, np.float32) + grain).clip(0, 255).astype(np.uint8))


def small_face_photo() -> Image.Image:
    """A landscape frame with the head off to one side: the face crop and the frame differ."""
    im = Image.new("RGB", (640, 480), (180, 190, 160))
    im.paste(drawn_face(300, seed=2, bg=(180, 190, 160)), (300, 120))
    return im


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    drawn_face(256, seed=1).save(FOLDER / "drawn-avatar.webp", quality=80)
    drawn_face(512, seed=3).save(FOLDER / "drawn-headshot.jpg", quality=90)
    small_face_photo().save(FOLDER / "drawn-wide.jpg", quality=85)


if __name__ == "__main__":
    main()
