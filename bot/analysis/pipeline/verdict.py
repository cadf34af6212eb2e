"""Combine findings into one graded verdict, strongest evidence first, conflicts shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeGuard

from bot import messages
from bot.analysis.pipeline.findings import CheckRun, Finding, RunStatus, Signal, Strength


class Label(StrEnum):
    AI_GENERATED = "ai_generated"
    AI_EDITED = "ai_edited"
    CAMERA_EDITED = "camera_edited"
    CAMERA_CAPTURE = "camera_capture"
    NO_EVIDENCE = "no_evidence"

    @property
    def is_ai(self) -> bool:
        """Evidence of AI generation or AI editing: what audits flag and disclosure is for."""
        return self in AI_LABELS


AI_LABELS = frozenset({Label.AI_GENERATED, Label.AI_EDITED})


@dataclass
class Verdict:
    label: Label
    strength: Strength | None
    title: str
    headline: str
    emoji: str
    conflicts: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label.value,
            "strength": self.strength.value if self.strength else None,
            "title": self.title,
            "headline": self.headline,
            "conflicts": self.conflicts,
            "not_checked": self.not_checked,
            "review": self.review,
        }


def _wording() -> dict[str, Any]:
    return messages.table("verdicts")  # config/messages/verdicts.toml


def rank_findings(findings: list[Finding]) -> list[Finding]:
    """Strongest first; among equals, AI signals before camera signals before the rest."""
    order = {s: i for i, s in enumerate(Signal)}
    return sorted(findings, key=lambda f: (-f.strength.rank, order[f.signal]))


def _strongest(findings: list[Finding], signal: Signal) -> Strength | None:
    ranks = [f.strength for f in findings if f.signal == signal]
    return max(ranks, key=lambda s: s.rank) if ranks else None


def decide(
    findings: list[Finding], runs: list[CheckRun], notes: list[str] | None = None
) -> Verdict:
    gen = _strongest(findings, Signal.AI_GENERATED)
    edit_ai = _strongest(findings, Signal.AI_EDITED)
    camera = _strongest(findings, Signal.CAMERA_CAPTURE)
    edited = _strongest(findings, Signal.EDITED)

    def counts(s: Strength | None, floor: Strength) -> TypeGuard[Strength]:
        return s is not None and s.rank >= floor.rank

    if counts(gen, Strength.MODERATE) and not (
        counts(edit_ai, Strength.STRONG) and gen.rank < edit_ai.rank
    ):
        label, strength = Label.AI_GENERATED, gen
    elif counts(edit_ai, Strength.MODERATE):
        label, strength = Label.AI_EDITED, edit_ai
    elif counts(camera, Strength.MODERATE) and edited is not None:
        label, strength = Label.CAMERA_EDITED, camera
    elif counts(camera, Strength.MODERATE):
        label, strength = Label.CAMERA_CAPTURE, camera
    else:
        label, strength = Label.NO_EVIDENCE, None
    return _word(label, strength, findings, runs, notes or [])


def _word(
    label: Label,
    strength: Strength | None,
    findings: list[Finding],
    runs: list[CheckRun],
    notes: list[str],
) -> Verdict:
    text = _wording()["labels"][label.value]
    headline = text.get(strength.value if strength else "default") or text.get("default", "")
    verdict = Verdict(
        label=label, strength=strength, title=text["title"], headline=headline, emoji=text["emoji"]
    )
    verdict.conflicts = _conflicts(label, findings)
    not_run = (f"{r.check}: {r.note}" for r in runs if r.status != RunStatus.RAN)
    verdict.not_checked = [*notes, *not_run]
    # Where the file cannot settle it, a person's eyes can help: no evidence, or AI signals
    # that are only statistical.
    only_statistical = strength is not None and strength.rank <= Strength.MODERATE.rank
    if label == Label.NO_EVIDENCE or (label.is_ai and only_statistical):
        verdict.review = list(_wording()["review"]["checklist"])
    return verdict


def _conflicts(label: Label, findings: list[Finding]) -> list[str]:
    """Findings that point the other way from the verdict, so people see both sides."""
    ai_side = {Signal.AI_GENERATED, Signal.AI_EDITED}
    verdict_is_ai = label.is_ai
    out = []
    for f in rank_findings(findings):
        if f.strength == Strength.WEAK or f.signal not in ai_side | {Signal.CAMERA_CAPTURE}:
            continue
        if verdict_is_ai and f.signal == Signal.CAMERA_CAPTURE:
            out.append(f"{f.title} ({f.strength.value}) — points towards a camera photo.")
        elif not verdict_is_ai and label != Label.NO_EVIDENCE and f.signal in ai_side:
            out.append(f"{f.title} ({f.strength.value}) — points towards AI.")
    return out


def not_checked_note(key: str) -> str:
    return str(_wording()["not_checked"][key])
