"""A local chat in the terminal, using the same core as the chat adapters.

Type a path to check a photo, anything else to ask a question; "more" shows the last
reply's details and disclosure text; "strip" saves metadata-free copies; "quit" leaves."""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from bot.core.compose import messages, more_hint
from bot.core.reply import STRIPPED_SUMMARY, Reply, Section
from bot.core.request import ImageInput, Kind, Request
from bot.core.service import HeadshotService
from bot.render.text import render_text

PROMPT = "you> "
STRIP_HINT = messages()["check"]["console_strip_hint"]
INTRO = (
    "Headshot Check console. Type a photo's path to check it, or ask a question "
    "(e.g. 'is an AI headshot ok on LinkedIn?'). 'more' shows details, 'help', 'quit'."
)


MORE_WORDS = ("more", "details")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".avif", ".tif")


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return []


def _paths(line: str) -> list[Path]:
    paths = [Path(w).expanduser() for w in _words(line)]
    return paths if paths and all(p.is_file() for p in paths) else []


def _meant_as_paths(line: str) -> list[str]:
    """Words that look like photo paths but are not files: a typo should not be answered as
    a question about headshots."""
    words = _words(line)
    looks = [w for w in words if w.lower().endswith(IMAGE_SUFFIXES) or w.startswith(("/", "~"))]
    if not words or len(looks) != len(words):
        return []
    return [w for w in words if not Path(w).expanduser().is_file()]


async def respond(service: HeadshotService, line: str, last: list[Reply]) -> list[Reply]:
    """One turn of the chat: what the bot says to `line`."""
    text = line.strip()
    if text.lower() in MORE_WORDS:
        if not last:
            return [Reply(title="Nothing more to show", summary="Check a photo first.")]
        return [Reply(title=r.title, pages=r.pages, actions=r.actions) for r in last]
    if text.lower() == "strip":
        return _save_stripped(last, Path.cwd())
    if text.lower() in ("help", "?"):
        return await service.handle(Request(Kind.HELP, "console"))
    missing = _meant_as_paths(text)
    if missing:
        return [_not_found(w) for w in missing]
    paths = _paths(text)
    if paths:
        images = [ImageInput(p.name, p.read_bytes()) for p in paths]
        return await service.handle(Request(Kind.CHECK, "console", images=images))
    return await service.handle(Request(Kind.ASK, "console", text=text))


def _save_stripped(last: list[Reply], folder: Path) -> list[Reply]:
    """'strip': save the metadata-free copies the last check offered (the chat apps' "Strip
    metadata" button), in the current folder, never over an existing file."""
    offers = [r.offers["strip"] for r in last if "strip" in r.offers]
    if not offers:
        summary = "The last photo I checked had no personal metadata to remove."
        return [
            Reply(title="Nothing to strip", summary=summary if last else "Check a photo first.")
        ]
    saved = []
    for offer in offers:
        target = folder / offer.filename
        n = 1
        while target.exists():
            target = folder / f"{Path(offer.filename).stem}-{n}{Path(offer.filename).suffix}"
            n += 1
        target.write_bytes(offer.data)
        saved.append(str(target))
    return [Reply(title="Saved", summary=STRIPPED_SUMMARY, sections=[Section("Files", saved)])]


def _not_found(word: str) -> Reply:
    if Path(word).expanduser().is_dir():
        summary = "That is a folder, not a file. Type the paths of the photos in it."
    else:
        summary = "There is no file there. Check the spelling, or drag the file into this window."
    return Reply(title=f"I couldn't check {word}", summary=summary, tone="error")


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
        more = line.strip().lower() in MORE_WORDS
        replies = await respond(service, line, last)
        if replies and any(r.pages for r in replies) and not more:
            last = replies
        for reply in replies:
            hint = [more_hint(reply, "console_hint")] if reply.pages and not more else []
            if "strip" in reply.offers:
                hint.append(STRIP_HINT)
            write(render_text(reply, pages=more, hint=hint))
            write("")
        sys.stdout.flush()
