"""Turn analysis reports and guidance into platform-neutral replies.

Replies hold plain text only; renderers escape it for their platform, so user-controlled
text (file names, prompts inside metadata) can never inject markup or mentions. Every word
comes from the message catalogue (config/messages.toml [check] and others,
config/messages/replies.toml for titles, headings and buttons)."""

from __future__ import annotations

import math
from typing import Any

from bot import messages as catalogue
from bot.analysis.pipeline.findings import Finding, Signal, Strength
from bot.analysis.pipeline.report import Report
from bot.analysis.pipeline.verdict import Label
from bot.core.reply import Action, Attachment, Reply, Section
from bot.core.reply import message_reply as message_reply  # re-exported for callers
from bot.core.request import LOCAL_PLATFORMS, Platform
from bot.guidance import Answer, Disclosure, Guide, Passage
from bot.guidance.contexts import context_label as context_label  # re-exported for callers

EVIDENCE_SHOWN = 2
PASSAGES_SHOWN = 1
GUIDANCE_CANDIDATES = 3  # the best few for the verdict, of which one is shown
PASSAGE_CHARS = 280
PARAMETERS_FILE_CHARS = 1500  # longer parameters also come as a text file
# The heading that `without_repeated_guidance` looks for.
GUIDANCE = catalogue.text("replies.sections.guidance")
# Which hint names the pages behind the buttons, by where it is read: terminals have no
# buttons, so there the hint says what to type (--more, 'more').
_MORE_HINTS: dict[Platform | None, str] = {
    Platform.CLI: "check.cli_hint",
    Platform.CONSOLE: "check.console_hint",
}


def seconds(wait: float) -> str:
    """A wait as people say it: "1 second", "45 seconds" (never "0 seconds")."""
    n = max(1, math.ceil(wait))
    return (
        catalogue.text("replies.wait.one") if n == 1 else catalogue.text("replies.wait.many", n=n)
    )


def help_reply(platform: Platform | None = None) -> Reply:
    """How to use the bot, in the words of the platform it is asked on (no slash commands in
    the console, no upload form on Discord)."""
    platforms = catalogue.table("help.platforms")
    lines = platforms[platform] if platform in platforms else catalogue.lines("help.lines")
    return Reply(
        title=catalogue.text("help.title"),
        summary=catalogue.text("help.summary"),
        sections=[Section(catalogue.text("replies.help.section"), list(lines))],
        footer=catalogue.text("help.privacy"),
    )


def strength_word(strength: Strength) -> str:
    """The word a finding's line starts with: "Strong", "Weak"…"""
    return str(catalogue.table("check.strength_words")[strength.value])


def finding_line(f: Finding, with_detail: bool = False) -> str:
    # Informational findings ("no face found") are not evidence: a strength word on them would
    # read as "weak evidence" of something.
    word = "" if f.signal == Signal.INFO else strength_word(f.strength)
    evidence = "; ".join(f"{e.field}: {e.value}" for e in f.evidence[:2])
    line = (f"{word} · " if word else "") + f.title + (f" — {evidence}" if evidence else "")
    return f"{line}. {f.detail}" if with_detail and f.detail else line


def error_reply(filename: str, message: str) -> Reply:
    title = catalogue.text("replies.check.not_checked_title", filename=filename)
    return Reply(title=title, summary=message, tone="error")


def check_name(check: str) -> str:
    """A check as people know it: "Invisible watermark", not "watermark"."""
    return str(catalogue.table("check.names").get(check, check))


def action(name: str) -> Action:
    """The button for page or offer `name` (details, parameters, disclosure, strip, review)."""
    return Action(name, catalogue.text(f"replies.actions.{name}"))


