"""Audit reports for moderators: a summary, a CSV and a self-contained HTML page.

Wording is careful: "signals of AI generation", never "fake user"; nothing here is a
judgement about a person, only about a picture."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, Template
from markupsafe import Markup

from bot.audit.runner import AuditReport, audit_wording, is_flagged, strength_rank


def label_words() -> dict[str, str]:
    """How each verdict label reads in reports ([labels] of the audit report's wording)."""
    words: dict[str, str] = audit_wording()["labels"]
    return words


# Verdicts from least to most worth a look (the table's sort order for the column).
VERDICT_ORDER = [
    "default_avatar",
    "camera_capture",
    "camera_edited",
    "no_evidence",
    "error",
    "ai_edited",
    "ai_generated",
]
GROUP_THUMBS = 60  # members shown per shared-avatar group; the table lists them all
CSV_FIELDS = [
    "member_id",
    "member_name",
    "verdict",
    "strength",
    "top_evidence",
    "pixel_score",
    "checked_at",
    "avatar_sha256",
    "duplicate_group",
    "error",
]


def summary_lines(report: AuditReport, min_strength: str = "moderate") -> list[str]:
    counts = report.counts()
    flagged = report.flagged(min_strength)
    lines = [
        f"{len(report.rows)} members checked in {report.elapsed_s:.0f} s"
        + (" (cancelled before the end)" if report.cancelled else "")
        + ".",
        f"{len(flagged)} avatars show {min_strength} or stronger signals of AI generation "
        "or editing.",
        f"{len(report.groups)} groups of members share the same or a near-identical avatar"
        + (f" (largest: {len(report.groups[0])} members)." if report.groups else "."),
    ]
    lines += [f"{label_words().get(k, k)}: {v}" for k, v in sorted(counts.items())]
    lines.append(
        "These are signals about pictures, not judgements about people: review before acting. "
        "Nothing was done to any member."
    )
    return lines


def to_csv(report: AuditReport) -> bytes:
    group_of = report.group_of()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_FIELDS)
    writer.writeheader()
    for r in report.rows:
        writer.writerow(
            {
                "member_id": r.member_id,
                "member_name": csv_safe(r.member_name),
                "verdict": label_words().get(r.label, r.label),
                "strength": r.strength or "",
                "top_evidence": csv_safe(r.evidence),
                "pixel_score": "" if r.score is None else f"{r.score:.4f}",
                "checked_at": _date(r.checked_at) if r.checked_at else "",
                "avatar_sha256": r.sha256 or "",
                "duplicate_group": group_of.get(r.member_id, ""),
                "error": r.error or "",
            }
        )
    return buf.getvalue().encode("utf-8")


def csv_safe(text: str) -> str:
    """Stop spreadsheet formula injection from member names and metadata."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_html(
    report: AuditReport, title: str, min_strength: str = "moderate", member_url: str | None = None
) -> bytes:
    """One self-contained page: every member in a sortable, filterable table (avatars with
    signals first), then the shared-avatar groups. `member_url` is a template such as
    "https://discord.com/users/{id}" (None: names are not links)."""
    words = audit_wording()["html"]
    rows = report_rows(report, min_strength, member_url)
    by_id = {r.member_id: r for r in rows}
    groups = [[by_id[m] for m in g if m in by_id] for g in report.groups]
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    page = _template().render(
        title=title,
        words=words,
        summary=summary_lines(report, min_strength),
        rows=rows,
        show_options=_show_options(rows),
        groups=groups,
        group_limit=GROUP_THUMBS,
        footer=words["footer"].format(date=_date(time.time())),
        script=Markup(script),
        script_hash=f"sha256-{digest}",
    )
    return page.encode("utf-8")


@dataclass(frozen=True)
class ReportRow:
    """One member as the HTML table shows it."""

    member_id: str
    name: str
    url: str | None
    label: str
    verdict: str
    strength: str | None
    reason: str
    score: float | None
    checked_at: float
    group: int | None
    flagged: bool
    thumb: str | None  # a data: URI

    @property
    def verdict_rank(self) -> int:
        return VERDICT_ORDER.index(self.label) if self.label in VERDICT_ORDER else 0

    @property
    def strength_rank(self) -> int:
        return strength_rank(self.strength)

    @property
    def score_value(self) -> float:
        return -1.0 if self.score is None else self.score

    @property
    def score_text(self) -> str:
        return "" if self.score is None else f"{score_points(self.score)}/100"

    @property
    def date(self) -> str:
        return _date(self.checked_at) if self.checked_at else ""

    @property
    def kinds(self) -> str:
        return " ".join(
            [self.label] + (["flagged"] if self.flagged else []) + (["group"] if self.group else [])
        )

    @property
    def css(self) -> str:
        return "flagged" if self.flagged else "error" if self.label == "error" else ""

    @property
    def no_thumb(self) -> str:
        return {"default_avatar": "default", "error": "not checked"}.get(self.label, "")

    @property
    def search_text(self) -> str:
        return " ".join((self.name, self.member_id, self.verdict, self.reason)).lower()


def report_rows(
    report: AuditReport, min_strength: str, member_url: str | None = None
) -> list[ReportRow]:
    """Every member, avatars with signals first (strongest, then highest pixel score), then
    shared avatars, then the ones that could not be checked, then the rest by name."""
    group_of = report.group_of()
    reasons = audit_wording()["reasons"]
    rows = [
        ReportRow(
            member_id=r.member_id,
            name=r.member_name,
            url=member_url.format(id=quote(r.member_id, safe="")) if member_url else None,
            label=r.label,
            verdict=label_words().get(r.label, r.label),
            strength=r.strength,
            reason=r.error or r.evidence or reasons.get(r.label, ""),
            score=r.score,
            checked_at=r.checked_at,
            group=group_of.get(r.member_id),
            flagged=is_flagged(r.label, r.strength, min_strength),
            thumb=_data_uri(report.thumbs.get(r.member_id)),
        )
        for r in report.rows
    ]

    def order(row: ReportRow) -> tuple[int, int, float, str, str]:
        tier = 0 if row.flagged else 1 if row.group else 2 if row.label == "error" else 3
        return (tier, -row.strength_rank, -row.score_value, row.name.lower(), row.member_id)

    return sorted(rows, key=order)


def score_points(score: float) -> int:
    """Whole points out of 100, rounded down (never up onto a threshold)."""
    return int(score * 100)


def _show_options(rows: list[ReportRow]) -> list[tuple[str, str]]:
    counts: dict[str, int] = {}
    for row in rows:
        for kind in row.kinds.split():
            counts[kind] = counts.get(kind, 0) + 1
    options = [("all", f"everyone ({len(rows)})")]
    if counts.get("flagged"):
        options.append(("flagged", f"avatars to review ({counts['flagged']})"))
    if counts.get("group"):
        options.append(("group", f"shared avatars ({counts['group']})"))
    options += [
        (label, f"{label_words()[label]} ({counts[label]})")
        for label in VERDICT_ORDER[::-1]
        if counts.get(label)
    ]
    return options


def _data_uri(jpeg: bytes | None) -> str | None:
    return f"data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}" if jpeg else None


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


@cache
def _template() -> Template:
    env = Environment(
        loader=PackageLoader("bot.audit", "templates"),
        autoescape=True,  # member names and metadata are hostile until proven otherwise
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html")


@cache
def _asset(name: str) -> str:
    return (files("bot.audit") / "templates" / name).read_text("utf-8")
