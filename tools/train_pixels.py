"""Train the pixel classifier shipped as bot/analysis/models/pixels.npz.

    nice -n 10 python tools/train_pixels.py [--data ../shared/data/faces] [--no-write]

Reproducible: a fixed seed drives the augmentation (random crop, resize to 128–512 px,
JPEG/WebP/PNG re-encoding), the folds and the trees; a rerun writes a byte-identical model.
Features are cached under /tmp, keyed by the feature code, so a rerun only trains (~20 s).

- Calibration (Platt) is fitted on held-out images (5-fold, all copies of an image together).
- Validation is by source: every source is held out in turn (leave-one-source-out) and
  scored by a model that never saw it; the per-source table is printed and saved.
- Thresholds are the stricter of the held-out and the out-of-source real-face percentiles
  (FPR 1 % for moderate, 5 % for weak), written into config/pixels.toml.
- A few sources are never trained on at all (TEST_SOURCES): the tests evaluate on them.
Writes bot/analysis/models/pixels.npz and pixels.json (the numbers in docs/pixels.md).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.analysis.metrics import roc_auc, threshold_at_fpr, tpr_at_fpr  # noqa: E402
from bot.analysis.vision import degrade, model  # noqa: E402
from bot.analysis.vision.features import FEATURE_NAMES  # noqa: E402
from bot.analysis.vision.scan import scan_image  # noqa: E402

SEED = 20261129
VARIANTS = 3  # the file as given + two platform-style copies
TEST_SOURCES = ("stylegan2_ada_ffhq_seeds", "kolors", "insightface_testdata")
CACHE = Path("/tmp/headshot-pixels-cache")
CODE_FILES = ("features.py", "scan.py", "detect.py", "degrade.py")


def read_manifest(data: Path) -> list[dict[str, str]]:
    with (data / "manifest.tsv").open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def code_key() -> str:
    h = hashlib.sha256()
    for name in CODE_FILES:
        h.update((ROOT / "bot/analysis/vision" / name).read_bytes())
    return h.hexdigest()[:16]


def extract_all(data: Path, rows: list[dict[str, str]]) -> np.ndarray:
    """Features for every (row, variant), cached per code version."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"features-{code_key()}-v{VARIANTS}-{len(rows)}.npy"
    if path.exists():
        return np.load(path)
    out = np.zeros((len(rows), VARIANTS, len(FEATURE_NAMES)), np.float32)
    t0 = time.time()
    for i, row in enumerate(rows):
        rng = random.Random(f"{SEED}:{row['path']}")
        im = Image.open(data / row["path"]).convert("RGB")
        for v in range(VARIANTS):
            img = im if v == 0 else degrade.random_platform(im, rng)
            out[i, v] = scan_image(img).features.values
        if i % 100 == 0:
            print(f"  features {i}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
    np.save(path, out)
    return out


# ---------------------------------------------------------------- gradient-boosted trees


class Booster:
    """Histogram gradient boosting for log-loss, small and exact enough for ~5k rows."""

    def __init__(
        self,
        trees: int = 200,
        depth: int = 3,
        lr: float = 0.08,
        bins: int = 32,
        min_hess: float = 3.0,
        l2: float = 2.0,
        subsample: float = 0.8,
        colsample: float = 0.7,
        seed: int = SEED,
    ) -> None:
        self.trees, self.depth, self.lr, self.bins = trees, depth, lr, bins
        self.min_hess, self.l2, self.subsample, self.colsample = min_hess, l2, subsample, colsample
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> Booster:
        rng = np.random.default_rng(self.seed)
        n, d = x.shape
        w = np.ones(n) if w is None else w
        self.edges = [
            np.unique(np.quantile(x[:, j], np.linspace(0, 1, self.bins + 1)[1:-1]))
            for j in range(d)
        ]
        binned = np.stack(
            [np.searchsorted(e, x[:, j], side="left") for j, e in enumerate(self.edges)], 1
        ).astype(np.int32)
        prior = np.clip(np.average(y, weights=w), 1e-3, 1 - 1e-3)
        self.base = float(np.log(prior / (1 - prior)))
        margin = np.full(n, self.base)
        self.nodes: list[list[float]] = []  # feature, threshold, left, right, value
        self.roots: list[int] = []
        self.gain = np.zeros(d)
        for _ in range(self.trees):
            p = 1 / (1 + np.exp(-margin))
            g, h = (p - y) * w, p * (1 - p) * w
            rows = np.flatnonzero(rng.random(n) < self.subsample)
            cols = np.flatnonzero(rng.random(d) < self.colsample)
            if not len(cols):  # few features: never grow a tree from no columns
                cols = rng.integers(0, d, 1)
            self.roots.append(len(self.nodes))
            self._update = np.zeros(n)
            self._grow(binned, g, h, rows, np.arange(n), cols, 0)
            margin += self._update
        return self

    def _grow(
        self,
        binned: np.ndarray,
        g: np.ndarray,
        h: np.ndarray,
        rows: np.ndarray,
        every: np.ndarray,
        cols: np.ndarray,
        level: int,
    ) -> int:
        """Grow a node from the subsampled `rows`; `every` row reaching it gets its value."""
        gs, hs = g[rows].sum(), h[rows].sum()
        me = len(self.nodes)
        value = float(-gs / (hs + self.l2) * self.lr)
        self.nodes.append([-1, 0.0, -1, -1, value])
        self._update[every] = value
        if level >= self.depth or hs < 2 * self.min_hess:
            return me
        nb = self.bins
        flat = (binned[np.ix_(rows, cols)] + np.arange(len(cols)) * nb).ravel()
        gh = np.bincount(flat, np.repeat(g[rows], len(cols)), len(cols) * nb).reshape(-1, nb)
        hh = np.bincount(flat, np.repeat(h[rows], len(cols)), len(cols) * nb).reshape(-1, nb)
        gl, hl = gh.cumsum(1)[:, :-1], hh.cumsum(1)[:, :-1]
        gain = (
            gl**2 / (hl + self.l2) + (gs - gl) ** 2 / (hs - hl + self.l2) - gs**2 / (hs + self.l2)
        )
        gain[(hl < self.min_hess) | (hs - hl < self.min_hess)] = -np.inf
        c, b = np.unravel_index(np.argmax(gain), gain.shape)
        if not np.isfinite(gain[c, b]) or gain[c, b] <= 1e-6:
            return me
        j = int(cols[c])
        if b >= len(self.edges[j]):
            return me
        self.gain[j] += gain[c, b]
        left, left_all = binned[rows, j] <= b, binned[every, j] <= b
        # bin b holds the values <= edges[j][b], so that edge is the raw-value threshold
        self.nodes[me][0], self.nodes[me][1] = j, float(self.edges[j][b])
        self.nodes[me][2] = self._grow(binned, g, h, rows[left], every[left_all], cols, level + 1)
        self.nodes[me][3] = self._grow(binned, g, h, rows[~left], every[~left_all], cols, level + 1)
        return me

    def runtime(self, calib: tuple[float, float] = (1.0, 0.0)) -> model.PixelModel:
        a = np.array(self.nodes, dtype=np.float64)
        return model.PixelModel(
            feature=a[:, 0].astype(np.int32),
            threshold=a[:, 1].astype(np.float32),
            left=a[:, 2].astype(np.int32),
            right=a[:, 3].astype(np.int32),
            value=a[:, 4].astype(np.float32),
            roots=np.array(self.roots, np.int32),
            base=self.base,
            calib=calib,
            depth=self.depth,
        )


# ---------------------------------------------------------------- validation and export


def logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Weighted L2 logistic regression by Newton steps; returns [bias, coefs...]."""
    xb = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(xb.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-xb @ beta))
        grad = xb.T @ ((p - y) * w) + l2 * np.r_[0, beta[1:]]
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + l2 * np.diag(
            np.r_[0, np.ones(len(beta) - 1)]
        )
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-6:
            break
    return beta


def platt(margin: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """p = sigmoid(a * margin + b) fitted on held-out margins. A slope at or below zero would
    mean the score says nothing (or the opposite) on held-out data: refuse to ship."""
    b0, b1 = logistic(margin[:, None], y, w, l2=1e-3)
    if b1 <= 0:
        raise SystemExit(
            f"calibration slope {b1:.3f} <= 0: the model does not generalise "
            "across sources; not writing it"
        )
    return float(b1), float(b0)


def weights(sources: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Every source weighs the same (564 faces from one site must not drown the rest), and
    the two classes weigh the same in total."""
    w = np.ones(len(y))
    for s in np.unique(sources):
        m = sources == s
        w[m] = 1 / m.sum()
    for c in (0, 1):
        w[y == c] *= len(y) / 2 / w[y == c].sum()
    return w


def out_of_source(x, y, src, w, fit) -> np.ndarray:
    """Margins for every row from a model trained without that row's source."""
    out = np.zeros(len(y))
    for s in np.unique(src):
        m = src == s
        out[m] = fit(x[~m], y[~m], w[~m])(x[m])
    return out


def gbm_fit(x, y, w):
    return Booster().fit(x, y, w).runtime().margin


def lr_fit(x, y, w):
    mu, sd = x.mean(0), x.std(0) + 1e-6
    beta = logistic((x - mu) / sd, y, w)
    return lambda z: beta[0] + ((z - mu) / sd) @ beta[1:]


def cross_validated(x, y, w, groups, fit, k: int = 5) -> np.ndarray:
    """Margins from k-fold CV where all copies of one image stay in the same fold."""
    fold = np.random.default_rng(SEED).integers(0, k, groups.max() + 1)[groups]
    out = np.zeros(len(y))
    for f in range(k):
        m = fold == f
        out[m] = fit(x[~m], y[~m], w[~m])(x[m])
    return out


def source_table(rows, p, y, src, variant, t_mod, t_weak) -> list[dict]:
    table = []
    real = p[(y == 0)]
    for s in dict.fromkeys(src):
        m = src == s
        label = rows[int(np.flatnonzero(m)[0]) // VARIANTS]["label"]
        entry = {"source": s, "label": label, "images": int(m.sum() // VARIANTS)}
        for name, sel in (("clean", m & (variant == 0)), ("platform", m & (variant > 0))):
            q = p[sel]
            entry[name] = {
                "mean_p": round(float(q.mean()), 3),
                "at_moderate": round(float((q >= t_mod).mean()), 3),
                "at_weak": round(float((q >= t_weak).mean()), 3),
            }
            if label != "real":
                auc_y = np.r_[np.ones(len(q)), np.zeros(len(real))]
                entry[name]["auc_vs_real"] = round(roc_auc(auc_y, np.r_[q, real]), 3)
        table.append(entry)
    return table


def print_table(table: list[dict]) -> None:
    print(
        f"{'source':30} {'label':9} {'n':>4}  {'clean: p̄  ≥mod ≥weak AUC':28} "
        f"{'platform: p̄  ≥mod ≥weak AUC':28}"
    )
    for e in table:
        cells = []
        for k in ("clean", "platform"):
            c = e[k]
            auc = f"{c['auc_vs_real']:.3f}" if "auc_vs_real" in c else "  -  "
            cells.append(f"{c['mean_p']:.2f} {c['at_moderate']:5.0%} {c['at_weak']:5.0%} {auc}")
        print(f"{e['source']:30} {e['label']:9} {e['images']:4}  {cells[0]:28} {cells[1]:28}")


def write_thresholds(moderate: float, weak: float) -> None:
    path = ROOT / "config" / "pixels.toml"
    text = path.read_text()
    text = re.sub(r"(?m)^moderate = .*$", f"moderate = {moderate:.4f}", text)
    text = re.sub(r"(?m)^weak = .*$", f"weak = {weak:.4f}", text)
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    ap.add_argument("--extract-only", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="report only; keep the shipped model")
    args = ap.parse_args(argv)
    rows = read_manifest(args.data)
    feats = extract_all(args.data, rows)
    print("features", feats.shape)
    if args.extract_only:
        return 0
    return train(rows, feats, args.no_write)


def family_mask(prefixes: tuple[str, ...]) -> np.ndarray:
    return np.array([i for i, n in enumerate(FEATURE_NAMES) if n.startswith(prefixes)], np.int64)


def compare(xt, yt, st, wt) -> dict[str, float]:
    """Leave-one-source-out AUC of the alternatives the shipped choice was measured against."""
    out = {}
    for fams in (("align",), ("spec",), ("noise",), ("col",), ("tex",), ("tex", "col")):
        used = family_mask(fams)
        oos = out_of_source(xt[:, used], yt, st, wt, lr_fit)
        out["logistic " + "+".join(fams)] = round(roc_auc(yt, oos), 3)
    out["logistic, all features"] = round(roc_auc(yt, out_of_source(xt, yt, st, wt, lr_fit)), 3)
    return out


def train(rows: list[dict[str, str]], feats: np.ndarray, no_write: bool) -> int:
    t0 = time.time()
    n, v, d = feats.shape
    x = feats.reshape(n * v, d)
    y = np.repeat([r["label"] != "real" for r in rows], v).astype(float)
    src = np.repeat([r["source"] for r in rows], v)
    variant = np.tile(np.arange(v), n)
    image = np.repeat(np.arange(n), v)
    train_m = ~np.isin(src, TEST_SOURCES)
    xt, yt, st, vt = x[train_m], y[train_m], src[train_m], variant[train_m]
    wt = weights(st, yt)
    trows = [r for r in rows if r["source"] not in TEST_SOURCES]

    alternatives = compare(xt, yt, st, wt)
    for name, auc in alternatives.items():
        print(f"  leave-one-source-out AUC, {name}: {auc}")
    # Calibration: held-out images (5-fold, all copies of an image together).
    cv = cross_validated(xt, yt, wt, image[train_m], gbm_fit)
    calib = platt(cv, yt, wt)
    # Thresholds: real faces from sources the model had not seen (leave-one-source-out) are
    # scored higher than held-out images of seen sources, so take the stricter of the two.
    loso = out_of_source(xt, yt, st, wt, gbm_fit)

    def prob(m: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(calib[0] * m + calib[1])))

    p_cv, p_loso = prob(cv), prob(loso)
    real = yt == 0
    t_mod = max(threshold_at_fpr(p_cv[real], 0.01), threshold_at_fpr(p_loso[real], 0.01))
    t_weak = max(threshold_at_fpr(p_cv[real], 0.05), threshold_at_fpr(p_loso[real], 0.05))
    summary = {
        "model": "gradient-boosted trees over all features",
        "cv_auc": round(roc_auc(yt, p_cv), 4),
        "cv_tpr_at_fpr_1pct": round(tpr_at_fpr(yt, p_cv, 0.01)[0], 4),
        "cv_tpr_at_fpr_5pct": round(tpr_at_fpr(yt, p_cv, 0.05)[0], 4),
        "loso_auc": round(roc_auc(yt, p_loso), 4),
        "loso_tpr_at_fpr_1pct": round(tpr_at_fpr(yt, p_loso, 0.01)[0], 4),
        "loso_tpr_at_fpr_5pct": round(tpr_at_fpr(yt, p_loso, 0.05)[0], 4),
        "threshold_moderate": round(t_mod, 4),
        "threshold_weak": round(t_weak, 4),
        "cv_tpr_at_moderate": round(float((p_cv[~real] >= t_mod).mean()), 4),
        "cv_tpr_at_weak": round(float((p_cv[~real] >= t_weak).mean()), 4),
        "calibration": calib,
        "alternatives_loso_auc": alternatives,
    }
    print(json.dumps(summary))
    print("held-out images of seen sources (5-fold CV):")
    table_cv = source_table(trows, p_cv, yt, st, vt, t_mod, t_weak)
    print_table(table_cv)
    print("each source held out (leave-one-source-out):")
    table = source_table(trows, p_loso, yt, st, vt, t_mod, t_weak)
    print_table(table)

    final = Booster().fit(xt, yt, wt).runtime(calib)
    test_m = ~train_m
    test_table: list[dict] = []
    if test_m.any():  # sources the shipped model never saw
        pt = final.proba(x[test_m])
        summary["test_auc"] = round(roc_auc(y[test_m], pt), 4)
        print(f"never-seen test sources ({', '.join(TEST_SOURCES)}): AUC {summary['test_auc']}")
        test_rows = [r for r in rows if r["source"] in TEST_SOURCES]
        test_table = source_table(
            test_rows, pt, y[test_m], src[test_m], variant[test_m], t_mod, t_weak
        )
        print_table(test_table)
    report = {
        "summary": summary,
        "sources_cv": table_cv,
        "sources_loso": table,
        "test_sources": list(TEST_SOURCES),
        "test_table": test_table,
        "seed": SEED,
        "variants": VARIANTS,
    }
    if not no_write:
        model.save(model.MODEL_PATH, final)
        model.MODEL_PATH.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        write_thresholds(t_mod, t_weak)
        print(f"wrote {model.MODEL_PATH} ({model.MODEL_PATH.stat().st_size / 1e3:.1f} kB)")
    print(f"done in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
