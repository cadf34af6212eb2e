"""Discord rendering: core replies → embeds, buttons and files, within Discord's limits.

Replies hold plain text. Everything is escaped here (markdown and mentions), and every message
is sent with mentions switched off, so text from a user's file can neither format nor ping.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.utils import escape_markdown, escape_mentions

from bot import messages
from bot.analysis.pipeline.findings import strip_bidi
from bot.core.reply import Attachment, Reply, Section
from bot.core.sessions import ReplyCache, button_id

# Discord's documented limits.
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000  # per message, summed over all its embeds
EMBEDS_PER_MESSAGE = 10
FILES_PER_MESSAGE = 10
ROWS_PER_MESSAGE = 5
EMBEDS_PER_REPLY = 3  # a longer reply is trimmed rather than flooding the channel

ELLIPSIS = "…"
BULLET = "• "
DEFAULT_COLOUR = 0x5865F2
NO_MENTIONS = discord.AllowedMentions.none()


# Discord turns these into live objects even in embeds: timestamps <t:…>, slash-command links
# </name:id>, custom emoji <:name:id>, and clickable URLs (a prompt or a C2PA remote-manifest
# address is the file's text; Discord's own pages stay clickable). Channel links <#id> are
# left alone: they ping no one, and the bot's settings replies name the mod-log channel so.
_ANGLE_MARKUP = re.compile(r"<(?=[@:/!&a]|t:)")
_URL_SCHEME = re.compile(r"(?i)\b(https?|discord|steam|ftp)://(?!(?:[\w-]+\.)*discord\.com/)")


def escape(text: str) -> str:
    """Plain text → Discord text that renders literally, mentions no one, links nowhere and
    reorders nothing (a zero-width space breaks each markup opener; bidirectional controls
    go; the text still reads the same)."""
    text = escape_mentions(escape_markdown(strip_bidi(text)))
    text = _ANGLE_MARKUP.sub("<\u200b", text)
    return _URL_SCHEME.sub("\\1:\u200b//", text)


def trim(text: str, limit: int) -> str:
    """Cut to `limit` characters, ending with "…" when cut (never on a lone escape backslash)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]
    return cut + ELLIPSIS


def safe_filename(name: str) -> str:
    """A file name Discord keeps as is, so `attachment://` links to it work."""
    stem = re.sub(r"[^\w.-]", "_", name, flags=re.ASCII).strip("._") or "file"
    return stem[-100:]


# -- one reply → embeds ---------------------------------------------------------------------
def section_fields(section: Section) -> list[tuple[str, str]]:
    """A section as (name, value) fields, each value within the field limit. Lines are packed
    greedily; a section too long for one field continues in the next."""
    name = trim(escape(section.title), FIELD_NAME_MAX) or "\u200b"
    lines = [trim(BULLET + escape(line), FIELD_VALUE_MAX) for line in section.lines]
    values: list[str] = []
    current = ""
    for line in lines:
        joined = f"{current}\n{line}" if current else line
        if len(joined) <= FIELD_VALUE_MAX:
            current = joined
        else:
            values.append(current)
            current = line
    if current or not values:
        values.append(current or "\u200b")
    cont = trim(messages.text("replies.render.continued_field", name=name), FIELD_NAME_MAX)
    return [(name if i == 0 else cont, value) for i, value in enumerate(values)]


def build_embeds(
    title: str,
    description: str,
    fields: Iterable[tuple[str, str]],
    *,
    footer: str = "",
    colour: int = DEFAULT_COLOUR,
    max_embeds: int = EMBEDS_PER_REPLY,
) -> list[discord.Embed]:
    """The one place embed limits are enforced. Inputs are already escaped. Fields that do not
    fit one embed (25 fields, 6000 characters) continue in the next; past `max_embeds` the rest
    is dropped and the last field ends with "…"."""
    footer = trim(footer, FOOTER_MAX)
    title = trim(title, TITLE_MAX)
    room = min(DESCRIPTION_MAX, EMBED_TOTAL_MAX - len(title) - len(footer))
    head = discord.Embed(
        title=title or None, description=trim(description, room) or None, colour=colour
    )
    embeds = [head]
    budget = EMBED_TOTAL_MAX - len(footer)
    for name, value in fields:
        embed = embeds[-1]
        if len(embed.fields) >= FIELDS_MAX or len(embed) + len(name) + len(value) > budget:
            if len(embeds) >= max_embeds:
                _mark_cut(embed, budget)
                break
            embed = discord.Embed(colour=colour)
            embeds.append(embed)
        embed.add_field(name=name, value=value, inline=False)
    if footer:
        embeds[-1].set_footer(text=footer)
    return embeds


