"""Load and validate the knowledge base in config/guidance/ (passages, synonyms, settings)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.guidance.models import CONTEXTS, LABELS, OWN_SOURCE, Passage
from bot.settings import config_path

# The titles citations may use. The two documents are the project's sources; "Headshot Check"
# marks passages about the bot itself.
DOCUMENTS = ("Is it okay to use AI-generated headshots?", "To AI or Not to AI?")
SOURCES = (*DOCUMENTS, OWN_SOURCE)
KINDS = ("info", "context", "help", "scope")


class KnowledgeError(ValueError):
    """The knowledge base in config/guidance/ is malformed."""


@dataclass(frozen=True)
class Knowledge:
    passages: tuple[Passage, ...]
    synonyms: dict[str, str]
    settings: dict[str, Any]
    intents: dict[str, Any] = field(default_factory=dict)  # intents.toml

    def by_id(self, pid: str) -> Passage:
        for p in self.passages:
            if p.id == pid:
                return p
        raise KeyError(pid)

    def of_kind(self, kind: str) -> list[Passage]:
        return [p for p in self.passages if p.kind == kind]

    def context_passage(self, context: str) -> Passage | None:
        return next((p for p in self.passages if p.context == context), None)


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _passage(raw: dict[str, Any], where: str) -> Passage:
    missing = [k for k in ("id", "title", "text", "sources") if not raw.get(k)]
    if missing:
        raise KnowledgeError(f"{where}: passage {raw.get('id', '?')} lacks {missing}")
    sources = tuple(raw["sources"])
    kind = raw.get("kind", "context" if raw.get("context") else "info")
    passage = Passage(
        id=raw["id"],
        title=raw["title"],
        text=" ".join(raw["text"].split()),
        source=sources[0],
        sources=sources,
        tags=tuple(raw.get("tags", ())),
        keywords=raw.get("keywords", ""),
        contexts=tuple(raw.get("contexts", ("*",))),
        labels=tuple(raw.get("labels", ())),
        ask=raw.get("ask", ""),
        brief=" ".join(raw.get("brief", "").split()),
        kind=kind,
        context=raw.get("context"),
        weight=int(raw.get("weight", 0)),
        lead_for=tuple(raw.get("lead_for", ())),
    )
    _validate(passage, where)
    return passage


def _validate(p: Passage, where: str) -> None:
    problems = [f"unknown source {s!r}" for s in p.sources if s not in SOURCES]
    problems += [f"unknown context {c!r}" for c in p.contexts if c != "*" and c not in CONTEXTS]
    problems += [
        f"unknown label {label!r}" for label in (*p.labels, *p.lead_for) if label not in LABELS
    ]
    if p.kind not in KINDS:
        problems.append(f"unknown kind {p.kind!r}")
    if p.context is not None and p.context not in CONTEXTS:
        problems.append(f"unknown context {p.context!r}")
    if problems:
        raise KnowledgeError(f"{where}: passage {p.id}: " + ", ".join(problems))


def load_knowledge(directory: Path | None = None) -> Knowledge:
    root = directory or config_path("guidance")
    passages: list[Passage] = []
    for path in sorted((root / "passages").glob("*.toml")):
        passages += [_passage(raw, path.name) for raw in _read(path).get("passage", [])]
    ids = [p.id for p in passages]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise KnowledgeError(f"duplicate passage ids: {dupes}")
    return Knowledge(
        passages=tuple(passages),
        synonyms=_read(root / "synonyms.toml").get("replace", {}),
        settings=_read(root / "answering.toml"),
        intents=_read(root / "intents.toml"),
    )


@lru_cache(maxsize=1)
def get_knowledge() -> Knowledge:
    return load_knowledge()
