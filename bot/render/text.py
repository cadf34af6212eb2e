"""Plain-text rendering for the console and the CLI."""

from __future__ import annotations

import textwrap

from bot.core.reply import Reply

WIDTH = 88


def _wrap(text: str, bullet: str = "") -> str:
    hang = " " * len(bullet)
    return textwrap.fill(text, WIDTH, initial_indent=bullet, subsequent_indent=hang)


def render_text(reply: Reply, *, pages: bool = False) -> str:
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
    for att in reply.attachments:
        out.append(f"\n[attached: {att.filename} — {att.description}]")
    if reply.actions and not pages:
        out.append("\nMore: " + ", ".join(a.label for a in reply.actions))
    if reply.footer:
        out.append("\n" + _wrap(reply.footer))
    return "\n".join(out)
