"""Guidance: the knowledge base, question answering and disclosure suggestions.

Public interface used by the core (bot.core.compose) and the CLI:

    guide = get_guide()
    guide.answer(question) -> Answer
    guide.passages_for(label, context, k=3) -> list[Passage]
    guide.disclosure(context, label, generator=None, edit_only=False) -> Disclosure
    CONTEXTS: tuple[str, ...]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

CONTEXTS = (
    "linkedin",
    "resume",
    "company-page",
    "dating",
    "newsletter",
    "conference",
    "chat-avatar",
    "government-id",
)


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str
    source: str  # the source document's title, cited in replies


@dataclass
class Answer:
    text: str
    passages: list[Passage] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    kind: str = "answer"  # answer | help | off_topic


@dataclass
class Disclosure:
    context: str
    caption: str = ""
    alt_text: str = ""
    bio_line: str = ""
    about: str = ""
    advice: str = ""  # e.g. "Do not use an AI image for a government ID."
    needed: bool = True


class Guide:
    """Placeholder until the knowledge base lands (issue 3)."""

    def answer(self, question: str) -> Answer:
        return Answer(
            text="I can't answer questions yet — that part is being built. "
            "Send me a photo (or a file path in the console) and I'll check it.",
            kind="help",
        )

    def passages_for(self, label: str, context: str | None, k: int = 3) -> list[Passage]:
        return []

    def disclosure(
        self, context: str, label: str, generator: str | None = None, edit_only: bool = False
    ) -> Disclosure:
        return Disclosure(context=context, needed=False)


@lru_cache(maxsize=1)
def get_guide() -> Guide:
    return Guide()
