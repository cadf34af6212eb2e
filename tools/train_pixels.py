"""Train the pixel head shipped as bot/analysis/models/pixels.npz, and validate it honestly.

    python tools/extract_pixels.py --into DIR --copies 0   # embeddings + cues of every copy
    python tools/train_pixels.py --cache DIR [--no-write | --check]
    python tools/train_pixels.py --cache DIR --quick [--check]   # the cascade's first stage

Data: ../shared/data/faces and ../shared/data/faces-extra, every image as platform-style copies
(random crop, 128–512 px, JPEG q70–95 / WebP q75–90 / PNG; the same for real and AI), cached by
tools/extract_pixels.py through the run-time code; every cached copy is used. Deterministic
(fixed seeds, L-BFGS): a rerun on the same cache writes a byte-identical model, which
`--check` verifies against the shipped file. Copies without a detected face are left out of
training (the check never scores them) and count as not flagged in the tables.

- Validation: leave-one-source-out (each source scored by a head trained without it) and
  leave-one-family-out (each AI family scored by a head trained without any of its sources).
- Calibration (Platt) is fitted on the leave-one-source-out margins.
- Thresholds: the leave-one-source-out score that at most 1 % (moderate) / 5 % (weak) of the
  non-FFHQ real faces reach (chat-like; FFHQ, StyleGAN's training set, is reported apart).
Writes the model, pixels.json (the tables in docs/pixels.md) and the thresholds in
config/pixels.toml.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.analysis.evaluation.metrics import roc_auc, threshold_at_fpr  # noqa: E402
from bot.analysis.vision import encoder, model  # noqa: E402
from tools.extract_pixels import TAPS  # noqa: E402

CACHE = Path(os.environ.get("HEADSHOT_PIXCACHE", "/work/pixcache"))
CUES = (
    *(f"align_{k}" for k in ("has_face", "eye_lx", "eye_ly", "eye_rx", "eye_ry", "eye_dist")),
    "align_roll",
    "align_canon_dist",
    "align_face_frac",
    "spec_slope",
    "spec_hf_ratio",
    "spec_peak_max",
    "spec_grid_peak",
    "spec_cross",
    "noise_std",
    "noise_kurt",
    "noise_flat_ratio",
    "noise_rg_corr",
    "noise_gb_corr",
    "noise_block_var",
)
L2 = 100.0  # chosen by leave-one-source-out among 30 / 100 / 300 / 1000 (docs/pixels.md)
# encoder outputs the head reads (model.BLOCK_DIMS, encoder.layer_block), chosen by LOSO: the
# face crop's mean patch token after block 8 of 12 (what the GAN term gates: the first face
# block), the face and frame embeddings
BLOCKS = ("face_l7_mean", "face", "frame")
# FFHQ's weight beside the other real sources (chosen by leave-one-source-out among 0.1 / 0.3 /
# 0.5 / 1): its aligned photos are StyleGAN's own training set and at full weight teach the
# head that StyleGAN's framing means "real"; chat avatars are rarely framed that way.
FFHQ_WEIGHT = 0.1
# The GAN term (model.head_input): the face embedding again, times exp(-eye distance from the
# FFHQ/StyleGAN crop spots / width), and that gate; width chosen by leave-one-source-out among
# 0.015 / 0.03 / 0.05 / 0.1 / 0.2 and against no gate (docs/pixels.md, "heads tried").
GATE_WIDTH = 0.05
# The cascade's first stage (--quick): the same recipe on the first half of the face crop's
# pass alone (block 8's token and the cues, no frame), and the share of the faces the full
# head flags (≥ weak) that its clearing bar may settle before the full head sees them.
QUICK_BLOCKS = ("face_l7_mean",)
QUICK_MAY_CLEAR = 0.01
# Generator families for leave-one-family-out. sfhq_t2i mixes FLUX, SDXL and DALL-E 3 tiles
# without saying which made which, so it is a family of its own; Kolors (an SDXL-type model)
# stands for SDXL.
FAMILIES = {
    "tpdne_2022_stylegan2": "GAN",
    "tpdne_2021_fakefacessurvey": "GAN",
    "tpdne_2021_u1i": "GAN",
    "stylegan2_ada_ffhq_seeds": "GAN",
    "stylegan1_140k": "GAN",
    "sd21_sdfd": "SD 1.x-2.x",
    "facechain_sd_lora": "SD 1.x-2.x",
    "proheadshots_ai_headshots": "SD 1.x-2.x",
    "astria_headshots_starter": "SD 1.x-2.x",
    "ic_light_sd15": "SD 1.x-2.x",
    "ipadapter_assets_sd": "SD 1.x-2.x",
    "kolors": "SDXL-type (Kolors)",
    "sfhq_t2i": "FLUX / SDXL / DALL-E 3 (mixed)",
}
FFHQ = "ffhq_jpeg_q75"
SEED = 20261202
DATA = (
    "../shared/data/faces (public face images labelled gan/diffusion/real; licences vary: FFHQ "
    "CC BY-NC-SA, studio portraits research-only, some generator outputs unlicensed) and "
    "../shared/data/faces-extra (SFHQ-T2I tiles, MIT; StyleGAN 1 faces from the '140k real and "
    "fake faces' set, no licence file)"
)
ONLY_HERE = "Training and evaluation only: no image is in the repository or the package."
TRAINED_ON = (
    f"{DATA}; all 4,206 images, eight platform-style copies of each GAN image, six of each "
    f"diffusion image and ten of each real photo. {ONLY_HERE}"
)


# ---------------------------------------------------------------- data


def latest_cache(root: Path) -> Path:
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if not folders:
        raise SystemExit(f"no cache under {root}: run tools/extract_pixels.py first")
    return folders[-1]


CACHE_KEYS = {
    "face": "face_emb",
    "frame": "frame_emb",
    "face_tok": "face_tok",
    "frame_tok": "frame_tok",
}


def load(folder: Path, copies: list[int] | None = None) -> dict[str, np.ndarray]:
    """All cached copies as rows: encoder blocks, cues, labels, sources, image index."""
    from tools.extract_pixels import read_rows

    by_file = {r["file"]: r for r in read_rows()}
    parts = []
    for path in sorted(folder.glob("copy-*.npz")):
        copy = int(path.name.split("-")[1])
        if copies is not None and copy not in copies:
            continue
        z = dict(np.load(path))
        z["copy"] = np.full(len(z["files"]), copy)
        parts.append(z)
    if not parts:
        raise SystemExit(f"no cached copies in {folder}")

    def cat(key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in parts])

    files = cat("files")
    meta = [by_file[str(f)] for f in files]
    image_ids = {f: i for i, f in enumerate(dict.fromkeys(str(f) for f in files))}
    return {
        **as_rows({k: cat(k) for k in (*CACHE_KEYS.values(), *LAYER_KEYS, "features")}),
        "y": np.array([m["label"] != "real" for m in meta], float),
        "src": np.array([m["source"] for m in meta]),
        "label": np.array([m["label"] for m in meta]),
        "image": np.array([image_ids[str(f)] for f in files]),
        "copy": cat("copy"),
        "file": files,
        "one_crop": cat("crop_share") >= encoder.ONE_CROP_ABOVE,
        "has_face": cat("has_face") > 0,
    }


LAYER_KEYS = ("face_layers", "frame_layers")


def as_rows(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cached encoder arrays (stacked rows of extract_pixels.encoder_row) and features, under
    the names `inputs` reads; tapped blocks stay float16 to save memory."""
    return {
        **{b: raw[k].astype(np.float32) for b, k in CACHE_KEYS.items()},
        **{k: raw[k] for k in LAYER_KEYS},
        "features": raw["features"],
    }


