"""Turn analysis reports and guidance into platform-neutral replies.

Replies hold plain text only; renderers escape it for their platform, so user-controlled
text (file names, prompts inside metadata) can never inject markup or mentions."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from bot.analysis.findings import Finding, Signal
from bot.analysis.report import Report
from bot.core.reply import Action, Attachment, Reply, Section
from bot.guidance import Answer, Disclosure, Guide, Passage
from bot.guidance.contexts import context_label  # also compose.context_label for callers
from bot.settings import load_toml

EVIDENCE_SHOWN = 3
PASSAGES_SHOWN = 3
PASSAGE_CHARS = 280
GUIDANCE = "Guidance"


@lru_cache(maxsize=1)
def messages() -> dict[str, Any]:
    return load_toml("messages.toml")


def message_reply(key: str, tone: str = "info", **fmt: object) -> Reply:
    m = messages()[key]
    return Reply(title=m["title"].format(**fmt), summary=m["summary"].format(**fmt), tone=tone)


def seconds(wait: float) -> str:
    """A wait as people say it: "1 second", "45 seconds" (never "0 seconds")."""
    n = max(1, math.ceil(wait))
    return "1 second" if n == 1 else f"{n} seconds"


def help_reply(platform: str | None = None) -> Reply:
    """How to use the bot, in the words of the platform it is asked on (no slash commands in
    the console, no upload form on Discord)."""
    m = messages()["help"]
    lines = m.get("platforms", {}).get(platform or "", m["lines"])
    return Reply(
        title=m["title"],
        summary=m["summary"],
        sections=[Section("How to use me", list(lines))],
        footer=m["privacy"],
    )


def finding_line(f: Finding, with_detail: bool = False) -> str:
    # Informational findings ("no face found") are not evidence: a strength word on them would
    # read as "weak evidence" of something.
    word = (
        "" if f.signal == Signal.INFO else messages()["check"]["strength_words"][f.strength.value]
    )
    evidence = "; ".join(f"{e.field}: {e.value}" for e in f.evidence[:2])
    line = (f"{word} · " if word else "") + f.title + (f" — {evidence}" if evidence else "")
    return f"{line}. {f.detail}" if with_detail and f.detail else line


def error_reply(filename: str, message: str) -> Reply:
    return Reply(title=f"I couldn't check {filename}", summary=message, tone="error")


def check_name(check: str) -> str:
    """A check as people know it: "Invisible watermark", not "watermark"."""
    return str(messages()["check"].get("names", {}).get(check, check))


def check_reply(
    report: Report,
    guide: Guide,
    context: str | None = None,
    platform_note: str | None = None,
    stripped: Attachment | None = None,
    public: bool = False,
) -> Reply:
    """The reply to one checked photo. With `public`, nothing private goes in it (privacy
    findings, the stripped copy, privacy advice): that goes in `privacy_reply`, for the sender
    only."""
    if not report.ok or report.verdict is None:
        return error_reply(report.filename, report.error or "The file could not be checked.")
    v = report.verdict
    strength = f" ({v.strength.value} evidence)" if v.strength else ""
    reply = Reply(
        title=f"{v.emoji} {verdict_title(report)}{strength} — {report.filename}",
        summary=v.headline,
        tone=v.label.value,
        ephemeral=not public,
    )
    reply.sections = _main_sections(report, platform_note, public)
    reply.sections += _guidance_sections(report, guide, context)
    reply.pages["details"] = _details(report, public)
    reply.actions.append(Action("details", "Details"))
    kinds = set() if public else {f.data.get("kind") for f in report.privacy}
    disclosure = guide.disclosure(
        context or "linkedin",
        v.label.value,
        report.generator,
        gps="gps" in kinds,
        serial="serials" in kinds,
    )
    if v.label.value in ("ai_generated", "ai_edited") or context == "government-id":
        reply.pages["disclosure"] = disclosure_sections(disclosure)
        reply.actions.insert(0, Action("disclosure", "Disclosure text"))
        if disclosure.caption:
            reply.sections.append(Section("Suggested disclosure", [disclosure.caption]))
    if stripped is not None and not public:
        reply.offers["strip"] = stripped
        reply.actions.append(Action("strip", "Strip metadata"))
    picture = annotated_picture(report)
    if picture is not None:
        reply.attachments.append(picture)
    reply.footer = _footer(report, reply)
    return reply


def verdict_title(report: Report) -> str:
    """The verdict's title, softened where the evidence is only moderate."""
    v = report.verdict
    assert v is not None
    wording = verdict_wording()["labels"].get(v.label.value, {})
    if v.strength is not None and v.strength.value == "moderate":
        return str(wording.get("moderate_title", v.title))
    return v.title


