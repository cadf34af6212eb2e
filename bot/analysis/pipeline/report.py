"""The result of analysing one file: what we found, what ran, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.analysis.pipeline.findings import CheckRun, Finding, Signal
from bot.analysis.pipeline.verdict import Verdict


@dataclass
class Report:
    filename: str
    sha256: str
    size_bytes: int
    format: str = ""
    width: int = 0
    height: int = 0
    frames: int = 1
    # The metadata containers the file carries (exif, xmp, text, c2pa): a platform's note
    # that it removed metadata is shown only where that is true.
    metadata: tuple[str, ...] = ()
    findings: list[Finding] = field(default_factory=list)
    runs: list[CheckRun] = field(default_factory=list)
    verdict: Verdict | None = None
    error_code: str | None = None
    error: str | None = None
    annotated_png: bytes | None = None  # a picture explaining a check's findings, if one drew it
    annotated_by: str | None = None  # the check that drew it (its findings are what it explains)
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def privacy(self) -> list[Finding]:
        return [f for f in self.findings if f.signal == Signal.PRIVACY]

    @property
    def generator(self) -> str | None:
        """The generator family named by the strongest finding that names one."""
        for f in self.findings:
            if f.data.get("generator"):
                return str(f.data["generator"])
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "sha256": self.sha256,
            "bytes": self.size_bytes,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "ok": self.ok,
            "error": {"code": self.error_code, "message": self.error} if self.error_code else None,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "generator": self.generator,
            "findings": [f.to_dict() for f in self.findings],
            "checks": [
                {"check": r.check, "status": r.status, "note": r.note, "ms": round(r.ms, 2)}
                for r in self.runs
            ],
            "elapsed_ms": round(self.elapsed_ms, 2),
        }
