"""Measure retrieval on the question set: `python -m bot.guidance.evaluate [questions.toml]`.

Prints top-1 / top-3 accuracy and mean per-query time for each method, with and without the
synonym + spelling layer, and lists the misses of the configured method."""

from __future__ import annotations

import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.guidance.answering import Answerer
from bot.guidance.knowledge import Knowledge, get_knowledge
from bot.guidance.retrieval import METHODS, Retriever
from bot.settings import ROOT

DEFAULT_SET = ROOT / "tests" / "data" / "guidance_questions.toml"


@dataclass
class Score:
    method: str
    layer: bool
    top1: float
    top3: float
    ms: float
    misses: list[tuple[str, list[str], list[str]]]


def load_questions(path: Path = DEFAULT_SET) -> list[dict]:
    with path.open("rb") as fh:
        return tomllib.load(fh)["q"]


def evaluate(
    questions: list[dict], kb: Knowledge, method: str | None = None, layer: bool = True
) -> Score:
    retriever = Retriever(kb.passages, kb.synonyms, kb.settings, layer, layer)
    answerer = Answerer(kb, retriever)
    hit1 = hit3 = 0
    misses = []
    start = time.perf_counter()
    for q in questions:
        got = [p.id for p in answerer.rank(q["text"], k=3, method=method)]
        hit1 += got[:1] and got[0] in q["expect"]
        hit3 += any(g in q["expect"] for g in got[:3])
        if not got or got[0] not in q["expect"]:
            misses.append((q["text"], q["expect"], got))
    ms = (time.perf_counter() - start) * 1000 / len(questions)
    n = len(questions)
    name = method or retriever.method
    return Score(name, layer, hit1 / n, hit3 / n, ms, misses)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    questions = load_questions(Path(args[0]) if args else DEFAULT_SET)
    kb = get_knowledge()
    print(f"{len(questions)} questions, {len(kb.passages)} passages")
    print("| method | synonyms + spelling | top-1 | top-3 | ms/query |")
    print("| --- | --- | --- | --- | --- |")
    for layer in (False, True):
        for method in METHODS:
            s = evaluate(questions, kb, method, layer)
            yes = "yes" if layer else "no"
            print(f"| {method} | {yes} | {s.top1:.1%} | {s.top3:.1%} | {s.ms:.2f} |")
    best = evaluate(questions, kb)
    for text, expect, got in best.misses:
        print(f"MISS {text!r}: expected {expect}, got {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
