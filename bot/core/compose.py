"""Turn analysis reports and guidance into platform-neutral replies.

Replies hold plain text only; renderers escape it for their platform, so user-controlled
text (file names, prompts inside metadata) can never inject markup or mentions."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from bot.analysis.pipeline.findings import Finding, Signal
from bot.analysis.pipeline.report import Report
from bot.core.reply import Action, Attachment, Reply, Section
from bot.core.request import LOCAL_PLATFORMS
from bot.guidance import Answer, Disclosure, Guide, Passage
from bot.guidance.contexts import context_label  # also compose.context_label for callers
from bot.settings import load_toml

EVIDENCE_SHOWN = 2
PASSAGES_SHOWN = 1
GUIDANCE_CANDIDATES = 3  # the best few for the verdict, of which one is shown
PASSAGE_CHARS = 280
GUIDANCE = "Guidance"
REVIEW = "Look for yourself"
PARAMETERS = "Generation parameters"
PARAMETERS_FILE_CHARS = 1500  # longer parameters also come as a text file


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
    platform: str | None = None,
) -> Reply:
    """The reply to one checked photo, short by default: the verdict and its explanation, the
    two strongest pieces of evidence, one guidance line, and buttons for the rest (Details,
    Generation parameters, Disclosure text, Strip metadata, Look for yourself). With `public`,
    nothing private goes in it (privacy findings, the stripped copy, privacy advice): that goes
    in `privacy_reply`, for the sender only. `platform` words what to press or type."""
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
    note = platform_note if platform_note and "exif" not in report.metadata else None
    reply.sections = _main_sections(report, note, public, platform)
    privacy_shown = bool(report.privacy) and not public
    reply.sections += _guidance_sections(report, guide, context, privacy_shown)
    reply.pages["details"] = _details(report, public, note)
    reply.actions.append(Action("details", "Details"))
    _add_parameters(reply, report)
    if v.label.value in ("ai_generated", "ai_edited") or context == "government-id":
        kinds = set() if public else {f.data.get("kind") for f in report.privacy}
        # No context: wording that fits anywhere, never a silent "LinkedIn".
        disclosure = guide.disclosure(
            context,
            v.label.value,
            report.generator,
            gps="gps" in kinds,
            serial="serials" in kinds,
        )
        reply.pages["disclosure"] = disclosure_sections(disclosure)
        reply.actions.append(Action("disclosure", "Disclosure text"))
    if stripped is not None and not public:
        reply.offers["strip"] = stripped
        reply.actions.append(Action("strip", "Strip metadata"))
    if v.review:
        reply.pages["review"] = [Section(REVIEW, v.review)]
        reply.actions.append(Action("review", REVIEW))
    picture = annotated_picture(report)
    if picture is not None:
        reply.attachments.append(picture)
    reply.footer = _footer(report, reply, platform)
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


def privacy_lines(
    report: Report, with_detail: bool = True, platform: str | None = None
) -> list[str]:
    """Each privacy finding, then one offer of a clean copy in the words of the platform (a
    button in chats; the terminal's own hint says what to type there)."""
    lines = [finding_line(f, with_detail) for f in report.privacy]
    offer = _clean_copy(platform)
    return [*lines, *([offer] if offer else [])] if lines else []


def _clean_copy(platform: str | None) -> str:
    offers = messages()["check"]["clean_copy"]
    return str(offers.get(platform or "", offers["chat"]))


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
    """The picture a check drew, only where that check found something to explain (a diagram
    of a score that counted for nothing is noise in a chat). Named per photo, so several
    replies in one message each show their own."""
    if not report.annotated_png:
        return None
    drawn_by = report.annotated_by
    if not any(f.check == drawn_by and f.signal != Signal.INFO for f in report.findings):
        return None
    return Attachment(
        f"headshot-check-{report.sha256[:8]}.png",
        report.annotated_png,
        "What the pixel check looked at",
    )


def _main_sections(
    report: Report, note: str | None, public: bool, platform: str | None
) -> list[Section]:
    """What every reply shows: the strongest evidence, what points the other way, the
    platform's note where it applies, and (for the owner) what the metadata gives away."""
    evidence = [f for f in report.findings if f.signal not in (Signal.PRIVACY, Signal.INFO)]
    lines = [finding_line(f) for f in evidence[:EVIDENCE_SHOWN]]
    sections = [Section("Evidence", lines or [messages()["check"]["no_signals"]])]
    conflicts = _real_conflicts(report)
    if conflicts:
        sections.append(Section("Pointing the other way", conflicts))
    if note:
        sections.append(Section("Note", [note]))
    if report.privacy and not public:
        sections.append(Section("Privacy", privacy_lines(report, False, platform)))
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


def _not_checked(report: Report, note: str | None) -> list[str]:
    """What the checks could not tell, with checks named as people know them; the platform's
    note replaces the general "no metadata" line, which says the same less precisely."""
    v = report.verdict
    assert v is not None
    prefixes = {f"{r.check}: ": f"{check_name(r.check)}: " for r in report.runs}
    no_metadata = verdict_wording()["not_checked"]["no_metadata"]
    out = [note] if note else []
    for line in v.not_checked:
        if note and line == no_metadata:
            continue
        for raw, nice in prefixes.items():
            if line.startswith(raw):
                line = nice + line[len(raw) :]
                break
        out.append(line)
    # "A missing sign of AI means only that none was found" answers "so it's real?", a
    # question only a verdict without AI evidence raises.
    if v.label.value not in ("ai_generated", "ai_edited"):
        out.append(messages()["check"]["limits_note"])
    return out


def _guidance_sections(
    report: Report, guide: Guide, context: str | None, privacy_shown: bool
) -> list[Section]:
    """One guidance line, chosen for the verdict and the context; where the reply shows what
    the metadata gives away, the privacy advice among the best few comes first."""
    assert report.verdict is not None
    passages = guide.passages_for(report.verdict.label.value, context, k=GUIDANCE_CANDIDATES)
    if privacy_shown:
        passages.sort(key=lambda p: "privacy" not in p.tags)
    chosen = passages[:PASSAGES_SHOWN]
    return [Section(GUIDANCE, [passage_line(p) for p in chosen])] if chosen else []


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


def _details(report: Report, public: bool, note: str | None) -> list[Section]:
    shown = [f for f in report.findings if not (public and f.signal == Signal.PRIVACY)]
    findings = [finding_line(f, with_detail=True) for f in shown] or ["No findings."]
    sections = [Section("All findings", findings)]
    credentials = next((f for f in report.findings if f.data.get("plain")), None)
    if credentials is not None:
        sections.append(Section("Content Credentials", list(credentials.data["plain"])))
    # Informational findings ("No face found") by title only: not evidence either way.
    notes = [f.title for f in report.findings if f.signal == Signal.INFO]
    if notes:
        sections.append(Section("Also noted", [" · ".join(notes)]))
    cannot = _not_checked(report, note)
    if cannot:
        sections.append(Section("What I could not tell", cannot))
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
    return [*sections, Section("Checks", runs), Section("File", facts)]


def _add_parameters(reply: Reply, report: Report) -> None:
    """Generation parameters in full behind a button, and as a text file when they are too
    long to read in a chat message."""
    found = [f.data for f in report.findings if f.data.get("parameters")]
    if not found:
        return
    sections = [parameter_section(d["generator"], d["parameters"]) for d in found]
    reply.pages["parameters"] = sections
    reply.actions.append(Action("parameters", PARAMETERS))
    text = parameters_text(sections)
    if len(text) > PARAMETERS_FILE_CHARS:
        name = f"generation-parameters-{report.sha256[:8]}.txt"
        reply.page_files["parameters"] = [
            Attachment(name, text.encode("utf-8"), "Generation parameters in full")
        ]


def parameter_section(generator: str, params: dict[str, Any]) -> Section:
    """One generator's parameters as "Name: value" lines, in a fixed order, in full."""
    names = messages()["check"]["parameter_names"]
    lines = []
    for key, label in names.items():
        value = params.get(key)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(f"{label}: {value}")
    return Section(f"Made with {generator}", lines)


def parameters_text(sections: list[Section]) -> str:
    return "\n\n".join(s.title + "\n" + "\n".join(s.lines) for s in sections) + "\n"


def more_hint(reply: Reply, key: str) -> str:
    """A hint naming the reply's pages: what the buttons (`key` buttons_hint), --more (cli_hint)
    or 'more' (console_hint) show."""
    words = messages()["check"]["page_words"]
    named = [str(words[name]) for name in reply.pages if name in words] or [words["details"]]
    pages = ", ".join(named[:-1]) + (" and " if len(named) > 1 else "") + named[-1]
    return str(messages()["check"][key]).format(pages=pages)


def _footer(report: Report, reply: Reply, platform: str | None) -> str:
    ran = sum(r.status == "ran" for r in report.runs)
    timing = f"{ran} of {len(report.runs)} checks ran in {report.elapsed_ms:.0f} ms"
    if platform in LOCAL_PLATFORMS:  # no buttons there: the terminal's hints say what to type
        return timing
    # Name only buttons the reply has: no "disclosure text" under a camera photo.
    return f"{timing} · {more_hint(reply, 'buttons_hint')}"


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
