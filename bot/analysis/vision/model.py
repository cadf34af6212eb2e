"""The pixel head at run time: a logistic regression over frozen CLIP embeddings and a few
hand-made cues, with Platt calibration, NumPy only.

Inputs, in order: the face crop's embedding (512), the frame's embedding (512), then the cues
named in the model file (eye geometry, spectrum, noise; see features.py). The model file
(bot/analysis/models/pixels.npz) is written by tools/train_pixels.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.analysis.vision.encoder import Embedding
from bot.analysis.vision.features import FEATURE_NAMES

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "pixels.npz"
EMBED_DIM = 512


def input_names(cues: tuple[str, ...]) -> tuple[str, ...]:
    return (
        *(f"face_{i}" for i in range(EMBED_DIM)),
        *(f"frame_{i}" for i in range(EMBED_DIM)),
        *cues,
    )


def family(name: str) -> str:
    """The group an input belongs to, for the "what drove it" sentence: face, frame, align…"""
    return name.split("_", 1)[0]


def head_input(face: np.ndarray, frame: np.ndarray, feats: np.ndarray, cues: tuple[str, ...]):
    """Rows of head inputs from embeddings (n, 512) ×2 and hand-made features (n, 51). The
    training script calls this on cached arrays and the check on one photo: the same code."""
    idx = [FEATURE_NAMES.index(c) for c in cues]
    return np.hstack(
        [np.atleast_2d(face), np.atleast_2d(frame), np.atleast_2d(feats)[:, idx]]
    ).astype(np.float64)


@dataclass(frozen=True)
class PixelHead:
    cues: tuple[str, ...]  # hand-made features used, by name
    mean: np.ndarray  # per input, for standardising
    scale: np.ndarray
    coef: np.ndarray  # logistic weights on standardised inputs
    bias: float
    calib: tuple[float, float]  # Platt: p = sigmoid(a * margin + b)

    def inputs(self, emb: Embedding, feats: np.ndarray) -> np.ndarray:
        return head_input(emb.face, emb.frame, feats, self.cues)

    def margin(self, x: np.ndarray) -> np.ndarray:
        return self.bias + ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef

    def proba(self, x: np.ndarray) -> np.ndarray:
        a, b = self.calib
        return 1.0 / (1.0 + np.exp(-(a * self.margin(x) + b)))

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        """How much each input family moved this photo's margin (weight × standardised value)."""
        parts = (np.ravel(x) - self.mean) / self.scale * self.coef
        out: dict[str, float] = {}
        for name, v in zip(input_names(self.cues), parts.tolist(), strict=True):
            out[family(name)] = out.get(family(name), 0.0) + v
        return out


def save(path: Path, m: PixelHead) -> None:
    np.savez_compressed(
        path,
        cues=np.array(m.cues),
        mean=m.mean.astype(np.float32),
        scale=m.scale.astype(np.float32),
        coef=m.coef.astype(np.float32),
        bias=np.array(m.bias),
        calib=np.array(m.calib),
    )


def stored(m: PixelHead) -> PixelHead:
    """The head as it reads back from its file (float32 arrays), so training scores with
    exactly the numbers the check will use."""
    return PixelHead(
        cues=m.cues,
        mean=m.mean.astype(np.float32).astype(np.float64),
        scale=m.scale.astype(np.float32).astype(np.float64),
        coef=m.coef.astype(np.float32).astype(np.float64),
        bias=float(m.bias),
        calib=m.calib,
    )


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> PixelHead:
    with np.load(path, allow_pickle=False) as z:
        cues = tuple(str(n) for n in z["cues"])
        if not set(cues) <= set(FEATURE_NAMES):
            raise ValueError("the pixels model was trained on other features: retrain it")
        head = PixelHead(
            cues=cues,
            mean=z["mean"].astype(np.float64),
            scale=z["scale"].astype(np.float64),
            coef=z["coef"].astype(np.float64),
            bias=float(z["bias"]),
            calib=(float(z["calib"][0]), float(z["calib"][1])),
        )
    if head.coef.shape != (len(input_names(cues)),):
        raise ValueError("the pixels model does not match its inputs: retrain it")
    return head
