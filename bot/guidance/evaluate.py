"""Measure retrieval on the question set: `python -m bot.guidance.evaluate [questions.toml]`.

Prints top-1 / top-3 accuracy and mean per-query time for each method, with and without the
synonym + spelling layer, and lists the misses of the configured method. For sets whose
questions carry an `intent` (tests/data/guidance_blind3.toml) it also scores whole answers:
intent, top-1 / top-3 on the passages the answer used, and whether the answer text covers
each key point (`points`: lists of alternative phrases) or, for small talk, stays short."""

from __future__ import annotations

import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.guidance import Guide, get_guide
from bot.guidance.answering import Answerer
from bot.guidance.knowledge import Knowledge, get_knowledge
from bot.guidance.models import Answer
from bot.guidance.normalise import fold
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


def load_questions(path: Path = DEFAULT_SET) -> list[dict[str, Any]]:
    with path.open("rb") as fh:
        questions: list[dict[str, Any]] = tomllib.load(fh)["q"]
    return questions


def evaluate(
    questions: list[dict[str, Any]], kb: Knowledge, method: str | None = None, layer: bool = True
) -> Score:
    retriever = Retriever(kb.passages, kb.synonyms, kb.settings, layer, layer)
    answerer = Answerer(kb, retriever)
    hit1 = hit3 = 0
    misses = []
    start = time.perf_counter()
    for q in questions:
        got = [p.id for p in answerer.rank(q["text"], k=3, method=method)]
        hit1 += bool(got) and got[0] in q["expect"]
        hit3 += any(g in q["expect"] for g in got[:3])
        if not got or got[0] not in q["expect"]:
            misses.append((q["text"], q["expect"], got))
    ms = (time.perf_counter() - start) * 1000 / len(questions)
    n = len(questions)
    name = method or retriever.method
    return Score(name, layer, hit1 / n, hit3 / n, ms, misses)


@dataclass
class AnswerScore:
    n: int
    intent: float  # share of questions whose detected intent is the expected one
    top1: float  # over questions that expect passages: the answer's lead passage
    top3: float  # ... or any of the answer's passages and the next-ranked ones
    covered: float  # answers covering every key point (small talk: short enough)
    ms: float
    misses: list[str]
    languages: dict[str, tuple[int, float]]  # language -> (questions, share fully right)


def covers(text: str, points: list[list[str]]) -> bool:
    """Every key point has at least one of its phrases in the answer (case, accents ignored)."""
    folded = fold(text)
    return all(any(fold(alt) in folded for alt in point) for point in points)


def _intent_of(answer: Answer) -> str:
    return answer.intent or {"off_topic": "off_topic", "help": "smalltalk"}.get(answer.kind, "")


def evaluate_answers(questions: list[dict[str, Any]], guide: Guide) -> AnswerScore:
    intent = hit1 = hit3 = covered = 0
    with_passages = [q for q in questions if q.get("expect")]
    misses: list[str] = []
    right: dict[str, list[bool]] = {}
    start = time.perf_counter()
    for q in questions:
        answer = guide.answer(q["text"])
        got = [p.id for p in answer.passages]
        ranked = got + [p.id for p in guide.answerer.rank(q["text"], k=3) if p.id not in got]
        ok_intent = _intent_of(answer) == q["intent"]
        if q.get("expect"):
            hit1 += bool(got) and got[0] in q["expect"]
            hit3 += any(g in q["expect"] for g in ranked[:3])
        if "max_chars" in q:
            ok_text = ok_intent and len(answer.text) <= int(q["max_chars"])
        else:
            ok_text = covers(answer.text, q.get("points", []))
            ok_text = ok_text and (bool(q.get("expect")) or ok_intent)
        intent += ok_intent
        covered += ok_text
        wrong_lead = bool(q.get("expect")) and (not got or got[0] not in q["expect"])
        if not ok_intent or not ok_text or wrong_lead:
            misses.append(f"{q['text']!r} [{q['intent']}] -> {_intent_of(answer)} {got}")
        right.setdefault(q.get("lang", "en"), []).append(ok_intent and ok_text and not wrong_lead)
    ms = (time.perf_counter() - start) * 1000 / len(questions)
    m = max(len(with_passages), 1)
    n = len(questions)
    languages = {lang: (len(oks), sum(oks) / len(oks)) for lang, oks in right.items()}
    return AnswerScore(n, intent / n, hit1 / m, hit3 / m, covered / n, ms, misses, languages)


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
    if all("intent" in q for q in questions):
        a = evaluate_answers(questions, get_guide())
        print(
            f"answers: intent {a.intent:.1%}, top-1 {a.top1:.1%}, top-3 {a.top3:.1%}, "
            f"key points covered {a.covered:.1%}, {a.ms:.1f} ms/question"
        )
        print(
            "fully right (intent, lead passage, key points) by language: "
            + ", ".join(f"{lang} {r:.0%} of {n}" for lang, (n, r) in sorted(a.languages.items()))
        )
        for miss in a.misses:
            print(f"ANSWER MISS {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
