"""The vocabulary every check speaks: findings with a signal and a strength."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Signal(StrEnum):
    """What a finding is evidence of."""

    AI_GENERATED = "ai_generated"
    AI_EDITED = "ai_edited"
    CAMERA_CAPTURE = "camera_capture"
    EDITED = "edited"
    PRIVACY = "privacy"
    INFO = "info"


class Strength(StrEnum):
    """How much a finding should move the verdict (see docs/ARCHITECTURE.md)."""

    CONCLUSIVE = "conclusive"
    STRONG = "strong"
    MODERATE = "moderate"
    WEAK = "weak"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def weaker(self) -> Strength:
        """One step weaker (weak stays weak)."""
        return _BY_RANK[max(0, self.rank - 1)]


_RANK = {Strength.CONCLUSIVE: 3, Strength.STRONG: 2, Strength.MODERATE: 1, Strength.WEAK: 0}
_BY_RANK = {rank: strength for strength, rank in _RANK.items()}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One field and an excerpt of its value, already shortened for display."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    signal: Signal
    strength: Strength
    title: str
    evidence: tuple[Evidence, ...] = ()
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["signal"] = self.signal.value
        out["strength"] = self.strength.value
        out["evidence"] = [asdict(e) for e in self.evidence]
        return out


class CheckSkipped(Exception):
    """Raised by a check that could not look at this photo (the reason is shown to people)."""


class RunStatus(StrEnum):
    """How a check's run ended."""

    RAN = "ran"
    SKIPPED = "skipped"  # it could not look at this photo (CheckSkipped)
    FAILED = "failed"  # it broke or ran out of memory
    TIMEOUT = "timeout"  # it ran past its time budget


@dataclass(frozen=True, slots=True)
class CheckRun:
    """Whether a check ran, and if not, why: the basis of "what could not be checked"."""

    check: str
    status: RunStatus
    note: str = ""
    ms: float = 0.0


# Bidirectional embeddings, overrides and isolates, and the direction marks: text we echo
# must not reorder what follows it (a name like "photo<RLO>gpj.exe" reads "photoexe.jpg").
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_bidi(text: str) -> str:
    """`text` without bidirectional control characters (right-to-left letters stay)."""
    return BIDI_CONTROLS.sub("", text)


def excerpt(value: object, limit: int = 160) -> str:
    """A printable, single-line, bounded excerpt of any metadata value."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = " ".join(strip_bidi(str(value)).replace("\x00", "").split())
    text = "".join(ch for ch in text if ch.isprintable())
    return text if len(text) <= limit else text[: limit - 1] + "…"
