"""The pixel classifier at run time: gradient-boosted trees + Platt calibration, NumPy only.

The model file (bot/analysis/models/pixels.npz) is written by tools/train_pixels.py: the
flattened trees, the feature names they expect, and a calibration fitted on held-out scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.analysis.vision.features import FEATURE_NAMES

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "pixels.npz"


@dataclass(frozen=True)
class PixelModel:
    feature: np.ndarray  # int32 per node; -1 marks a leaf
    threshold: np.ndarray  # float32: x[feature] <= threshold goes left
    left: np.ndarray  # int32 node index
    right: np.ndarray
    value: np.ndarray  # a leaf's margin contribution, or an inner node's expected one
    roots: np.ndarray  # int32, first node of each tree
    base: float  # initial margin
    calib: tuple[float, float]  # Platt: p = sigmoid(a * margin + b)
    depth: int

    def margin(self, x: np.ndarray) -> np.ndarray:
        """Raw boosted margin for rows of x (n, n_features)."""
        x = np.atleast_2d(np.asarray(x, np.float32))
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self.depth):
            f = self.feature[node]
            leaf = f < 0
            go_left = x[rows, np.where(leaf, 0, f)] <= self.threshold[node]
            node = np.where(leaf, node, np.where(go_left, self.left[node], self.right[node]))
        return self.base + self.value[node].sum(1)

    def proba(self, x: np.ndarray) -> np.ndarray:
        a, b = self.calib
        return 1.0 / (1.0 + np.exp(-(a * self.margin(x) + b)))

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        """How much each feature moved this photo's margin (Saabas path attribution: each
        split on the path credits its feature with the change in the expected value)."""
        x = np.asarray(x, np.float32).ravel()
        node = self.roots.copy()
        feats, deltas = [], []
        for _ in range(self.depth):  # every tree one level deeper at a time
            f = self.feature[node]
            inner = f >= 0
            fi = np.where(inner, f, 0)
            child = np.where(x[fi] <= self.threshold[node], self.left[node], self.right[node])
            child = np.where(inner, child, node)
            feats.append(fi)
            deltas.append(np.where(inner, self.value[child] - self.value[node], np.float32(0)))
            node = child
        out = np.zeros(len(FEATURE_NAMES))
        # tree by tree, root to leaf: the same additions in the same order as walking each
        # tree in turn (np.add.at adds unbuffered, in index order)
        np.add.at(out, np.stack(feats, 1).ravel(), np.stack(deltas, 1).ravel().astype(np.float64))
        return dict(zip(FEATURE_NAMES, out.tolist(), strict=True))


_ARRAYS = ("feature", "threshold", "left", "right", "value", "roots")


def save(path: Path, m: PixelModel) -> None:
    np.savez_compressed(
        path,
        names=np.array(FEATURE_NAMES),
        base=np.array(m.base),
        calib=np.array(m.calib),
        depth=np.array(m.depth),
        **{k: getattr(m, k) for k in _ARRAYS},
    )


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> PixelModel:
    with np.load(path, allow_pickle=False) as z:
        if tuple(str(n) for n in z["names"]) != FEATURE_NAMES:
            raise ValueError("the pixels model was trained on other features: retrain it")
        return PixelModel(
            feature=z["feature"].astype(np.int32),
            threshold=z["threshold"].astype(np.float32),
            left=z["left"].astype(np.int32),
            right=z["right"].astype(np.int32),
            value=z["value"].astype(np.float32),
            roots=z["roots"].astype(np.int32),
            base=float(z["base"]),
            calib=(float(z["calib"][0]), float(z["calib"][1])),
            depth=int(z["depth"]),
        )
