"""A local chat in the terminal, using the same core as the chat adapters.

Type a path to check a photo, anything else to ask a question; "more" shows the last
reply's details and disclosure text; "quit" leaves."""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from bot.core.reply import Reply
from bot.core.request import ImageInput, Kind, Request
from bot.core.service import HeadshotService
from bot.render.text import render_text

PROMPT = "you> "
INTRO = (
    "Headshot Check console. Type a photo's path to check it, or ask a question "
    "(e.g. 'is an AI headshot ok on LinkedIn?'). 'more' shows details, 'help', 'quit'."
)


def _paths(line: str) -> list[Path]:
    try:
        words = shlex.split(line)
    except ValueError:
        return []
    paths = [Path(w).expanduser() for w in words]
    return paths if paths and all(p.is_file() for p in paths) else []


async def respond(service: HeadshotService, line: str, last: list[Reply]) -> list[Reply]:
    """One turn of the chat: what the bot says to `line`."""
    text = line.strip()
    if text.lower() in ("more", "details"):
        return [Reply(title=r.title, pages=r.pages) for r in last] if last else []
    if text.lower() in ("help", "?"):
        return await service.handle(Request(Kind.HELP, "console"))
    paths = _paths(text)
    if paths:
        images = [ImageInput(p.name, p.read_bytes()) for p in paths]
        return await service.handle(Request(Kind.CHECK, "console", images=images))
    return await service.handle(Request(Kind.ASK, "console", text=text))


async def run_console(
    service: HeadshotService,
    read: Callable[[str], str] = input,
    write: Callable[[str], object] = print,
) -> int:
    write(INTRO)
    last: list[Reply] = []
    loop = asyncio.get_running_loop()
    while True:
        try:
            line = await loop.run_in_executor(None, read, PROMPT)
        except (EOFError, KeyboardInterrupt):
            write("")
            return 0
        if line.strip().lower() in ("quit", "exit", "q"):
            return 0
        if not line.strip():
            continue
        replies = await respond(service, line, last)
        if replies and any(r.pages for r in replies) and line.strip().lower() != "more":
            last = replies
        for reply in replies:
            write(render_text(reply, pages=line.strip().lower() == "more"))
            write("")
        sys.stdout.flush()