def inputs(
    d: dict[str, np.ndarray], blocks: tuple[str, ...], gate_width: float = 0.0
) -> np.ndarray:
    """Head inputs as the check computes them (where the face crop fills the frame, the cache
    holds it for both, as encoder.embed does)."""
    return model.head_input([block(d, b) for b in blocks], d["features"], CUES, gate_width)


def block(d: dict[str, np.ndarray], name: str) -> np.ndarray:
    """One encoder block of every cached copy, by the head's name for it (model.BLOCK_DIMS,
    model.layer_block)."""
    if model.layer_block(name) is None:
        return d[name]
    return encoder.tapped(name, {"face": d["face_layers"], "frame": d["frame_layers"]}, TAPS)


# ---------------------------------------------------------------- the head


def weights(src: np.ndarray, y: np.ndarray, power: float = 0.0) -> np.ndarray:
    """Every source weighs the same (power 0: 1,432 tiles from one grid set must not drown
    the rest; power 1 would weigh every copy the same), and the two classes weigh the same
    in total."""
    w = np.ones(len(y))
    for s in np.unique(src):
        m = src == s
        w[m] = m.sum() ** (power - 1)
    for c in (0, 1):
        w[y == c] *= len(y) / 2 / w[y == c].sum()
    return w


def logistic(z: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float) -> np.ndarray:
    """Weighted L2 logistic regression (L-BFGS, deterministic); returns [bias, coefs...]."""
    zb = np.column_stack([np.ones(len(z)), z])
    ridge = l2 * np.r_[0.0, np.ones(zb.shape[1] - 1)]

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        m = zb @ beta
        # log(1 + e^m) - y m, computed without overflow
        value = float(w @ (np.logaddexp(0, m) - y * m) + 0.5 * ridge @ beta**2)
        p = 0.5 * (1 + np.tanh(0.5 * m))
        return value, zb.T @ ((p - y) * w) + ridge * beta

    res = minimize(
        loss,
        np.zeros(zb.shape[1]),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-7, "ftol": 1e-13},
    )
    return res.x