def check_reply(
    report: Report,
    guide: Guide,
    context: str | None = None,
    platform_note: str | None = None,
    stripped: Attachment | None = None,
    public: bool = False,
    platform: Platform | None = None,
) -> Reply:
    """The reply to one checked photo, short by default: the verdict and its explanation, the
    two strongest pieces of evidence, one guidance line, and buttons for the rest (Details,
    Generation parameters, Disclosure text, Strip metadata, Look for yourself). With `public`,
    nothing private goes in it (privacy findings, the stripped copy, privacy advice): that goes
    in `privacy_reply`, for the sender only. `platform` words what to press or type."""
    if not report.ok or report.verdict is None:
        failed = report.error or catalogue.text("replies.check.not_checked")
        return error_reply(report.filename, failed)
    v = report.verdict
    strength = catalogue.text("replies.check.strength", strength=v.strength) if v.strength else ""
    title = catalogue.text(
        "replies.check.title",
        emoji=v.emoji,
        verdict=verdict_title(report),
        strength=strength,
        filename=report.filename,
    )
    reply = Reply(title=title, summary=v.headline, tone=v.label.value, ephemeral=not public)
    note = platform_note if platform_note and "exif" not in report.metadata else None
    reply.sections = _main_sections(report, note, public, platform)
    privacy_shown = bool(report.privacy) and not public
    reply.sections += _guidance_sections(report, guide, context, privacy_shown)
    reply.pages["details"] = _details(report, public, note)
    reply.actions.append(action("details"))
    _add_parameters(reply, report)
    if v.label.is_ai or context == "government-id":
        kinds = set() if public else {f.data.get("kind") for f in report.privacy}
        # No context: wording that fits anywhere, never a silent "LinkedIn".
        disclosure = guide.disclosure(
            context, v.label, report.generator, gps="gps" in kinds, serial="serials" in kinds
        )
        reply.pages["disclosure"] = disclosure_sections(disclosure)
        reply.actions.append(action("disclosure"))
    if stripped is not None and not public:
        reply.offers["strip"] = stripped
        reply.actions.append(action("strip"))
    if v.review:
        review = action("review")  # the page is headed like its button
        reply.pages["review"] = [Section(review.label, v.review)]
        reply.actions.append(review)
    picture = annotated_picture(report)
    if picture is not None:
        reply.attachments.append(picture)
    reply.footer = _footer(report, reply, platform)
    return reply


def verdict_title(report: Report) -> str:
    """The verdict's title, softened where the evidence is only moderate."""
    v = report.verdict
    assert v is not None
    wording = catalogue.table("verdicts.labels").get(v.label.value, {})
    if v.strength is Strength.MODERATE:
        return str(wording.get("moderate_title", v.title))
    return v.title


def privacy_lines(
    report: Report, with_detail: bool = True, platform: Platform | None = None
) -> list[str]:
    """Each privacy finding, then one offer of a clean copy in the words of the platform (a
    button in chats; the terminal's own hint says what to type there)."""
    lines = [finding_line(f, with_detail) for f in report.privacy]
    offer = _clean_copy(platform)
    return [*lines, *([offer] if offer else [])] if lines else []


def _clean_copy(platform: Platform | None) -> str:
    offers = catalogue.table("check.clean_copy")
    return str(offers[platform] if platform in offers else offers["chat"])


def privacy_reply(report: Report, stripped: Attachment | None = None) -> Reply | None:
    """The privacy findings of a photo whose result was shown publicly: for the sender only."""
    if not report.ok or not report.privacy:
        return None
    reply = Reply(
        title=catalogue.text("replies.privacy.title", filename=report.filename),
        summary=catalogue.text("check.privacy_private"),
        tone="warning",
        sections=[Section(_heading("privacy"), privacy_lines(report))],
        ephemeral=True,
        private=True,
    )
    if stripped is not None:
        reply.offers["strip"] = stripped
        reply.actions.append(action("strip"))
    return reply


def note_privacy_withheld(reply: Reply, report: Report) -> None:
    """Someone else's photo: say that it carries personal metadata, but not what it is."""
    if report.ok and report.privacy:
        withheld = catalogue.text("check.privacy_withheld")
        reply.sections.append(Section(_heading("privacy"), [withheld]))


def _heading(name: str, **fmt: object) -> str:
    """A section heading from config/messages/replies.toml [sections]."""
    return catalogue.text(f"replies.sections.{name}", **fmt)


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
        catalogue.text("replies.check.picture_caption"),
    )


