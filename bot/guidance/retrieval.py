"""Lexical retrieval over the passages: BM25, TF-IDF on words, TF-IDF on character n-grams,
and the hybrid the answerer uses (BM25 + character n-grams). NumPy only, built in ~50 ms.

All methods see the same analysed text (synonyms, spelling fixes, light stemming), so the
comparison in bot.guidance.evaluate measures the scoring, not the preprocessing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.guidance.models import Passage
from bot.guidance.normalise import (
    STOPWORDS,
    SpellFixer,
    Synonyms,
    analyse,
    char_ngrams,
    english_words,
    fold,
    raw_tokens,
    stem,
)

METHODS = ("bm25", "tfidf_words", "tfidf_chars", "hybrid")


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


@dataclass(frozen=True)
class Search:
    hits: list[Hit]
    lexical: float  # best raw BM25 score: how much the question overlaps the knowledge base
    domain_words: int  # question words that are topic words of some passage
    contexts: tuple[str, ...] = ()  # contexts the question names (LinkedIn, CV, passport ...)


def _matrix(docs: Sequence[Iterable[str]]) -> tuple[dict[str, int], np.ndarray]:
    counts = [Counter(d) for d in docs]
    vocab = {t: i for i, t in enumerate(sorted({t for c in counts for t in c}))}
    tf = np.zeros((len(docs), len(vocab)), dtype=np.float64)
    for row, c in enumerate(counts):
        for term, n in c.items():
            tf[row, vocab[term]] = n
    return vocab, tf


def _vector(
    terms: Iterable[str], vocab: dict[str, int], weights: dict[str, float] | None = None
) -> np.ndarray:
    v = np.zeros(len(vocab))
    for t in terms:
        if (i := vocab.get(t)) is not None:
            v[i] += weights.get(t, 1.0) if weights else 1.0
    return v


class _Tfidf:
    """Sublinear TF-IDF with L2-normalised rows; scores are cosine similarities."""

    def __init__(self, docs: Sequence[list[str]]) -> None:
        self.vocab, tf = _matrix(docs)
        df = (tf > 0).sum(axis=0)
        self.idf = np.log((1 + len(docs)) / (1 + df)) + 1
        self.rows = self._weigh(tf)

    def _weigh(self, tf: np.ndarray) -> np.ndarray:
        w = np.where(tf > 0, 1 + np.log(np.maximum(tf, 1)), 0) * self.idf
        norms = np.linalg.norm(w, axis=-1, keepdims=True)
        weighed: np.ndarray = w / np.where(norms == 0, 1, norms)
        return weighed

    def scores(self, terms: list[str]) -> np.ndarray:
        found: np.ndarray = self.rows @ self._weigh(_vector(terms, self.vocab)[None, :])[0]
        return found


class _BM25:
    def __init__(
        self, docs: Sequence[list[str]], k1: float, b: float, weights: dict[str, float]
    ) -> None:
        self.weights = weights  # query-term weights: the domain's everyday words count less
        self.vocab, self.tf = _matrix(docs)
        n = len(docs)
        df = (self.tf > 0).sum(axis=0)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        lengths = self.tf.sum(axis=1)
        self.norm = k1 * (1 - b + b * lengths / lengths.mean())
        self.k1 = k1

    def scores(self, terms: list[str], weighted: bool = True) -> np.ndarray:
        q = _vector(terms, self.vocab, self.weights if weighted else None)
        sat = self.tf * (self.k1 + 1) / (self.tf + self.norm[:, None])
        found: np.ndarray = sat @ (self.idf * q)
        return found


class Retriever:
    def __init__(
        self,
        passages: Sequence[Passage],
        synonyms: dict[str, str],
        settings: dict[str, Any],
        use_synonyms: bool = True,
        use_speller: bool = True,
    ) -> None:
        cfg = settings["retrieval"]
        self.cfg = cfg
        self.method = cfg["method"]
        self.passages = [p for p in passages if p.kind != "scope"]
        self.synonyms = Synonyms(synonyms if use_synonyms else {})
        texts = [self._document(p, int(cfg["title_repeat"])) for p in self.passages]
        self.speller = self._speller(texts) if use_speller else None
        docs = [analyse(t, self.synonyms) for t in texts]
        self.n_range = (int(cfg["ngram_min"]), int(cfg["ngram_max"]))
        common = float(cfg.get("common_weight", 1.0))
        weights = {t: common for w in cfg.get("common_terms", []) for t in analyse(w, Synonyms({}))}
        self.bm25 = _BM25(docs, float(cfg["k1"]), float(cfg["b"]), weights)
        self.words = _Tfidf(docs)
        self.chars = _Tfidf([char_ngrams(d, *self.n_range) for d in docs])
        self.domain = self._domain(settings.get("off_topic", {}).get("generic", []))
        self.context_boost = float(settings.get("context", {}).get("boost", 0.0))
        self.other_context_weight = float(settings.get("context", {}).get("other_weight", 1.0))
        self.unnamed_context_weight = float(settings.get("context", {}).get("unnamed_weight", 1.0))
        self.triggers = self._triggers(settings.get("context", {}).get("triggers", {}))

    @staticmethod
    def _document(p: Passage, repeat: int) -> str:
        topic = " ".join([p.title, *p.tags, p.keywords])
        if p.kind == "help":  # its text mentions every topic; match it on its keywords only
            return " ".join([topic] * repeat)
        return " ".join([topic] * repeat + [p.ask, p.text])

    def _speller(self, texts: list[str]) -> SpellFixer:
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(raw_tokens(fold(t)))
        counts.update(self.synonyms.words())
        counts.update(raw_tokens(" ".join(self.synonyms.table)))
        # Never "correct" a word into a function word: "weather" is not a typo for "whether".
        for word in STOPWORDS:
            counts.pop(word, None)
        min_count = int(self.cfg.get("english_min_count", 0))
        words = english_words(min_count) if min_count > 0 else frozenset()
        return SpellFixer(counts, int(self.cfg["typo_max_edits"]), words)

    def _domain(self, generic: list[str]) -> set[str]:
        """Topic words: what passages' titles, tags and keywords are about, minus generic ones."""
        skip = {stem(fold(g)) for g in generic}
        words: set[str] = set()
        for p in self.passages:
            words |= set(analyse(" ".join([p.title, *p.tags, p.keywords]), self.synonyms))
        return words - skip

    def _triggers(self, table: dict[str, list[str]]) -> dict[str, list[tuple[str, ...]]]:
        """Each context's naming phrases, analysed like a question ("cv" -> ("resum",))."""
        return {
            ctx: [tuple(analyse(phrase, self.synonyms)) for phrase in phrases]
            for ctx, phrases in table.items()
        }

    def named_contexts(self, terms: list[str]) -> tuple[str, ...]:
        """Contexts the question names, in the order of the trigger table."""
        grams = {tuple(terms[i : i + n]) for n in (1, 2, 3) for i in range(len(terms))}
        return tuple(c for c, phrases in self.triggers.items() if any(p in grams for p in phrases))

    def _weigh_contexts(self, scores: np.ndarray, named: tuple[str, ...]) -> np.ndarray:
        """Context advice fits only the contexts a question names. Named: that context's
        passage may get a bonus (a share of the best score) and other contexts' advice counts
        less ("LinkedIn for a job search" is not a CV question). None named: all context
        advice counts a little less, so a short context passage does not win on everyday
        words ("looks", "headshot") alone."""
        weights = np.ones_like(scores)
        bonus = np.zeros_like(scores)
        for i, p in enumerate(self.passages):
            if p.kind != "context":
                continue
            if not named:
                weights[i] = self.unnamed_context_weight
            elif p.context in named:
                bonus[i] = self.context_boost * float(scores.max())
            else:
                weights[i] = self.other_context_weight
        weighted: np.ndarray = scores * weights + bonus
        return weighted

    def terms(self, question: str) -> list[str]:
        return analyse(question, self.synonyms, self.speller)

    def scores(self, terms: list[str], method: str | None = None) -> np.ndarray:
        method = method or self.method
        if method == "bm25":
            return self.bm25.scores(terms)
        if method == "tfidf_words":
            return self.words.scores(terms)
        chars = self.chars.scores(char_ngrams(terms, *self.n_range))
        if method == "tfidf_chars":
            return chars
        if method != "hybrid":
            raise ValueError(f"unknown retrieval method {method!r}")
        lexical = self.bm25.scores(terms)
        w = float(self.cfg["char_weight"])
        return (1 - w) * _unit(lexical) + w * _unit(chars)

    def search(
        self,
        question: str,
        k: int = 3,
        method: str | None = None,
        weigh: Callable[[Passage], float] | None = None,
    ) -> Search:
        """The k best passages; `weigh` scales each passage's score (the asked intent's
        passages count fully, others less)."""
        terms = self.terms(question)
        named = self.named_contexts(terms)
        scores = self._weigh_contexts(self.scores(terms, method), named)
        if weigh is not None:
            scores = scores * np.array([weigh(p) for p in self.passages])
        order = np.argsort(-scores, kind="stable")[:k]
        hits = [Hit(self.passages[i], float(scores[i])) for i in order if scores[i] > 0]
        # Off-topic test: plain BM25, so a question made only of everyday domain words
        # ("what even is an AI headshot") still counts as on topic.
        lexical = float(self.bm25.scores(terms, weighted=False).max()) if terms else 0.0
        return Search(hits, lexical, sum(t in self.domain for t in terms), named)


def _unit(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if x.size else 0.0
    return x / top if top > 0 else x
