"""The validation tables of docs/pixels.md, rendered from the shipped heads' reports
(pixels.json: the head; pixels_quick.json: the cascade's first stage).

    python tools/pixel_tables.py           # print them
    python tools/pixel_tables.py --write   # replace the block between the markers in the doc

So the card's numbers are the ones tools/train_pixels.py measured, never retyped.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bot" / "analysis" / "models" / "pixels.json"
QUICK_REPORT = REPORT.with_name("pixels_quick.json")
DOC = ROOT / "docs" / "pixels.md"
START, END = "<!-- tables:start (tools/pixel_tables.py) -->", "<!-- tables:end -->"
CASCADE_START = "<!-- cascade:start (tools/pixel_tables.py) -->"
CASCADE_END = "<!-- cascade:end -->"
GROUPS = (("gan", "GAN"), ("diffusion", "diffusion"), ("real_not_ffhq", "real (not FFHQ)"))


def pct(v: float) -> str:
    return "–" if math.isnan(v) else f"{100 * v:.1f} %"


def summary(report: dict, kind: str) -> str:
    s = report["summary"]
    moderate, weak = s[f"{kind}_at_moderate"], s[f"{kind}_at_weak"]
    rates = "; ".join(f"{name} {pct(moderate[key])} / {pct(weak[key])}" for key, name in GROUPS)
    return (
        f"Pooled AUC {s[f'{kind}_auc']:.3f} against every real face, "
        f"{s[f'{kind}_auc_chatlike']:.3f} against the non-FFHQ ones. At moderate / weak: "
        f"{rates}; real FFHQ {pct(moderate['real_ffhq'])} / {pct(weak['real_ffhq'])}."
    )


def table(rows: list[dict], family_first: bool) -> list[str]:
    """One row per source, sorted by family; the family held out first in the LOFO table."""
    names = ("family held out", "source") if family_first else ("source", "family")
    out = [
        f"| {names[0]} | {names[1]} | copies | AUC vs real (all / non-FFHQ) "
        "| TPR @ 1 % / 5 % FPR (all real) | ≥ moderate | ≥ weak |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for e in sorted(rows, key=lambda e: (e["family"], e["source"])):
        first = (e["family"], e["source"]) if family_first else (e["source"], e["family"])
        if "auc" in e:
            auc = f"{e['auc']:.3f} / {e['auc_chatlike']:.3f}"
            tpr = f"{pct(e['tpr_fpr1'])} / {pct(e['tpr_fpr5'])}"
        else:
            auc = tpr = "–"
        out.append(
            f"| {first[0]} | {first[1]} | {e['copies']:,} | {auc} | {tpr} "
            f"| {pct(e['at_moderate'])} | {pct(e['at_weak'])} |"
        )
    return out


def render(report: dict) -> str:
    s = report["summary"]
    lines = [
        START,
        f"**Leave-one-source-out** ({s['copies']:,} copies). " + summary(report, "loso"),
        "",
        *table(report["sources_loso"], family_first=False),
    ]
    if report["families_lofo"]:
        lines += [
            "",
            "**Leave-one-family-out** (each AI family held out with all its sources; real faces "
            "as in leave-one-source-out). " + summary(report, "lofo"),
            "",
            *table(report["families_lofo"], family_first=True),
        ]
    return "\n".join([*lines, END])


def render_cascade(report: dict) -> str:
    """The first stage's validation: what it settles, and the flags the cascade keeps."""
    s = report["summary"]
    rows = [
        "| faces | settled by the quick stage | ≥ moderate: head alone / cascade "
        "| ≥ weak: head alone / cascade |",
        "|---|---:|---:|---:|",
    ]
    for key, name in (*GROUPS, ("real_ffhq", "real FFHQ")):
        rows.append(
            f"| {name} | {pct(s['settled'][key])} "
            f"| {pct(s['full_at_moderate'][key])} / {pct(s['cascade_at_moderate'][key])} "
            f"| {pct(s['full_at_weak'][key])} / {pct(s['cascade_at_weak'][key])} |"
        )
    shares = " / ".join(f"{100 * float(k):g}" for k in s["tradeoff"])
    settled = " / ".join(f"{100 * real:.1f}" for _, real in s["tradeoff"].values())
    other = f"clearing {shares} % of them settles {settled} % of the non-FFHQ real faces"
    return "\n".join(
        [
            CASCADE_START,
            f"**Cascade** (leave-one-source-out, {s['copies']:,} copies; both heads validated "
            f"on the same folds, rates at the full head's own thresholds on these copies). "
            f"Clearing bar {s['threshold_clear']:.4f} on the quick score: "
            f"{pct(s['may_clear'])} of the AI faces the full head flags (≥ weak) score below it. "
            f"AUC against the non-FFHQ real faces: quick stage {s['quick_auc_chatlike']:.3f}, "
            f"full head {s['full_auc_chatlike']:.3f}.",
            "",
            *rows,
            "",
            f"Other bars, by the share of the full head's AI flags below them: {other}.",
            CASCADE_END,
        ]
    )


def blocks() -> list[tuple[str, str, str]]:
    """Each rendered block of the card with its markers."""
    out = [(START, END, render(json.loads(REPORT.read_text())))]
    if QUICK_REPORT.is_file():
        quick = render_cascade(json.loads(QUICK_REPORT.read_text()))
        out.append((CASCADE_START, CASCADE_END, quick))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"update {DOC.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    doc = DOC.read_text()
    for start, end, text in blocks():
        if not args.write:
            print(text, end="\n\n")
            continue
        if start not in doc or end not in doc:
            print(f"{DOC}: no {start} … {end} block", file=sys.stderr)
            return 1
        head, rest = doc.split(start, 1)
        doc = head + text + rest.split(end, 1)[1]
    if args.write:
        DOC.write_text(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