def mlp(z: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, hidden: int) -> np.ndarray:
    """Weighted L2 one-hidden-layer ReLU network (L-BFGS from a seeded start, deterministic);
    returns the flat parameters [W (d×h), b (h), v (h), c]."""
    d = z.shape[1]
    rng = np.random.default_rng(SEED)
    start = np.r_[
        rng.normal(0, 1 / np.sqrt(d), d * hidden),
        np.zeros(hidden),
        rng.normal(0, 1 / np.sqrt(hidden), hidden),
        0.0,
    ]

    def unpack(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        k = d * hidden
        return t[:k].reshape(d, hidden), t[k : k + hidden], t[k + hidden : k + 2 * hidden], t[-1]

    def loss(t: np.ndarray) -> tuple[float, np.ndarray]:
        wm, b, v, c = unpack(t)
        a = z @ wm + b
        h = np.maximum(a, 0)
        m = h @ v + c
        value = float(
            w @ (np.logaddexp(0, m) - y * m) + 0.5 * l2 * (wm.ravel() @ wm.ravel() + v @ v)
        )
        g = (0.5 * (1 + np.tanh(0.5 * m)) - y) * w
        dh = np.outer(g, v) * (a > 0)
        return value, np.r_[(z.T @ dh + l2 * wm).ravel(), dh.sum(0), h.T @ g + l2 * v, g.sum()]

    res = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 400})
    return res.x


@dataclass(frozen=True)
class Recipe:
    """What a head is trained on and how (the shipped one is the default)."""

    blocks: tuple[str, ...] = BLOCKS
    l2: float = L2
    source_power: float = 0.0  # how a source's weight grows with its size (weights())
    hidden: int = 0  # 0: logistic regression; else a hidden ReLU layer this wide (experiment)
    ffhq_weight: float = FFHQ_WEIGHT
    gate_width: float = GATE_WIDTH  # 0: no GAN term (model.head_input)


