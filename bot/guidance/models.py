"""Data types shared by the guidance modules (re-exported by bot.guidance)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import messages
from bot.analysis.pipeline.verdict import Label
from bot.guidance.contexts import CONTEXTS

__all__ = ["CONTEXTS", "LABELS", "OWN_SOURCE", "Answer", "Disclosure", "Passage"]

# Passages about the bot itself name it as their source; replies cite only the documents.
OWN_SOURCE = "Headshot Check"
# The verdict labels passages may be written for (`labels`, `lead_for` in the passages).
LABELS: tuple[Label, ...] = tuple(Label)


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str
    source: str  # the first source document's title, cited in replies
    sources: tuple[str, ...] = ()  # every document the passage draws on
    tags: tuple[str, ...] = ()
    keywords: str = ""  # paraphrases for retrieval only, never shown
    contexts: tuple[str, ...] = ("*",)
    labels: tuple[str, ...] = ()
    ask: str = ""  # a question this passage answers, offered as a follow-up
    brief: str = ""  # optional short form (<= 280 chars) shown under a verdict
    kind: str = "info"  # info | context | help | scope
    context: str | None = None  # for kind == "context": which context it advises on
    weight: int = 0  # order among passages that fit a verdict equally well
    lead_for: tuple[str, ...] = ()  # verdict labels for which this passage is shown first

    def cite(self) -> str:
        return cite(self.sources or (self.source,))


@dataclass
class Answer:
    text: str
    passages: list[Passage] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    kind: str = "answer"  # answer | help | off_topic
    context: str | None = None  # set when the question was about one context
    sources: list[str] = field(default_factory=list)  # titles of every document cited
    intent: str = ""  # spot | use | disclose | legal | bot | smalltalk | off_topic

    def cite(self) -> str:
        return cite(self.sources)


@dataclass
class Disclosure:
    context: str
    caption: str = ""
    alt_text: str = ""
    bio_line: str = ""
    about: str = ""
    advice: str = ""  # e.g. "Do not use an AI image for a government ID."
    optional: list[str] = field(default_factory=list)  # lines only the person can vouch for
    needed: bool = True
    privacy: list[str] = field(default_factory=list)  # notes when GPS or serials were found


def cited(titles: tuple[str, ...] | list[str]) -> list[str]:
    """The source documents among `titles` (the bot's own passages cite nothing)."""
    return [t for t in titles if t != OWN_SOURCE]


def cite(titles: tuple[str, ...] | list[str]) -> str:
    docs = cited(titles)
    word = messages.text("replies.answer.source" if len(docs) == 1 else "replies.answer.sources")
    return f"{word}: " + "; ".join(f"'{t}'" for t in docs) if docs else ""