@lru_cache(maxsize=1)
def verdict_wording() -> dict[str, Any]:
    return load_toml("verdicts.toml")


def privacy_lines(report: Report) -> list[str]:
    """Each privacy finding, then one offer of a clean copy."""
    lines = [finding_line(f, True) for f in report.privacy]
    return [*lines, messages()["check"]["clean_copy"]] if lines else []


def privacy_reply(report: Report, stripped: Attachment | None = None) -> Reply | None:
    """The privacy findings of a photo whose result was shown publicly: for the sender only."""
    if not report.ok or not report.privacy:
        return None
    reply = Reply(
        title=f"Only you can see this — privacy in {report.filename}",
        summary=messages()["check"]["privacy_private"],
        tone="warning",
        sections=[Section("Privacy", privacy_lines(report))],
        ephemeral=True,
        private=True,
    )
    if stripped is not None:
        reply.offers["strip"] = stripped
        reply.actions.append(Action("strip", "Strip metadata"))
    return reply


def note_privacy_withheld(reply: Reply, report: Report) -> None:
    """Someone else's photo: say that it carries personal metadata, but not what it is."""
    if report.ok and report.privacy:
        reply.sections.append(Section("Privacy", [messages()["check"]["privacy_withheld"]]))


def annotated_picture(report: Report) -> Attachment | None:
    """The pixel check's picture, only where the pixel check found something to explain (a
    diagram of a score that counted for nothing is noise in a chat). Named per photo, so several
    replies in one message each show their own."""
    if not report.annotated_png:
        return None
    if not any(f.check == "pixels" and f.signal != Signal.INFO for f in report.findings):
        return None
    return Attachment(
        f"headshot-check-{report.sha256[:8]}.png",
        report.annotated_png,
        "What the pixel check looked at",
    )


def _main_sections(report: Report, platform_note: str | None, public: bool) -> list[Section]:
    v = report.verdict
    assert v is not None
    evidence = [f for f in report.findings if f.signal not in (Signal.PRIVACY, Signal.INFO)]
    lines = [finding_line(f) for f in evidence[:EVIDENCE_SHOWN]]
    sections = [Section("Evidence", lines or ["No signals found."])]
    # Informational findings ("No face found") by title only, on one line: their numbers
    # (detector scores, thresholds) are for the Details page.
    notes = [f.title for f in report.findings if f.signal == Signal.INFO]
    if notes:
        sections.append(Section("Also noted", [" · ".join(notes)]))
    conflicts = _real_conflicts(report)
    if conflicts:
        sections.append(Section("Pointing the other way", conflicts))
    cannot = [*([platform_note] if platform_note else []), *_not_checked(report)]
    if v.label.value == "no_evidence" or cannot:
        # "A missing sign of AI means only that none was found" answers "so it's real?", a
        # question only a verdict without AI evidence raises.
        if v.label.value not in ("ai_generated", "ai_edited"):
            cannot.append(messages()["check"]["limits_note"])
        sections.append(Section("What I could not tell", cannot))
    if v.review:
        sections.append(Section("Look for yourself", v.review))
    if report.privacy and not public:
        sections.append(Section("Privacy", privacy_lines(report)))
    return sections


def _real_conflicts(report: Report) -> list[str]:
    """The verdict's conflicts, less camera evidence on an AI-edited photo: an AI edit of a
    camera photo is expected to have both, so showing the camera as "pointing the other way"
    contradicts the headline."""
    assert report.verdict is not None
    if report.verdict.label.value != "ai_edited":
        return list(report.verdict.conflicts)
    camera = [f.title for f in report.findings if f.signal == Signal.CAMERA_CAPTURE]
    return [c for c in report.verdict.conflicts if not any(c.startswith(t) for t in camera)]


def _not_checked(report: Report) -> list[str]:
    """The verdict's "not checked" lines, with checks named as people know them."""
    assert report.verdict is not None
    prefixes = {f"{r.check}: ": f"{check_name(r.check)}: " for r in report.runs}
    out = []
    for line in report.verdict.not_checked:
        for raw, nice in prefixes.items():
            if line.startswith(raw):
                line = nice + line[len(raw) :]
                break
        out.append(line)
    return out