class MlpHead:
    """An experiment's head (not shipped): margins only."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, t: np.ndarray, hidden: int):
        d = len(mean)
        self.mean, self.scale, self.hidden = mean, scale, hidden
        self.wm = t[: d * hidden].reshape(d, hidden)
        self.b, self.v, self.c = t[d * hidden : d * hidden + hidden], t[-1 - hidden : -1], t[-1]

    def margin(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        return np.maximum(z @ self.wm + self.b, 0) @ self.v + self.c


def recipe_weights(src: np.ndarray, y: np.ndarray, recipe: Recipe) -> np.ndarray:
    w = weights(src, y, recipe.source_power)
    w[src == FFHQ] *= recipe.ffhq_weight
    return w * len(w) / w.sum()


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, recipe: Recipe) -> model.PixelHead:
    mean, scale = x.mean(0), x.std(0) + 1e-6
    if recipe.hidden:
        t = mlp((x - mean) / scale, y, w, recipe.l2, recipe.hidden)
        return MlpHead(mean, scale, t, recipe.hidden)  # type: ignore[return-value]
    z = model.terms((x - mean) / scale, x, recipe.blocks, recipe.gate_width)
    beta = logistic(z, y, w, recipe.l2)
    head = model.PixelHead(
        recipe.blocks, CUES, mean, scale, beta[1:], float(beta[0]), (1.0, 0.0), recipe.gate_width
    )
    return model.stored(head)


def held_out(
    d: dict, recipe: Recipe, groups: np.ndarray, only: np.ndarray | None = None
) -> np.ndarray:
    """Margins for rows of each group from a head trained without that group (NaN for rows
    of groups not in `only`)."""
    out = np.full(len(groups), np.nan)
    for g in dict.fromkeys(groups.tolist() if only is None else only.tolist()):
        m = groups == g
        keep = ~m & d["has_face"]  # the check never scores a photo without a face
        w = recipe_weights(d["src"][keep], d["y"][keep], recipe)
        head = fit(d["x"][keep], d["y"][keep], w, recipe)
        out[m] = head.margin(d["x"][m])
    return out


def platt(margin: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """p = sigmoid(a * margin + b) fitted on held-out margins. A slope at or below zero would
    mean the score says nothing (or the opposite) on unseen sources: refuse to ship."""
    b0, b1 = logistic(margin[:, None], y, w, l2=1e-3)
    if b1 <= 0:
        raise SystemExit(f"calibration slope {b1:.3f} <= 0: the head does not generalise")
    return float(b1), float(b0)


# ---------------------------------------------------------------- tables


def rate(q: np.ndarray, t: float) -> float:
    return round(float((q >= t).mean()), 4) if len(q) else float("nan")


def source_table(
    d: dict, p: np.ndarray, t: dict[str, float], real_p: np.ndarray, chatlike_p: np.ndarray
) -> list[dict]:
    """Per source: AUC against all real faces (scored the same way) and against the non-FFHQ
    ones, TPR at the thresholds that keep 1 % / 5 % of all real faces, and the share at the
    shipped thresholds (which keep 1 % / 5 % of the non-FFHQ real faces)."""
    t1, t5 = threshold_at_fpr(real_p, 0.01), threshold_at_fpr(real_p, 0.05)

    def auc(q: np.ndarray, real: np.ndarray) -> float:
        return round(roc_auc(np.r_[np.ones(len(q)), np.zeros(len(real))], np.r_[q, real]), 3)

    out = []
    for s in dict.fromkeys(d["src"].tolist()):
        m = (d["src"] == s) & ~np.isnan(p)
        if not m.any():
            continue
        q = p[m]
        label = str(d["label"][m][0])
        e = {"source": s, "label": label, "family": FAMILIES.get(s, "real"), "copies": int(m.sum())}
        if label != "real":
            e["auc"], e["auc_chatlike"] = auc(q, real_p), auc(q, chatlike_p)
            e["tpr_fpr1"], e["tpr_fpr5"] = rate(q, t1), rate(q, t5)
        e["at_moderate"], e["at_weak"] = rate(q, t["moderate"]), rate(q, t["weak"])
        out.append(e)
    return out


def group_rates(d: dict, p: np.ndarray, t: float) -> dict[str, float]:
    ok = ~np.isnan(p)
    out = {}
    for name, m in (
        ("gan", d["label"] == "gan"),
        ("diffusion", d["label"] == "diffusion"),
        ("real", d["label"] == "real"),
        ("real_not_ffhq", (d["label"] == "real") & (d["src"] != FFHQ)),
        ("real_ffhq", d["src"] == FFHQ),
    ):
        out[name] = rate(p[m & ok], t)
    return out


def print_table(title: str, table: list[dict]) -> None:
    print(title)
    print(
        f"{'source':28} {'family':30} {'n':>5} {'AUC':>6} {'@1%':>6} {'@5%':>6} "
        f"{'≥mod':>6} {'≥weak':>6}"
    )
    for e in table:
        auc = f"{e['auc']:.3f}" if "auc" in e else "-"
        t1 = f"{e['tpr_fpr1']:.1%}" if "tpr_fpr1" in e else "-"
        t5 = f"{e['tpr_fpr5']:.1%}" if "tpr_fpr5" in e else "-"
        print(
            f"{e['source']:28} {e['family']:30} {e['copies']:5} {auc:>6} {t1:>6} {t5:>6} "
            f"{e['at_moderate']:6.1%} {e['at_weak']:6.1%}"
        )


def write_thresholds(**values: float) -> None:
    """Set thresholds (moderate, weak, clear) in config/pixels.toml, keeping its comments."""
    path = ROOT / "config" / "pixels.toml"
    text = path.read_text()
    for key, v in values.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {v:.4f}", text)
    path.write_text(text)


# ---------------------------------------------------------------- main


def sigmoid(m: np.ndarray, calib: tuple[float, float]) -> np.ndarray:
    return 1 / (1 + np.exp(-(calib[0] * m + calib[1])))


def loso_scores(d: dict, recipe: Recipe) -> tuple[np.ndarray, tuple[float, float]]:
    """Calibrated leave-one-source-out scores of `recipe` (0 where no face was found)."""
    d["x"] = inputs(d, recipe.blocks, recipe.gate_width)
    y, src, hf = d["y"], d["src"], d["has_face"]
    margin = held_out(d, recipe, src)
    calib = platt(margin[hf], y[hf], recipe_weights(src[hf], y[hf], recipe))
    return np.where(hf, sigmoid(margin, calib), 0.0), calib


def thresholds(p: np.ndarray, chatlike: np.ndarray) -> dict[str, float]:
    """The scores at most 1 % (moderate) / 5 % (weak) of the chat-like real faces reach.
    FFHQ is StyleGAN's own training set: held out, its aligned real photos read as GAN faces,
    so the thresholds come from the other real sources; FFHQ's rate is reported apart."""
    return {
        "moderate": threshold_at_fpr(p[chatlike], 0.01),
        "weak": threshold_at_fpr(p[chatlike], 0.05),
    }


