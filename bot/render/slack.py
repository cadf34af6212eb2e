"""Slack Block Kit rendering: replies, the App Home tab and the check modal.

Replies hold plain text, much of it user-controlled (file names, prompts inside metadata,
questions). Every piece of it goes through `escape()` (mrkdwn) or `inert()` (plain_text), so
`<!channel>`, `<@U123>`, a `<https://evil|link>` or `*bold*` arrive as text, never as markup.
Slack's limits are applied here, in one place: 50 blocks a message, 3000 characters a
section, 150 a header, 75 a button label.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot import messages as catalogue
from bot.analysis.pipeline.findings import strip_bidi
from bot.core.reply import Reply, Section
from bot.guidance.contexts import context_label as context_label  # re-exported for Slack

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ID = 255
MAX_FALLBACK = 3000

Block = dict[str, Any]
ButtonId = Callable[[str], str]  # action name -> action_id / value

_MARKS = re.compile(r"[*_~`]")
ZWSP = "\u200b"
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_TONE_PREFIX = {"error": "⚠️ ", "warning": "⚠️ "}


def escape(text: str) -> str:
    """Make text inert for Slack mrkdwn: `inert()`, plus a zero-width space each side of every
    formatting mark. Slack has no escape character; a mark with a ZWSP on both sides can
    neither open nor close a *bold*, _italic_, ~strike~ or `code` span, whether Slack takes
    the ZWSP for a space or a letter. The bot's own marks go around escaped text."""
    return _MARKS.sub(ZWSP + r"\g<0>" + ZWSP, inert(text))


def inert(text: str) -> str:
    """Text that cannot act, for plain_text objects: entities for the three control
    characters (so no `<!channel>`, `<@U…>`, links), a word joiner inside bare
    @channel/@here/@everyone, and no bidirectional controls (which could disguise a name)."""
    text = strip_bidi(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", text)


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters, never inside an entity like `&amp;`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def plain(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(inert(text), limit) or " ", "emoji": True}


def mrkdwn(escaped: str) -> dict[str, Any]:
    """A mrkdwn text object from already-escaped text. verbatim: Slack does not turn URLs or
    #channel names inside it into links."""
    return {"type": "mrkdwn", "text": truncate(escaped, MAX_TEXT) or " ", "verbatim": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER)}


def section(escaped: str) -> Block:
    return {"type": "section", "text": mrkdwn(escaped)}


def context(escaped: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(escaped)]}


def _section_texts(sec: Section) -> list[str]:
    """One section as escaped mrkdwn, split into pieces that fit a section block."""
    title = f"*{escape(sec.title)}*"
    bullets = [f"• {escape(line)}" for line in sec.lines]
    pieces: list[str] = []
    current = title
    for bullet in bullets:
        bullet = truncate(bullet, MAX_TEXT - len(title) - 1)
        if len(current) + 1 + len(bullet) > MAX_TEXT:
            pieces.append(current)
            current = catalogue.text("replies.render.continued_section", title=title)
        current += "\n" + bullet
    pieces.append(current)
    return pieces


def _buttons(reply: Reply, button_id: ButtonId | None) -> list[Block]:
    if not reply.actions or button_id is None:
        return []
    elements = []
    for action in reply.actions[:25]:
        ident = button_id(action.id)[:MAX_ACTION_ID]
        elements.append(
            {
                "type": "button",
                "text": plain(action.label, MAX_BUTTON),
                "action_id": ident,
                "value": ident,
            }
        )
    return [{"type": "actions", "elements": elements}]


def render_blocks(reply: Reply, button_id: ButtonId | None = None) -> list[Block]:
    """Block Kit for one reply. `button_id(name)` makes a button's action_id; without it the
    reply's actions are left out (where buttons cannot be answered)."""
    prefix = _TONE_PREFIX.get(reply.tone, "")
    head = [header(prefix + reply.title)]
    body: list[Block] = []
    if reply.summary:
        body.append(section(escape(reply.summary)))
    for sec in reply.sections:
        body.extend(section(text) for text in _section_texts(sec))
    tail = _buttons(reply, button_id)
    if reply.footer:
        tail.append(context(escape(reply.footer)))
    room = MAX_BLOCKS - len(head) - len(tail)
    if len(body) > room:
        body = [
            *body[: room - 1],
            context(escape(catalogue.text("replies.render.more_in_details"))),
        ]
    return head + body + tail


def render_message(
    reply: Reply, button_id: ButtonId | None = None, colours: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The message for one reply: blocks and fallback text. A reply with a colour for its tone
    (a verdict) keeps its header on top and the rest in an attachment, whose bar shows that
    colour, as Discord's embed colour does. The 50-block limit counts both together."""
    blocks = render_blocks(reply, button_id)
    text = fallback_text(reply)
    colour = (colours or {}).get(reply.tone)
    if not colour or len(blocks) < 2:
        return {"blocks": blocks, "text": text}
    bar = {"color": colour, "blocks": blocks[1:], "fallback": text}
    return {"blocks": blocks[:1], "attachments": [bar], "text": text}


def fallback_text(reply: Reply) -> str:
    """The notification / screen-reader text that goes with blocks."""
    text = reply.title + (f": {reply.summary}" if reply.summary else "")
    return truncate(escape(text), MAX_FALLBACK)


HOME_CHECK_ACTION = "home_open_check_modal"


# -- surfaces ------------------------------------------------------------------------------
def home_view() -> dict[str, Any]:
    m = catalogue.table("slack.home")
    blocks: list[Block] = [
        header(m["title"]),
        section(escape(m["intro"])),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "style": "primary",
                    "text": plain(m["check_button"], MAX_BUTTON),
                    "action_id": HOME_CHECK_ACTION,
                }
            ],
        },
        {"type": "divider"},
        section(f"*{escape(m['how_title'])}*\n" + "\n".join(f"• {escape(x)}" for x in m["how"])),
        section(f"*{escape(m['limits_title'])}*\n{escape(m['limits'])}"),
        section(f"*{escape(m['privacy_title'])}*\n{escape(m['privacy'])}"),
    ]
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


MODAL_CALLBACK = "headshot_check_modal"
PHOTO_BLOCK, PHOTO_ACTION = "photo", "files"
CONTEXT_BLOCK, CONTEXT_ACTION = "context", "value"
IMAGE_FILETYPES = ("jpg", "jpeg", "png", "webp", "gif", "heic", "heif")


def check_modal(contexts: Iterable[str], max_files: int = 5) -> dict[str, Any]:
    m = catalogue.table("slack.modal")
    options = [{"text": plain(context_label(c), 75), "value": c} for c in contexts][:100]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": plain(m["title"], 24),
        "submit": plain(m["submit"], 24),
        "close": plain(m["close"], 24),
        "blocks": [
            {
                "type": "input",
                "block_id": PHOTO_BLOCK,
                "label": plain(m["photo_label"], 2000),
                "hint": plain(m["photo_hint"], 2000),
                "element": {
                    "type": "file_input",
                    "action_id": PHOTO_ACTION,
                    "filetypes": list(IMAGE_FILETYPES),
                    "max_files": max(1, min(max_files, 10)),
                },
            },
            {
                "type": "input",
                "block_id": CONTEXT_BLOCK,
                "optional": True,
                "label": plain(m["context_label"], 2000),
                "element": {
                    "type": "static_select",
                    "action_id": CONTEXT_ACTION,
                    "placeholder": plain(m["context_placeholder"], 150),
                    "options": options,
                },
            },
        ],
    }
