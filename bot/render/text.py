"""Plain-text rendering for the console and the CLI.

A terminal has no buttons and cannot show attached pictures: the caller says what to type
instead (`hint`), and compose leaves the footer's "use the buttons" advice out for it. The
pages behind the buttons are shown with `pages` (--more, 'more')."""

from __future__ import annotations

import textwrap

from bot.core.reply import Reply, Section

WIDTH = 88


def _wrap(text: str, bullet: str = "") -> str:
    """Wrap each line on its own: an answer's "• " lines stay lines."""
    hang = " " * len(bullet)
    lines = text.splitlines() or [""]
    first = textwrap.fill(lines[0], WIDTH, initial_indent=bullet, subsequent_indent=hang)
    rest = [
        textwrap.fill(line, WIDTH, subsequent_indent="  " if line.startswith("• ") else "")
        for line in lines[1:]
    ]
    return "\n".join([first, *rest])


def _sections(out: list[str], sections: list[Section]) -> None:
    for section in sections:
        out.append("")
        out.append(f"{section.title}:")
        out.extend(_wrap(line, "  • ") for line in section.lines)


def render_text(reply: Reply, *, pages: bool = False, hint: list[str] | None = None) -> str:
    out = [reply.title, "=" * min(len(reply.title), WIDTH)]
    if reply.summary:
        out.append(_wrap(reply.summary))
    _sections(out, reply.sections)
    if pages:
        labels = {a.id: a.label for a in reply.actions}
        for name, sections in reply.pages.items():
            heading = f"── {labels.get(name, name.title())} "
            out += ["", heading + "─" * max(3, min(WIDTH, 40) - len(heading))]
            _sections(out, sections)
    if hint:
        out.append("")
        out.extend(_wrap(line) for line in hint)
    if reply.footer:
        out.append("\n" + _wrap(reply.footer))
    return "\n".join(out)
