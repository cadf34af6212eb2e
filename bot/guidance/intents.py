"""What a message asks, decided before retrieval: small talk, the language it is in, and its
intent (spot someone's AI photo, use one's own, disclose, rules and law, how the bot works).
Every rule, word and reply lives in config/guidance/intents.toml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.guidance.normalise import Synonyms, fold, plain

_CLAUSES = re.compile(r"[.!?;]\s+|,\s*(?:so|but|and)\s+")
_SMALLTALK_CLAUSES = re.compile(r"[,.;!?]+|\s+-\s+")
INTENTS = ("spot", "use", "disclose", "legal", "bot")  # as in config/guidance/intents.toml
_MARKER_TOKEN = re.compile(r"¿|¡|[^\W\d_]+(?:['-][^\W\d_]+)*'?", re.UNICODE)


@dataclass(frozen=True)
class Reading:
    """A message as the answerer reads it."""

    text: str  # the question in the knowledge base's English (translated when needed)
    language: str = "en"  # en | es | fr | de | pt
    intent: str = ""  # one of INTENTS, or "" when no rule fired
    demoted: frozenset[str] = frozenset()  # passages that count less for this question
    smalltalk: str = ""  # key of [smalltalk.*] when the whole message is small talk


class IntentReader:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.order: list[str] = list(cfg["detect"]["order"])
        self.other_weight = {n: float(spec["other_weight"]) for n, spec in cfg["intent"].items()}
        self.rules = {
            name: (
                [re.compile(p) for p in spec.get("strong", [])],
                [re.compile(p) for p in spec.get("patterns", [])],
            )
            for name, spec in cfg["intent"].items()
        }
        self.passages = {name: set(spec["passages"]) for name, spec in cfg["intent"].items()}
        self.demote = {
            name: (
                frozenset(spec.get("demote", [])),
                [re.compile(p) for p in spec.get("demote_when", [])],
                float(spec.get("demote_weight", 1.0)),
            )
            for name, spec in cfg["intent"].items()
        }
        intents = cfg["intent"].items()
        self.home = {pid: name for name, spec in intents for pid in spec.get("home", [])}
        self.fillers = set(cfg["smalltalk_fillers"]["words"])
        self.smalltalk = {
            plain(phrase): key
            for key, spec in cfg["smalltalk"].items()
            for phrase in spec["phrases"]
        }
        langs = {k: v for k, v in cfg["languages"].items() if isinstance(v, dict)}
        self.markers = {code: set(spec["markers"]) for code, spec in langs.items()}
        self.language_names = {code: str(spec["name"]) for code, spec in langs.items()}
        self.translator = Synonyms(cfg.get("translate", {}))

    def read(self, message: str) -> Reading:
        if key := self._smalltalk(message):
            return Reading(message, smalltalk=key)
        language = self.language(message)
        text = self.translator.apply(fold(message)) if language != "en" else message
        intent = self.intent(text)
        return Reading(text, language, intent, demoted=self._demoted(intent, text))

    def _demoted(self, intent: str, text: str) -> frozenset[str]:
        passages, when, _ = self.demote.get(intent or "use", (frozenset(), [], 1.0))
        folded = fold(text)
        return passages if any(p.search(folded) for p in when) else frozenset()

    def _smalltalk(self, message: str) -> str:
        """The small-talk key when every clause of the message is small talk ("thank you
        so much, that helped a lot"), else ""."""
        clauses = [c for c in _SMALLTALK_CLAUSES.split(message) if plain(c)]
        keys = [self.smalltalk.get(self._unfilled(c)) for c in clauses]
        return keys[0] or "" if keys and all(keys) else ""

    def _unfilled(self, message: str) -> str:
        words = plain(message).split()
        while words and words[-1] in self.fillers:
            words.pop()
        while words and words[0] in self.fillers:
            words.pop(0)
        return " ".join(words)

    def language(self, message: str) -> str:
        """The language with the most marker words (at least `min_markers`), else English."""
        tokens = _MARKER_TOKEN.findall(message.lower())
        counts = {code: sum(t in words for t in tokens) for code, words in self.markers.items()}
        best = max(counts, key=lambda c: counts[c], default="en")
        return best if counts.get(best, 0) >= int(self.cfg["languages"]["min_markers"]) else "en"

    def intent(self, text: str) -> str:
        folded = fold(text)
        scores = {
            name: 2 * sum(bool(p.search(folded)) for p in strong)
            + sum(bool(p.search(folded)) for p in weak)
            for name, (strong, weak) in self.rules.items()
        }
        best = max(self.order, key=lambda name: (scores.get(name, 0), -self.order.index(name)))
        return best if scores.get(best, 0) > 0 else ""

    def intent_of_passage(self, passage_id: str) -> str:
        """The intent a passage answers when no rule fired: its `home`, else "use"."""
        return str(self.home.get(passage_id, "use"))

    def weight(self, reading: Reading, passage_id: str) -> float:
        intent = reading.intent
        if passage_id in reading.demoted:
            return self.demote[intent or "use"][2]
        if not intent:
            return 1.0
        if passage_id in self.passages.get(intent, ()):
            return 1.0
        return self.other_weight.get(intent, 1.0)

    def expanded(self, reading: Reading) -> str:
        """The text to search: the question, its last clause again when the message is long
        (the asking part of a rambling message), and its intent's words ("spot tell signs")."""
        parts = [reading.text]
        if len(reading.text) > int(self.cfg["detect"]["long_message_chars"]):
            parts.append(_CLAUSES.split(reading.text.strip(" ?!."))[-1])
        parts.append(self.cfg["intent"].get(reading.intent, {}).get("expand", ""))
        return " ".join(p for p in parts if p)

    def note(self, language: str) -> str:
        if language == "en":
            return ""
        name = self.language_names.get(language, language)
        return str(self.cfg["languages"]["note"]).format(language=name)

    def smalltalk_reply(self, key: str) -> str:
        return str(self.cfg["smalltalk"][key]["reply"])

    def todo(self, intent: str, answer_text: str) -> str:
        """The intent's "what to do" line, unless the answer already says it."""
        spec = self.cfg.get("todo", {}).get(intent)
        if not spec:
            return ""
        folded = fold(answer_text)
        return "" if any(fold(w) in folded for w in spec.get("unless", [])) else str(spec["text"])
