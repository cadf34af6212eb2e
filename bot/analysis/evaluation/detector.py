"""Evaluation harness for the pixel detector: `headshot-bot eval DIR --labels manifest.tsv`.

Scores every labelled image in DIR (optionally after platform-style processing; an image with
no detected face scores 0, as the check never counts it) and prints
ROC AUC, the true-positive rate at 1 % and 5 % false positives, the rates at the shipped
thresholds, a per-source table and a confusion matrix. Labels: a TSV with a header and the
columns `path` and `label` (real / anything else counts as AI), optionally `source`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bot.analysis.checks.alignment import gan_aligned
from bot.analysis.checks.pixels import score
from bot.analysis.evaluation.metrics import roc_auc, threshold_at_fpr, tpr_at_fpr
from bot.analysis.vision import degrade
from bot.analysis.vision.cache import pixels_config
from bot.analysis.vision.scan import scan_image

DEGRADE_MODES = ("none", "avatar", "avatar-all")


@dataclass
class Item:
    path: str
    label: str
    source: str

    @property
    def is_ai(self) -> bool:
        return self.label.lower() not in ("real", "camera", "0", "human")


def read_labels(path: Path, sources: set[str] | None = None) -> list[Item]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    items = [Item(r["path"], r["label"], r.get("source") or r["label"]) for r in rows]
    return [i for i in items if not sources or i.source in sources]


def score_items(root: Path, items: list[Item], mode: str = "none") -> list[dict[str, Any]]:
    """One row per scored image (several per item with avatar-all)."""
    out = []
    for item in items:
        with Image.open(root / item.path) as im:
            im.load()
            for img, how in _variants(im, item.path, mode):
                scan = scan_image(img)
                # as the check counts it: without a detected face the score never counts
                p = score(scan) if scan.face is not None else 0.0
                out.append(
                    {
                        "path": item.path,
                        "source": item.source,
                        "label": item.label,
                        "ai": item.is_ai,
                        "variant": how,
                        "score": p,
                        "faces": len(scan.faces.faces),
                        "aligned": gan_aligned(scan.features.as_dict(), *img.size),
                    }
                )
    return out


def _variants(im: Image.Image, key: str, mode: str) -> list[tuple[Image.Image, str]]:
    if mode == "avatar":
        return [degrade.avatar(im, key)]
    if mode == "avatar-all":
        return degrade.all_avatars(im)
    return [(im.convert("RGB"), "as given")]


def summarise(scored: list[dict[str, Any]]) -> dict[str, Any]:
    y = np.array([r["ai"] for r in scored], bool)
    s = np.array([r["score"] for r in scored], float)
    t = pixels_config()["thresholds"]
    t_mod, t_weak = float(t["moderate"]), float(t["weak"])
    tpr1, thr1 = tpr_at_fpr(y, s, 0.01)
    tpr5, thr5 = tpr_at_fpr(y, s, 0.05)
    return {
        "images": len(scored),
        "ai": int(y.sum()),
        "real": int((~y).sum()),
        "roc_auc": _r(roc_auc(y, s)),
        "tpr_at_fpr_1pct": _r(tpr1),
        "tpr_at_fpr_5pct": _r(tpr5),
        "oracle_thresholds": {"fpr_1pct": _r(thr1), "fpr_5pct": _r(thr5)},
        "shipped": {
            "moderate": {"threshold": t_mod, **_rates(y, s, t_mod)},
            "weak": {"threshold": t_weak, **_rates(y, s, t_weak)},
        },
        "confusion": _confusion(y, s, t_mod, t_weak),
        "sources": _per_source(scored, s, t_mod, t_weak),
        "no_face": int(sum(r["faces"] == 0 for r in scored)),
    }


def _r(v: float) -> float | None:
    return None if v != v else round(float(v), 4)  # NaN (one class only) becomes null


def _rates(y: np.ndarray, s: np.ndarray, t: float) -> dict[str, float | None]:
    tpr = float((s[y] >= t).mean()) if y.any() else float("nan")
    fpr = float((s[~y] >= t).mean()) if (~y).any() else float("nan")
    return {"tpr": _r(tpr), "fpr": _r(fpr)}


def _confusion(
    y: np.ndarray, s: np.ndarray, t_mod: float, t_weak: float
) -> dict[str, dict[str, int]]:
    """Rows: truth; columns: what the bot would say (nothing, weak hint, moderate evidence)."""
    out = {}
    for name, m in (("real", ~y), ("ai", y)):
        q = s[m]
        out[name] = {
            "none": int((q < t_weak).sum()),
            "weak": int(((q >= t_weak) & (q < t_mod)).sum()),
            "moderate": int((q >= t_mod).sum()),
        }
    return out


def _per_source(
    scored: list[dict[str, Any]], s: np.ndarray, t_mod: float, t_weak: float
) -> list[dict[str, Any]]:
    real = s[[not r["ai"] for r in scored]]
    t1, t5 = threshold_at_fpr(real, 0.01), threshold_at_fpr(real, 0.05)
    rows = []
    for src in dict.fromkeys(r["source"] for r in scored):
        m = np.array([r["source"] == src for r in scored])
        first = next(r for r in scored if r["source"] == src)
        q = s[m]
        entry = {
            "source": src,
            "label": first["label"],
            "n": int(m.sum()),
            "mean_score": _r(q.mean()),
            "at_moderate": _r((q >= t_mod).mean()),
            "at_weak": _r((q >= t_weak).mean()),
            "eyes_at_gan_spots": _r(np.mean([r["aligned"] for r in scored if r["source"] == src])),
        }
        if first["ai"] and len(real):
            entry["auc_vs_all_real"] = _r(
                roc_auc(np.r_[np.ones(len(q)), np.zeros(len(real))], np.r_[q, real])
            )
            # caught at the thresholds that keep 1 % / 5 % of all real images in this run
            entry["tpr_at_fpr_1pct"] = _r((q >= t1).mean())
            entry["tpr_at_fpr_5pct"] = _r((q >= t5).mean())
        rows.append(entry)
    return rows


_OPTIONAL = (("auc_vs_all_real", ".3f"), ("tpr_at_fpr_1pct", ".1%"), ("tpr_at_fpr_5pct", ".1%"))


def _cell(v: float | None, fmt: str) -> str:
    return "" if v is None else format(v, fmt)


def render(summary: dict[str, Any]) -> str:
    sh = summary["shipped"]
    lines = [
        f"images {summary['images']} (AI {summary['ai']}, real {summary['real']}); "
        f"no face found in {summary['no_face']}",
        f"ROC AUC {summary['roc_auc']}   TPR at FPR 1 %: {summary['tpr_at_fpr_1pct']}   "
        f"TPR at FPR 5 %: {summary['tpr_at_fpr_5pct']}",
        f"shipped thresholds: moderate ≥ {sh['moderate']['threshold']:.3f} "
        f"(TPR {sh['moderate']['tpr']}, FPR {sh['moderate']['fpr']}); weak ≥ "
        f"{sh['weak']['threshold']:.3f} (TPR {sh['weak']['tpr']}, FPR {sh['weak']['fpr']})",
        "",
        f"{'source':32} {'label':10} {'n':>5} {'mean':>6} {'≥weak':>6} {'≥mod':>6} {'AUC':>6} "
        f"{'@FPR1%':>7} {'@FPR5%':>7} {'GAN-eyes':>8}",
    ]
    for e in summary["sources"]:
        cells = [_cell(e.get(k), f) for k, f in _OPTIONAL]
        lines.append(
            f"{e['source']:32} {e['label']:10} {e['n']:5} {e['mean_score']:6.3f} "
            f"{e['at_weak']:6.1%} {e['at_moderate']:6.1%} {cells[0]:>6} {cells[1]:>7} "
            f"{cells[2]:>7} {e['eyes_at_gan_spots']:8.1%}"
        )
    c = summary["confusion"]
    lines += [
        "",
        "confusion (truth × what the bot says):",
        f"{'':6} {'none':>6} {'weak':>6} {'moderate':>9}",
    ]
    for k in ("real", "ai"):
        lines.append(f"{k:6} {c[k]['none']:6} {c[k]['weak']:6} {c[k]['moderate']:9}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    argv = list(argv)
    if argv[:1] == ["eval"]:
        argv = argv[1:]
    ap = argparse.ArgumentParser(prog="headshot-bot eval", description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path, help="folder the label file's paths are relative to")
    ap.add_argument("--labels", type=Path, required=True, help="TSV: path, label[, source]")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument(
        "--degrade",
        choices=DEGRADE_MODES,
        default="none",
        help="avatar: one platform-style copy per image (128/256/512 px, WebP q80 or "
        "JPEG q75, chosen by path); avatar-all: all six",
    )
    ap.add_argument("--sources", help="comma-separated sources to keep")
    args = ap.parse_args(argv)
    labels = args.labels if args.labels.is_absolute() else Path.cwd() / args.labels
    if not labels.is_file():
        print(f"no label file at {labels}", file=sys.stderr)
        return 2
    items = read_labels(labels, set(args.sources.split(",")) if args.sources else None)
    t0 = time.perf_counter()
    scored = score_items(args.dir, items, args.degrade)
    summary = summarise(scored) | {
        "degrade": args.degrade,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(summary, indent=1) if args.json else render(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