def _main_sections(
    report: Report, note: str | None, public: bool, platform: Platform | None
) -> list[Section]:
    """What every reply shows: the strongest evidence, what points the other way, the
    platform's note where it applies, and (for the owner) what the metadata gives away."""
    evidence = [f for f in report.findings if f.signal not in (Signal.PRIVACY, Signal.INFO)]
    lines = [finding_line(f) for f in evidence[:EVIDENCE_SHOWN]]
    sections = [Section(_heading("evidence"), lines or [catalogue.text("check.no_signals")])]
    conflicts = _real_conflicts(report)
    if conflicts:
        sections.append(Section(_heading("conflicts"), conflicts))
    if note:
        sections.append(Section(_heading("note"), [note]))
    if report.privacy and not public:
        sections.append(Section(_heading("privacy"), privacy_lines(report, False, platform)))
    return sections


def _real_conflicts(report: Report) -> list[str]:
    """The verdict's conflicts, less camera evidence on an AI-edited photo: an AI edit of a
    camera photo is expected to have both, so showing the camera as "pointing the other way"
    contradicts the headline."""
    assert report.verdict is not None
    if report.verdict.label is not Label.AI_EDITED:
        return list(report.verdict.conflicts)
    camera = [f.title for f in report.findings if f.signal == Signal.CAMERA_CAPTURE]
    return [c for c in report.verdict.conflicts if not any(c.startswith(t) for t in camera)]


def _not_checked(report: Report, note: str | None) -> list[str]:
    """What the checks could not tell, with checks named as people know them; the platform's
    note replaces the general "no metadata" line, which says the same less precisely."""
    v = report.verdict
    assert v is not None
    prefixes = {f"{r.check}: ": f"{check_name(r.check)}: " for r in report.runs}
    no_metadata = catalogue.text("verdicts.not_checked.no_metadata")
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
    if not v.label.is_ai:
        out.append(catalogue.text("check.limits_note"))
    return out


def _guidance_sections(
    report: Report, guide: Guide, context: str | None, privacy_shown: bool
) -> list[Section]:
    """One guidance line, chosen for the verdict and the context; where the reply shows what
    the metadata gives away, the privacy advice among the best few comes first."""
    assert report.verdict is not None
    passages = guide.passages_for(report.verdict.label, context, k=GUIDANCE_CANDIDATES)
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
    findings = [finding_line(f, with_detail=True) for f in shown]
    sections = [Section(_heading("all_findings"), findings or [_heading("no_findings")])]
    credentials = next((f for f in report.findings if f.data.get("plain")), None)
    if credentials is not None:
        sections.append(Section(_heading("credentials"), list(credentials.data["plain"])))
    # Informational findings ("No face found") by title only: not evidence either way.
    notes = [f.title for f in report.findings if f.signal == Signal.INFO]
    if notes:
        sections.append(Section(_heading("also_noted"), [" · ".join(notes)]))
    cannot = _not_checked(report, note)
    if cannot:
        sections.append(Section(_heading("not_checked"), cannot))
    statuses = catalogue.table("replies.details.status")
    runs = [
        catalogue.text(
            "replies.details.run",
            check=check_name(r.check),
            status=statuses.get(r.status, r.status),
        )
        + (catalogue.text("replies.details.run_note", note=r.note) if r.note else "")
        + catalogue.text("replies.details.run_ms", ms=r.ms)
        for r in report.runs
    ]
    size = {"format": report.format, "width": report.width, "height": report.height}
    facts = [
        catalogue.text("replies.details.file", **size, kb=report.size_bytes / 1000)
        + (
            catalogue.text("replies.details.frames", frames=report.frames)
            if report.frames > 1
            else ""
        ),
        catalogue.text("replies.details.sha256", sha=report.sha256[:16]),
    ]
    return [*sections, Section(_heading("checks"), runs), Section(_heading("file"), facts)]


def _add_parameters(reply: Reply, report: Report) -> None:
    """Generation parameters in full behind a button, and as a text file when they are too
    long to read in a chat message."""
    found = [f.data for f in report.findings if f.data.get("parameters")]
    if not found:
        return
    sections = [parameter_section(d["generator"], d["parameters"]) for d in found]
    reply.pages["parameters"] = sections
    reply.actions.append(action("parameters"))
    text = parameters_text(sections)
    if len(text) > PARAMETERS_FILE_CHARS:
        name = f"generation-parameters-{report.sha256[:8]}.txt"
        described = catalogue.text("replies.parameters.file_description")
        reply.page_files["parameters"] = [Attachment(name, text.encode("utf-8"), described)]