def clearing_bar(p_quick: np.ndarray, flagged: np.ndarray, share: float) -> float:
    """The first-stage score below which `share` of the faces the full head flags fall."""
    return float(np.quantile(p_quick[flagged], share))


def train_quick(d: dict, folder: Path, check: bool, no_write: bool) -> int:
    """The cascade's first stage: a head on QUICK_BLOCKS, and the clearing bar below which
    its score settles a face. Both heads are validated leave-one-source-out on this cache;
    the bar is the quick score that only QUICK_MAY_CLEAR of the AI faces the full head flags
    (≥ its weak threshold) fall below, so the cascade keeps ≥ 99 % of the full head's flags."""
    full_recipe, quick_recipe = Recipe(), Recipe(blocks=QUICK_BLOCKS)
    p_full, _ = loso_scores(d, full_recipe)
    p_quick, calib = loso_scores(d, quick_recipe)
    y, src, hf, real = d["y"], d["src"], d["has_face"], d["y"] == 0
    chatlike = real & (src != FFHQ)
    t = thresholds(p_full, chatlike)
    flagged_ai = hf & ~real & (p_full >= t["weak"])
    clear = min(clearing_bar(p_quick, flagged_ai, QUICK_MAY_CLEAR), t["weak"])
    clear = float(np.floor(clear * 1e4) / 1e4)  # as config keeps it
    cascade = np.where(p_quick < clear, p_quick, p_full)
    settled = hf & (p_quick < clear)
    summary = {
        "inputs": f"CLIP ViT-B/16 {', '.join(QUICK_BLOCKS)} + hand-made cues",
        "blocks": list(QUICK_BLOCKS),
        "copies": len(y),
        "calibration": calib,
        "threshold_clear": clear,
        "may_clear": QUICK_MAY_CLEAR,
        "full_thresholds_here": {k: round(v, 4) for k, v in t.items()},
        "settled": {
            k: round(float(settled[m & hf].mean()), 4)
            for k, m in (
                ("real_not_ffhq", chatlike),
                ("real_ffhq", src == FFHQ),
                ("gan", d["label"] == "gan"),
                ("diffusion", d["label"] == "diffusion"),
            )
        },
        "full_at_moderate": group_rates(d, p_full, t["moderate"]),
        "cascade_at_moderate": group_rates(d, cascade, t["moderate"]),
        "full_at_weak": group_rates(d, p_full, t["weak"]),
        "cascade_at_weak": group_rates(d, cascade, t["weak"]),
        "tradeoff": {  # other shares of the full head's flags cleared: the bar, real settled
            str(share): [
                bar := clearing_bar(p_quick, flagged_ai, share),
                round(float((p_quick[chatlike & hf] < bar).mean()), 4),
            ]
            for share in (0.002, 0.005, 0.01, 0.02, 0.05)
        },
        "quick_auc_chatlike": round(roc_auc(y[~real | chatlike], p_quick[~real | chatlike]), 4),
        "full_auc_chatlike": round(roc_auc(y[~real | chatlike], p_full[~real | chatlike]), 4),
    }
    print(json.dumps(summary, indent=1))
    head = fit(d["x"][hf], y[hf], recipe_weights(src[hf], y[hf], quick_recipe), quick_recipe)
    head = model.PixelHead(
        head.blocks, head.cues, head.mean, head.scale, head.coef, head.bias, calib, head.gate_width
    )
    if check:
        return 0 if same_file(head, model.QUICK_PATH) else 1
    if not no_write:
        model.save(model.QUICK_PATH, head)
        copies = ", ".join(map(str, sorted(set(d["copy"].tolist()))))
        trained_on = f"{DATA}; platform-style copies {copies} of all 4,206 images. {ONLY_HERE}"
        report = {"trained_on": trained_on, "summary": summary, "cache": folder.name}
        model.QUICK_PATH.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        write_thresholds(clear=clear)
        print(f"wrote {model.QUICK_PATH}")
    return 0


