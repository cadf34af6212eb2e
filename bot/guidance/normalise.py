"""Text normalisation for retrieval: accents, synonyms, tokens, stems and spelling correction.

The same pipeline runs over passages and questions, so both sides use the same vocabulary."""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Set
from functools import lru_cache
from importlib import resources

_STOP_TEXT = """a an the and or but if of to in on at by for from with as is are was were be
been being
am do does did doing have has had having i me my mine we our us you your yours he she it its
they them their this that these those there here so than then too very just also only own
same other such into about over under again further once all any both each few more most some
no nor not can could would should will shall may might must s t d ll m re ve don doesn didn
isn aren wasn weren won wouldn shouldn couldn im ive id youre whats thats it's i'm what which
who whom whose when where why how up out off down still yet really actually please get got
gonna wanna kinda like lol well even much many one either neither right put whether because
though although"""
STOPWORDS = frozenset(_STOP_TEXT.split())

MAX_WORD = 24  # longer "words" are not spell-corrected: deletes grow fast with length
_TOKEN = re.compile(r"[a-z0-9$]+(?:'[a-z]+)?")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_DOUBLE = re.compile(r"([b-df-hj-km-np-rt-y])\1$")


_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!e\.g\.)(?<!i\.e\.)(?<!etc\.)\s+")


def sentences(text: str) -> list[str]:
    """Split at sentence ends, not after "e.g." / "i.e." / "etc."."""
    return [s for s in _SENTENCE_END.split(text) if s]


def fold(text: str) -> str:
    """Lower-case, unify quotes and dashes, remove accents (résumé -> resume)."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES).lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def plain(text: str) -> str:
    """Folded words only: how whole messages are compared ("Thanks!!" == "thanks")."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def stem(token: str) -> str:
    """A deliberately light stemmer: plurals, -ing, -ed, a final e, doubled consonants."""
    t = token
    if len(t) > 4 and t.endswith("ies"):
        t = t[:-3] + "y"
    elif len(t) > 5 and t.endswith("ing"):
        t = t[:-3]
    elif len(t) > 4 and t.endswith("ed"):
        t = t[:-2]
    elif len(t) > 3 and t.endswith("s") and not t.endswith(("ss", "us", "is")):
        t = t[:-1]
    if len(t) > 3 and t.endswith("e"):
        t = t[:-1]
    if len(t) > 3 and _DOUBLE.search(t):
        t = t[:-1]
    return t


def raw_tokens(text: str) -> list[str]:
    return [t.replace("'", "") for t in _TOKEN.findall(text)]


class Synonyms:
    """Whole-word phrase replacement, longest key first, in a single pass (no re-replacing)."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = {fold(k): fold(v) for k, v in table.items()}
        keys = sorted(self.table, key=len, reverse=True)
        alternation = "|".join(re.escape(k) for k in keys) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<![\w$])(?:{alternation})(?![\w])")

    def apply(self, text: str) -> str:
        return self._pattern.sub(lambda m: self.table[m.group(0)], text)

    def words(self) -> set[str]:
        return {w for k in self.table for w in raw_tokens(k)}


@lru_cache(maxsize=2)
def english_words(min_count: int) -> frozenset[str]:
    """Everyday English words of 5+ letters, from the word-frequency list that ships inside
    pyspellchecker (read from the installed package; nothing is downloaded). Empty when the
    package is missing, so the speller then falls back to correcting every unknown word."""
    try:
        source = resources.files("spellchecker").joinpath("resources/en.json.gz")
        with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
            counts = json.load(fh)
    except (ModuleNotFoundError, FileNotFoundError, OSError, ValueError):
        return frozenset()
    return frozenset(w for w, n in counts.items() if n >= min_count and len(w) >= 5)


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _deletes(word: str, depth: int) -> set[str]:
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


class SpellFixer:
    """Symmetric-delete spelling correction (the SymSpell idea) over a known vocabulary.

    Only unknown words of 5+ letters are corrected, and only to words with the same first
    letter (people rarely mistype it); ties go to the more frequent word. Shorter words are
    left alone: too many real words sit one edit apart ("last" / "list")."""

    def __init__(
        self, counts: Mapping[str, int], max_edits: int = 2, words: Set[str] = frozenset()
    ) -> None:
        self.counts = dict(counts)
        self.words = words  # real English words: never "typos", even if the KB lacks them
        self.max_edits = max_edits
        self._index: dict[str, set[str]] = {}
        for word in self.counts:
            if len(word) >= 3:
                for d in _deletes(word, self._depth(word)):
                    self._index.setdefault(d, set()).add(word)

    def _depth(self, word: str) -> int:
        return 1 if len(word) < 7 else self.max_edits

    def fix(self, word: str) -> str:
        if word in self.counts or not 5 <= len(word) <= MAX_WORD or word.isdigit():
            return word
        if word in self.words:  # "singer" is not a typo for "signer"
            return word
        depth = self._depth(word)
        candidates: set[str] = set()
        for d in _deletes(word, depth):
            candidates |= self._index.get(d, set())
        scored = [
            (dist, -self.counts[c], c)
            for c in candidates
            if c[0] == word[0] and (dist := _edit_distance(word, c)) <= depth
        ]
        return min(scored)[2] if scored else word


def analyse(
    text: str, synonyms: Synonyms, speller: SpellFixer | None = None, keep_stop: bool = False
) -> list[str]:
    """Question or passage text -> stemmed tokens, after synonyms and spelling fixes.

    Synonyms run first (they know punctuation such as "a.i." or "$300"); a word the speller
    corrects goes through the synonym table once more ("tindr" -> "tinder" -> "dating app")."""
    words: list[str] = []
    for tok in raw_tokens(synonyms.apply(fold(text))):
        fixed = speller.fix(tok) if speller is not None and tok not in STOPWORDS else tok
        words.extend(raw_tokens(synonyms.apply(fixed)) if fixed != tok else [tok])
    return [stem(t) for t in words if keep_stop or t not in STOPWORDS]


def char_ngrams(tokens: Iterable[str], n_min: int, n_max: int) -> list[str]:
    """Character n-grams inside word boundaries (like scikit-learn's char_wb analyser)."""
    grams: list[str] = []
    for tok in tokens:
        padded = f" {tok} "
        for n in range(n_min, n_max + 1):
            grams.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return grams
