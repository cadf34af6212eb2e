"""What the audit needs from one avatar, computed in a worker process."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import imagehash
from PIL import Image

from bot.analysis.pipeline.findings import Signal
from bot.analysis.pipeline.report import Report
from bot.analysis.pipeline.run import analyze

THUMB_SIDE = 96
EVIDENCE_CHARS = 240
# The findings an audit row quotes as its evidence: what the picture is, not side notes.
_EVIDENCE_SIGNALS = frozenset({Signal.AI_GENERATED, Signal.AI_EDITED, Signal.CAMERA_CAPTURE})


@dataclass(frozen=True)
class AvatarResult:
    sha256: str
    phash: str | None
    label: str
    strength: str | None
    evidence: str
    error: str | None
    thumb_jpeg: bytes | None = None
    score: float | None = None  # the pixel detector's calibrated 0-1 score, when it ran

    def summary(self) -> dict[str, Any]:
        """What is cached by content hash (never the picture)."""
        return {
            "label": self.label,
            "strength": self.strength,
            "evidence": self.evidence,
            "error": self.error,
            "score": self.score,
        }


def analyze_avatar(
    data: bytes, filename: str = "avatar", sha256: str | None = None
) -> AvatarResult:
    report = analyze(data, filename, annotate=False, sha256=sha256)  # never shown in audits
    if not report.ok:
        return AvatarResult(report.sha256, None, "error", None, "", report.error)
    phash, thumb = hash_and_thumb(data)
    return AvatarResult(
        report.sha256,
        phash,
        report.verdict.label.value if report.verdict else "no_evidence",
        report.verdict.strength.value if report.verdict and report.verdict.strength else None,
        top_evidence(report),
        None,
        thumb,
        pixel_score(report),
    )


def pixel_score(report: Report) -> float | None:
    for f in report.findings:
        if f.check == "pixels" and isinstance(f.data.get("score"), int | float):
            return float(f.data["score"])
    return None


def top_evidence(report: Report) -> str:
    for f in report.findings:
        if f.signal in _EVIDENCE_SIGNALS:
            ev = "; ".join(f"{e.field}: {e.value}" for e in f.evidence[:1])
            return whole_words(f"{f.title} ({f.strength.value})" + (f" — {ev}" if ev else ""))
    return ""


def whole_words(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """At most `limit` characters, ending on a whole word: metadata excerpts arrive cut at a
    fixed length ("…"), and half a word in a report reads like a different word."""
    cut = text.endswith("…") or len(text) > limit
    if not cut:
        return text
    head = text.removesuffix("…")[:limit]
    if " " in head:
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,;:—-") + "…"


def hash_and_thumb(data: bytes) -> tuple[str | None, bytes | None]:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(0)
            rgb = im.convert("RGB")
        phash = str(imagehash.phash(rgb))
        rgb.thumbnail((THUMB_SIDE, THUMB_SIDE))
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=80)
        return phash, buf.getvalue()
    except Exception:
        return None, None