def _mark_cut(embed: discord.Embed, budget: int) -> None:
    """Show that something was left out: end the last field (or the description) with "…"."""
    if embed.fields:
        last = embed.fields[-1]
        kept = last.value or ""  # discord.py types field values as optional; ours never are
        room = budget - len(embed) + len(kept)
        value = kept if kept.endswith(ELLIPSIS) else kept + ELLIPSIS
        embed.set_field_at(
            len(embed.fields) - 1,
            name=last.name,
            value=trim(value, max(1, min(room, FIELD_VALUE_MAX))),
            inline=False,
        )
    elif embed.description and not embed.description.endswith(ELLIPSIS):
        embed.description = trim(embed.description + ELLIPSIS, DESCRIPTION_MAX)


def colour_for(tone: str, colours: Mapping[str, int] | None = None) -> int:
    return (colours or {}).get(tone, DEFAULT_COLOUR)


# -- replies → messages ---------------------------------------------------------------------
@dataclass
class RenderedReply:
    embeds: list[discord.Embed]
    files: list[Attachment] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (custom_id, label)


def render_reply(
    reply: Reply, token: str | None = None, colours: Mapping[str, int] | None = None
) -> RenderedReply:
    fields = [f for section in reply.sections for f in section_fields(section)]
    embeds = build_embeds(
        escape(reply.title),
        escape(reply.summary),
        fields,
        footer=escape(reply.footer),
        colour=colour_for(reply.tone, colours),
    )
    files = [
        Attachment(safe_filename(a.filename), a.data, a.description) for a in reply.attachments
    ]
    pictures = [f for f in files if f.filename.lower().endswith((".png", ".jpg", ".jpeg"))]
    if pictures:
        embeds[0].set_image(url=f"attachment://{pictures[0].filename}")
    buttons = [(button_id(token, a.id), a.label) for a in reply.actions] if token else []
    return RenderedReply(embeds, files, buttons)


class ReplyButtons(discord.ui.View):
    """Buttons only: presses are answered by the persistent `hc:` handler (cogs/buttons.py),
    which works after restarts too. Not dispatchable, so discord.py does not keep one view
    per message in memory forever."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_dispatchable(self) -> bool:
        return False


@dataclass
class OutMessage:
    embeds: list[discord.Embed] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    rows: list[list[tuple[str, str]]] = field(default_factory=list)

    def size(self) -> int:
        return sum(len(e) for e in self.embeds)

    def view(self) -> ReplyButtons | None:
        if not self.rows:
            return None
        view = ReplyButtons()
        for row, buttons in enumerate(self.rows):
            for i, (custom_id, label) in enumerate(buttons[:5]):
                style = discord.ButtonStyle.primary if i == 0 else discord.ButtonStyle.secondary
                view.add_item(
                    discord.ui.Button(label=label[:80], custom_id=custom_id, style=style, row=row)
                )
        return view

    def kwargs(self) -> dict[str, Any]:
        """Arguments for send()/followup.send(). Files are made fresh: a discord.File can be
        sent once only."""
        out: dict[str, Any] = {"embeds": self.embeds, "allowed_mentions": NO_MENTIONS}
        if self.files:
            out["files"] = [
                discord.File(io.BytesIO(f.data), f.filename, description=f.description or None)
                for f in self.files
            ]
        view = self.view()
        if view is not None:
            out["view"] = view
        return out


def pack(rendered: Iterable[RenderedReply]) -> list[OutMessage]:
    """Put rendered replies into as few messages as Discord's per-message limits allow."""
    messages: list[OutMessage] = []
    for part in rendered:
        for i, embed in enumerate(part.embeds):
            first = i == 0
            msg = messages[-1] if messages else None
            if msg is None or not _fits(msg, embed, part if first else None):
                msg = OutMessage()
                messages.append(msg)
            msg.embeds.append(embed)
            if first:
                msg.files += part.files[:FILES_PER_MESSAGE]
                if part.buttons:
                    msg.rows.append(part.buttons)
    return messages


def _fits(msg: OutMessage, embed: discord.Embed, part: RenderedReply | None) -> bool:
    if len(msg.embeds) >= EMBEDS_PER_MESSAGE or msg.size() + len(embed) > EMBED_TOTAL_MAX:
        return False
    if part is None:
        return True
    files_ok = len(msg.files) + min(len(part.files), FILES_PER_MESSAGE) <= FILES_PER_MESSAGE
    rows_ok = not part.buttons or len(msg.rows) < ROWS_PER_MESSAGE
    return files_ok and rows_ok


def render_replies(
    replies: Iterable[Reply],
    cache: ReplyCache | None = None,
    colours: Mapping[str, int] | None = None,
) -> list[OutMessage]:
    """Replies → messages. Replies with buttons are remembered in `cache` for the presses."""
    parts = []
    for reply in replies:
        token = cache.put(reply) if cache is not None and reply.actions else None
        parts.append(render_reply(reply, token, colours))
    return pack(parts)