def same_file(head: model.PixelHead, shipped: Path) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / shipped.name, head)
        same = (Path(tmp) / shipped.name).read_bytes() == shipped.read_bytes()
    print("retrained head is byte-identical to the shipped one" if same else "DIFFERENT")
    return same


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, help="a folder written by tools/extract_pixels.py")
    ap.add_argument("--no-write", action="store_true", help="report only; keep the shipped model")
    ap.add_argument("--blocks", help="encoder outputs, comma-separated (an experiment)")
    ap.add_argument("--l2", type=float, default=L2, help="ridge strength (an experiment)")
    ap.add_argument("--ffhq-weight", type=float, default=FFHQ_WEIGHT, help="(an experiment)")
    ap.add_argument("--hidden", type=int, default=0, help="(an experiment)")
    ap.add_argument("--source-power", type=float, default=0.0, help="(an experiment)")
    ap.add_argument("--gate-width", type=float, default=GATE_WIDTH, help="0: no GAN term")
    ap.add_argument("--copies", type=int, nargs="*", help="only these cached copy indices")
    ap.add_argument(
        "--check", action="store_true", help="retrain; exit 1 unless it equals the shipped file"
    )
    ap.add_argument("--no-lofo", action="store_true", help="skip leave-one-family-out")
    ap.add_argument("--quick", action="store_true", help="train the cascade's first stage")
    args = ap.parse_args(argv)
    blocks = tuple(args.blocks.split(",")) if args.blocks else BLOCKS
    recipe = Recipe(
        blocks, args.l2, args.source_power, args.hidden, args.ffhq_weight, args.gate_width
    )
    t0 = time.time()
    folder = args.cache or latest_cache(CACHE)
    d = load(folder, args.copies)
    if args.quick:
        return train_quick(d, folder, args.check, args.no_write)
    y, src, hf = d["y"], d["src"], d["has_face"]
    real = y == 0
    print(f"{len(y)} copies from {folder} ({int(real.sum())} real)")
    print(f"recipe: {recipe}")

    # the check never counts a score where no face was found: neither do the tables
    p_loso, calib = loso_scores(d, recipe)
    chatlike = real & (src != FFHQ)
    vs_chatlike = ~real | chatlike  # the AI faces against the chat-like real ones
    t = thresholds(p_loso, chatlike)
    fam = np.array([FAMILIES.get(s, "real") for s in src])
    ai_fams = np.array(sorted(set(FAMILIES.values())))
    table_loso = source_table(d, p_loso, t, p_loso[real], p_loso[chatlike])
    if os.environ.get("HEADSHOT_DUMP"):  # per-copy held-out scores, for looking at misses
        np.savez(os.environ["HEADSHOT_DUMP"], p=p_loso, files=d["file"], src=src, y=y)
    print_table("leave-one-source-out:", table_loso)
    summary = {
        "inputs": f"CLIP ViT-B/16 {', '.join(recipe.blocks)} + hand-made cues",
        "blocks": list(recipe.blocks),
        "cues": list(CUES),
        "l2": recipe.l2,
        "ffhq_weight": recipe.ffhq_weight,
        "gate_width": recipe.gate_width,
        "copies": len(y),
        "calibration": calib,
        "threshold_moderate": round(t["moderate"], 4),
        "threshold_weak": round(t["weak"], 4),
        "loso_auc": round(roc_auc(y, p_loso), 4),
        "loso_auc_chatlike": round(roc_auc(y[vs_chatlike], p_loso[vs_chatlike]), 4),
        "loso_at_moderate": group_rates(d, p_loso, t["moderate"]),
        "loso_at_weak": group_rates(d, p_loso, t["weak"]),
        "one_crop_share": round(float(d["one_crop"].mean()), 3),
    }
    table_lofo: list[dict] = []
    if not args.no_lofo:
        lofo = held_out(d, recipe, fam, only=ai_fams)
        # real faces: their own source held out
        p_lofo = np.where(real, p_loso, np.where(d["has_face"], sigmoid(lofo, calib), 0.0))
        table_lofo = [
            e
            for e in source_table(d, p_lofo, t, p_loso[real], p_loso[chatlike])
            if e["label"] != "real"
        ]
        print_table("leave-one-family-out (real faces as in leave-one-source-out):", table_lofo)
        summary["lofo_auc"] = round(roc_auc(y, p_lofo), 4)
        summary["lofo_auc_chatlike"] = round(roc_auc(y[vs_chatlike], p_lofo[vs_chatlike]), 4)
        summary["lofo_at_moderate"] = group_rates(d, p_lofo, t["moderate"])
        summary["lofo_at_weak"] = group_rates(d, p_lofo, t["weak"])
    print(json.dumps(summary))
    final = fit(d["x"][hf], y[hf], recipe_weights(src[hf], y[hf], recipe), recipe)
    final = model.PixelHead(
        final.blocks,
        final.cues,
        final.mean,
        final.scale,
        final.coef,
        final.bias,
        calib,
        final.gate_width,
    )
    report = {
        "trained_on": TRAINED_ON,
        "copies_per_source": {s: int((src == s).sum()) for s in dict.fromkeys(src.tolist())},
        "summary": summary,
        "sources_loso": table_loso,
        "families_lofo": table_lofo,
        "cache": folder.name,
        "cache_files": sorted(p.name for p in folder.glob("copy-*.npz")),
    }
    if args.check:
        return 0 if same_file(final, model.MODEL_PATH) else 1
    if not args.no_write:
        model.save(model.MODEL_PATH, final)
        model.MODEL_PATH.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        write_thresholds(moderate=t["moderate"], weak=t["weak"])
        print(f"wrote {model.MODEL_PATH} ({model.MODEL_PATH.stat().st_size / 1e3:.1f} kB)")
    print(f"done in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
