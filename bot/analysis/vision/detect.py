"""Face detection and five-point landmarks with dlib's HOG detector.

The weights ship in pip packages (dlib-bin, face-recognition-models); nothing is downloaded.
face_recognition_models cannot be imported under current setuptools (it imports
pkg_resources), so its model file is located on disk without importing it. If dlib or the
file is missing, `detect` says so (`ran=False`) and callers fall back to the whole image.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
# HOG finds faces from about 80 px wide: tiny avatars are upsampled once inside dlib.
_UPSAMPLE_BELOW = 200


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # left, top, right, bottom in image pixels
    score: float
    eyes: tuple[tuple[float, float], tuple[float, float]]  # (image-left eye, image-right eye)
    points: tuple[tuple[float, float], ...]  # the five landmarks

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


@dataclass(frozen=True)
class FaceScan:
    ran: bool  # False: no detector available, nothing was looked for
    faces: tuple[Face, ...] = field(default_factory=tuple)
    note: str = ""


def _model_dir() -> Path | None:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@lru_cache(maxsize=1)
def _load() -> tuple[Any, Any] | None:
    try:
        import dlib
    except ImportError:
        log.warning("dlib is not installed: face detection is off")
        return None
    folder = _model_dir()
    if folder is None or not (folder / _LANDMARKS_FILE).is_file():
        log.warning("face_recognition_models is not installed: face detection is off")
        return None
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(folder / _LANDMARKS_FILE))


def available() -> bool:
    return _load() is not None


def detect(rgb: np.ndarray, min_score: float = 0.0) -> FaceScan:
    """Faces in an RGB uint8 array (already downscaled by the caller), largest first."""
    models = _load()
    if models is None:
        return FaceScan(ran=False, note="no face detector is installed")
    detector, predictor = models
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    upsample = 1 if max(rgb.shape[:2]) < _UPSAMPLE_BELOW else 0
    rects, scores, _ = detector.run(rgb, upsample, min_score)
    faces = [_face(rgb, predictor, r, s) for r, s in zip(rects, scores, strict=True)]
    faces.sort(key=lambda f: -f.width)
    return FaceScan(ran=True, faces=tuple(faces))


def _face(rgb: np.ndarray, predictor: Any, rect: Any, score: float) -> Face:
    shape = predictor(rgb, rect)
    pts = tuple((float(p.x), float(p.y)) for p in shape.parts())
    # 5-point model: 0-1 one eye's corners, 2-3 the other's, 4 under the nose.
    a = ((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2)
    b = ((pts[2][0] + pts[3][0]) / 2, (pts[2][1] + pts[3][1]) / 2)
    eyes = (a, b) if a[0] <= b[0] else (b, a)
    box = (float(rect.left()), float(rect.top()), float(rect.right()), float(rect.bottom()))
    return Face(box=box, score=float(score), eyes=eyes, points=pts)