def _guidance_sections(report: Report, guide: Guide, context: str | None) -> list[Section]:
    assert report.verdict is not None
    passages = guide.passages_for(report.verdict.label.value, context, k=PASSAGES_SHOWN)
    return [Section(GUIDANCE, [passage_line(p) for p in passages])] if passages else []


def without_repeated_guidance(replies: list[Reply]) -> list[Reply]:
    """Several photos in one message: each guidance passage is shown once, under the first
    result that has it, so four photos do not repeat the same advice four times."""
    seen: set[str] = set()
    for reply in replies:
        for section in [s for s in reply.sections if s.title == GUIDANCE]:
            section.lines = [line for line in section.lines if line not in seen]
            seen.update(section.lines)
            if not section.lines:
                reply.sections.remove(section)
    return replies


def passage_line(p: Passage, limit: int = PASSAGE_CHARS) -> str:
    text = p.brief or p.text
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    source = p.cite()
    return f"{p.title}: {text}" + (f" ({source})" if source else "")


def _details(report: Report, public: bool = False) -> list[Section]:
    shown = [f for f in report.findings if not (public and f.signal == Signal.PRIVACY)]
    findings = [finding_line(f, with_detail=True) for f in shown] or ["No findings."]
    runs = [
        f"{check_name(r.check)}: {r.status}"
        + (f" ({r.note})" if r.note else "")
        + f", {r.ms:.0f} ms"
        for r in report.runs
    ]
    facts = [
        f"{report.format}, {report.width}×{report.height}, {report.size_bytes / 1000:.0f} kB"
        + (f", {report.frames} frames" if report.frames > 1 else ""),
        f"SHA-256 {report.sha256[:16]}…",
    ]
    return [Section("All findings", findings), Section("Checks", runs), Section("File", facts)]


def _footer(report: Report, reply: Reply) -> str:
    ran = sum(r.status == "ran" for r in report.runs)
    # Name only buttons the reply has: no "disclosure text" under a camera photo.
    with_disclosure = any(a.id == "disclosure" for a in reply.actions)
    hint = messages()["check"]["more_hint" if with_disclosure else "details_hint"]
    return f"{ran} of {len(report.runs)} checks ran in {report.elapsed_ms:.0f} ms · {hint}"


def disclosure_sections(d: Disclosure) -> list[Section]:
    if not d.needed:
        lines = [d.advice or "No disclosure is needed for this photo.", *d.privacy]
        return [Section("Disclosure", lines)]
    parts = [
        ("Caption", d.caption),
        ("Alt text", d.alt_text),
        ("Bio line", d.bio_line),
        ("About this photo", d.about),
    ]
    sections = [Section(title, [text]) for title, text in parts if text]
    if d.optional:
        sections.append(Section("Optional lines: keep only what is true", list(d.optional)))
    if d.advice:
        sections.insert(0, Section("Advice", [d.advice]))
    if d.privacy:
        sections.append(Section("Privacy", list(d.privacy)))
    return sections


def disclosure_reply(d: Disclosure) -> Reply:
    place = context_label(d.context)  # none when no context was given: no place is assumed
    title = "Disclosure suggestions" + (f" — {place}" if place else "")
    if not d.needed and d.advice:
        # The advice is the whole answer: say it once, in the summary.
        sections = [Section("Privacy", list(d.privacy))] if d.privacy else []
        return Reply(title=title, summary=d.advice, sections=sections)
    return Reply(
        title=title, summary="Copy, adapt and use what fits.", sections=disclosure_sections(d)
    )


def answer_reply(answer: Answer, platform: str | None = None) -> Reply:
    """An answer: its text, "You could also ask", and the documents it draws on as one
    "Source: '…'" line. Help gets the platform's how-to; small talk is the line alone."""
    if answer.kind == "help":
        reply = help_reply(platform)
        if answer.text:
            reply.summary = answer.text
        return reply
    if answer.kind == "smalltalk":
        return Reply(title="Headshot Check", summary=answer.text)
    sections = []
    if answer.follow_ups:
        sections.append(Section("You could also ask", answer.follow_ups))
    return Reply(
        title="Headshot Check", summary=answer.text, sections=sections, footer=answer.cite()
    )
