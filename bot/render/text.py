"""Plain-text rendering for the console and the CLI.

A terminal has no buttons and cannot show attached pictures: the caller says what to type
instead (`hint`), and the footer's "use the buttons" advice is left out."""

from __future__ import annotations

import textwrap

from bot.core.compose import messages
from bot.core.reply import Reply

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


def render_text(reply: Reply, *, pages: bool = False, hint: list[str] | None = None) -> str:
    out = [reply.title, "=" * min(len(reply.title), WIDTH)]
    if reply.summary:
        out.append(_wrap(reply.summary))
    sections = list(reply.sections)
    if pages:
        for name in reply.pages:
            sections += reply.pages[name]
    for section in sections:
        out.append("")
        out.append(f"{section.title}:")
        out.extend(_wrap(line, "  • ") for line in section.lines)
    if hint:
        out.append("")
        out.extend(_wrap(line) for line in hint)
    footer = _without_button_hint(reply.footer)
    if footer:
        out.append("\n" + _wrap(footer))
    return "\n".join(out)


def _without_button_hint(footer: str) -> str:
    for key in ("more_hint", "details_hint"):
        hint = messages()["check"][key]
        footer = footer.replace(f" · {hint}", "").replace(hint, "")
    return footer.strip()
