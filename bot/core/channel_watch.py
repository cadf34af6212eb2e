"""Channel watch, opt-in per channel: which posted images the bot marks, and the private note
that comes before the result. Adapters decide how: on Discord a 🔎 reaction that the poster
presses for a DM; on Slack a mention of the app that gets an ephemeral answer.

The mark is an offer to look, never a judgement: it goes on images with any signal worth a
look, AI or privacy (a photo that gives away where someone lives is as worth knowing about),
and what was found is told only to the poster."""

from __future__ import annotations

from bot import messages
from bot.analysis.pipeline.findings import Signal
from bot.analysis.pipeline.report import Report
from bot.core import compose
from bot.core.reply import Reply, Section

MAGNIFIER = "🔎"
_WORTH_A_LOOK = (Signal.AI_GENERATED, Signal.AI_EDITED, Signal.PRIVACY)


def worth_a_look(report: Report) -> bool:
    """Any AI or privacy signal, weak ones included (the poster decides what it means)."""
    return report.ok and any(f.signal in _WORTH_A_LOOK for f in report.findings)


def poster_note(where: str, marked: bool) -> Reply:
    """The first private message: why the person is hearing from the bot, that only they see
    it, and (`marked`) what the 🔎 on their image means."""
    reply = compose.message_reply("channel_watch_note", "info", where=where)
    if marked:
        reply.sections.append(
            Section(
                messages.text("moderation.channel_watch.mark_title"),
                [messages.text("channel_watch_note.mark")],
            )
        )
    return reply