def parameter_section(generator: str, params: dict[str, Any]) -> Section:
    """One generator's parameters as "Name: value" lines, in a fixed order, in full."""
    names = catalogue.table("check.parameter_names")
    lines = []
    for key, label in names.items():
        value = params.get(key)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(f"{label}: {value}")
    return Section(_heading("made_with", generator=generator), lines)


def parameters_text(sections: list[Section]) -> str:
    return "\n\n".join(s.title + "\n" + "\n".join(s.lines) for s in sections) + "\n"


def listed(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    separator, last = (
        catalogue.text("replies.lists.separator"),
        catalogue.text("replies.lists.last"),
    )
    return separator.join(names[:-1]) + (last if len(names) > 1 else "") + names[-1]


def more_hint(reply: Reply, platform: Platform | None = None) -> str:
    """The hint naming the reply's pages, in the words of where it is read: the buttons in a
    chat, --more on the command line, 'more' in the console."""
    words = catalogue.table("check.page_words")
    named = [str(words[name]) for name in reply.pages if name in words] or [words["details"]]
    return catalogue.text(_MORE_HINTS.get(platform, "check.buttons_hint"), pages=listed(named))


def _footer(report: Report, reply: Reply, platform: Platform | None) -> str:
    ran = sum(r.status == "ran" for r in report.runs)
    total, ms = len(report.runs), report.elapsed_ms
    timing = catalogue.text("replies.check.footer", ran=ran, total=total, ms=ms)
    if platform in LOCAL_PLATFORMS:  # no buttons there: the terminal's hints say what to type
        return timing
    # Name only buttons the reply has: no "disclosure text" under a camera photo.
    return timing + catalogue.text("replies.check.footer_separator") + more_hint(reply, platform)


def disclosure_sections(d: Disclosure) -> list[Section]:
    def heading(name: str) -> str:
        return catalogue.text(f"replies.disclosure.{name}")

    if not d.needed:
        lines = [d.advice or heading("not_needed"), *d.privacy]
        return [Section(heading("section"), lines)]
    parts = [
        ("caption", d.caption),
        ("alt_text", d.alt_text),
        ("bio_line", d.bio_line),
        ("about", d.about),
    ]
    sections = [Section(heading(name), [text]) for name, text in parts if text]
    if d.optional:
        sections.append(Section(heading("optional"), list(d.optional)))
    if d.advice:
        sections.insert(0, Section(heading("advice"), [d.advice]))
    if d.privacy:
        sections.append(Section(heading("privacy"), list(d.privacy)))
    return sections


def disclosure_reply(d: Disclosure) -> Reply:
    place = context_label(d.context)  # none when no context was given: no place is assumed
    title = (
        catalogue.text("replies.disclosure.title_place", place=place)
        if place
        else catalogue.text("replies.disclosure.title")
    )
    if not d.needed and d.advice:
        # The advice is the whole answer: say it once, in the summary.
        privacy = catalogue.text("replies.disclosure.privacy")
        sections = [Section(privacy, list(d.privacy))] if d.privacy else []
        return Reply(title=title, summary=d.advice, sections=sections)
    summary = catalogue.text("replies.disclosure.summary")
    return Reply(title=title, summary=summary, sections=disclosure_sections(d))


def answer_reply(answer: Answer, platform: Platform | None = None) -> Reply:
    """An answer: its text, "You could also ask", and the documents it draws on as one
    "Source: '…'" line. Help gets the platform's how-to; small talk is the line alone."""
    if answer.kind == "help":
        reply = help_reply(platform)
        if answer.text:
            reply.summary = answer.text
        return reply
    title = catalogue.text("replies.answer.title")
    if answer.kind == "smalltalk":
        return Reply(title=title, summary=answer.text)
    sections = []
    if answer.follow_ups:
        sections.append(Section(catalogue.text("replies.answer.follow_ups"), answer.follow_ups))
    return Reply(title=title, summary=answer.text, sections=sections, footer=answer.cite())
