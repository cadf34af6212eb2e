"""One pass over a photo's pixels: downscale, find faces, extract features, embed.

Training, evaluation and the checks all call `scan_image` (and `embedding`), so the model
sees the same numbers at run time as it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from bot.analysis.vision import detect, encoder, features
from bot.analysis.vision.detect import Face, FaceScan

WORK_SIDE = 512  # features are computed at most this large (training data is ≤ 512 too)
DETECT_SIDE = 384  # faces are looked for at most this large (HOG cost grows with area)


@dataclass
class Scan:
    image: Image.Image  # the working copy (≤ WORK_SIDE), RGB
    faces: FaceScan
    features: features.Extracted
    _embeddings: dict[encoder.Needs, encoder.Embedding] = field(default_factory=dict, repr=False)
    _halfways: encoder.Halfways = field(default_factory=dict, repr=False)

    @property
    def face(self) -> Face | None:
        return self.faces.faces[0] if self.faces.faces else None

    def embedding(self, needs: encoder.Needs) -> encoder.Embedding:
        """What the encoder sees in the face crop (and the frame, as `needs` says), computed
        once per need (the costly part); a later need goes on from where an earlier one's
        passes stopped (a cascade's first stage)."""
        if needs not in self._embeddings:
            self._embeddings[needs] = encoder.embed(self.image, self.face, needs, self._halfways)
        return self._embeddings[needs]


def working_copy(im: Image.Image, side: int = WORK_SIDE) -> Image.Image:
    im = im.convert("RGB") if im.mode != "RGB" else im
    scale = side / max(im.size)
    if scale >= 1:
        return im
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def find_faces(work: Image.Image) -> FaceScan:
    small = working_copy(work, DETECT_SIDE)
    found = detect.detect(np.asarray(small))
    k = work.width / small.width
    if k == 1 or not found.faces:
        return found
    return replace(found, faces=tuple(_scaled(f, k) for f in found.faces))


def _scaled(f: Face, k: float) -> Face:
    def pt(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] * k, p[1] * k)

    return Face(
        box=(f.box[0] * k, f.box[1] * k, f.box[2] * k, f.box[3] * k),
        score=f.score,
        eyes=(pt(f.eyes[0]), pt(f.eyes[1])),
        points=tuple(pt(p) for p in f.points),
    )


def scan_image(im: Image.Image) -> Scan:
    work = working_copy(im)
    faces = find_faces(work)
    return Scan(work, faces, features.extract(np.asarray(work), faces))
