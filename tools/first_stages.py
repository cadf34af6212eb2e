"""Measure cheaper first stages for the pixel cascade (an experiment; nothing is written).

    python tools/first_stages.py --cache DIR     # a cache of tools/extract_pixels.py (copies 0-1)

Each candidate is the shipped recipe on one input (the cues alone, or the face crop's mean
patch token after block 4, 6 or 8), validated leave-one-source-out on the same folds as the
full head. For each, the bar that clears 0.5 % / 1 % of the AI faces the full head flags
(≥ weak) and the share of real, GAN and diffusion faces it settles; then two stages chained
(an earlier block, then block 8), each clearing half of that budget. docs/pixels.md
("Earlier first stages") has the figures and what they cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import train_pixels as tp

CANDIDATES = {
    "cues alone": tp.Recipe(blocks=(), gate_width=0.0),
    "block 4": tp.Recipe(blocks=("face_l3_mean",)),
    "block 6": tp.Recipe(blocks=("face_l5_mean",)),
    "block 8 (shipped)": tp.Recipe(blocks=tp.QUICK_BLOCKS),
}


def settles(p: np.ndarray, flagged: np.ndarray, share: float, hf: np.ndarray) -> np.ndarray:
    """The faces a stage settles with the bar that clears `share` of the full head's flags."""
    return hf & (p < tp.clearing_bar(p, flagged, share))


def time_halves(runs: int = 15) -> None:
    """One thread's CPU time of the encoder's graph cut after block 4, 6 and 8, and whole."""
    from bot.analysis.vision import encoder

    x = np.random.default_rng(0).random((1, 3, encoder.SIDE, encoder.SIDE), np.float32)
    for label, taps, final in (
        ("block 4", (3,), False),
        ("block 6", (5,), False),
        ("block 8", (7,), False),
        ("all", (), True),
    ):
        for _ in range(3):
            encoder.run(x, taps, final)
        t = time.process_time()
        for _ in range(runs):
            encoder.run(x, taps, final)
        print(f"encoder to {label}: {(time.process_time() - t) / runs * 1e3:.1f} ms CPU")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--time", action="store_true", help="also time each first half (CPU)")
    args = ap.parse_args(argv)
    if args.time:
        time_halves()
    d = tp.load(args.cache, [0, 1])
    y, hf, label = d["y"], d["has_face"], d["label"]
    chatlike = (y == 0) & (d["src"] != tp.FFHQ)  # as train_quick: faceless copies score 0
    p_full, _ = tp.loso_scores(d, tp.Recipe())
    flagged = hf & (y == 1) & (p_full >= tp.thresholds(p_full, chatlike)["weak"])
    real_faces = chatlike & hf
    groups = {
        "real (not FFHQ)": real_faces,
        "GAN": hf & (label == "gan"),
        "diffusion": hf & (label == "diffusion"),
    }
    scores: dict[str, np.ndarray] = {}
    for name, recipe in CANDIDATES.items():
        try:
            scores[name], _ = tp.loso_scores(d, recipe)
        except SystemExit as exc:  # platt refuses a head that does not generalise
            print(f"{name}: {exc}")
            continue
        for share in (0.005, 0.01):
            s = settles(scores[name], flagged, share, hf)
            rates = ", ".join(f"{g} {s[m].mean():.1%}" for g, m in groups.items())
            print(f"{name}, clearing {share:.1%} of the flags, settles: {rates}")
    last = scores["block 8 (shipped)"]
    for first in ("block 4", "block 6"):
        if first not in scores:
            continue
        a = settles(scores[first], flagged, 0.005, hf)
        b = settles(last, flagged, 0.005, hf) & ~a
        print(
            f"{first} then block 8 (0.5 % each): {(a | b)[flagged].mean():.2%} of the flags "
            f"cleared; real faces settled at {first} {a[real_faces].mean():.1%}, "
            f"at block 8 {b[real_faces].mean():.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
