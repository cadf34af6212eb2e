"""A local chat in the terminal, using the same core as the chat adapters.

Type a path to check a photo, anything else to ask a question; end a line with a backslash to
go on to the next (a question of several paragraphs); "more" shows the last reply's details and
disclosure text; "strip" saves metadata-free copies; "clear" clears the screen; "help";
"quit" or "exit" (or Ctrl-D) leaves."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from bot import messages
from bot.core.compose import error_reply, more_hint
from bot.core.reply import Reply, Section
from bot.core.request import ImageInput, Kind, Platform, Request
from bot.core.service import HeadshotService
from bot.render.text import render_text

CLEAR_SCREEN = "\033[H\033[2J"

MORE_WORDS = ("more", "details")
QUIT_WORDS = ("quit", "exit", "q")
IMAGE_SUFFIXES = (
    *(".jpg", ".jpeg", ".jfif", ".png", ".apng", ".webp", ".gif"),
    *(".heic", ".heif", ".avif", ".tif", ".tiff", ".bmp"),
)


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
            return [_said("nothing_more", messages.text("console.check_first"))]
        return [Reply(title=r.title, pages=r.pages, actions=r.actions) for r in last]
    if text.lower() == "strip":
        return _save_stripped(last, Path.cwd())
    if text.lower() in ("help", "?"):
        return await service.handle(Request(Kind.HELP, Platform.CONSOLE))
    missing = _meant_as_paths(text)
    if missing:
        return [_not_found(w) for w in missing]
    paths = _paths(text)
    if paths:
        images = [ImageInput(p.name, p.read_bytes()) for p in paths]
        return await service.handle(Request(Kind.CHECK, Platform.CONSOLE, images=images))
    return await service.handle(Request(Kind.ASK, Platform.CONSOLE, text=text))


def _save_stripped(last: list[Reply], folder: Path) -> list[Reply]:
    """'strip': save the metadata-free copies the last check offered (the chat apps' "Strip
    metadata" button), in the current folder, never over an existing file."""
    offers = [r.offers["strip"] for r in last if "strip" in r.offers]
    if not offers:
        why = "console.strip.nothing_in_last" if last else "console.check_first"
        return [_said("strip.nothing", messages.text(why))]
    saved = []
    for offer in offers:
        target = unique_path(folder, offer.filename)
        target.write_bytes(offer.data)
        saved.append(str(target))
    summary = " ".join(dict.fromkeys(offer.note for offer in offers))
    files = Section(messages.text("console.strip.files"), saved)
    return [Reply(title=messages.text("console.strip.saved"), summary=summary, sections=[files])]


def _said(title: str, summary: str) -> Reply:
    """A short answer of the console's own, titled from config/messages.toml [console]."""
    return Reply(title=messages.text(f"console.{title}"), summary=summary)


def unique_path(folder: Path, filename: str) -> Path:
    """`folder/filename`, or `stem-1.ext`, `stem-2.ext`… when it exists: never overwrite."""
    target, n = folder / filename, 1
    while target.exists():
        target = folder / f"{Path(filename).stem}-{n}{Path(filename).suffix}"
        n += 1
    return target


def _not_found(word: str) -> Reply:
    why = "is_a_folder" if Path(word).expanduser().is_dir() else "no_file"
    return error_reply(word, messages.text(f"console.not_found.{why}"))


class Chat:
    """The console's memory between turns: the last check (for 'more' and 'strip') and what was
    typed, so the bot never suggests a question that was just asked."""

    def __init__(self, service: HeadshotService) -> None:
        self.service = service
        self.last: list[Reply] = []
        self.asked: set[str] = set()

    async def turn(self, entry: str) -> list[str]:
        """The rendered replies to one entry."""
        more = entry.strip().lower() in MORE_WORDS
        replies = await respond(self.service, entry, self.last)
        if replies and any(r.pages for r in replies) and not more:
            self.last = replies
        self.asked.add(_normal(entry))
        out = []
        for reply in replies:
            self._drop_asked(reply)
            hint = [more_hint(reply, Platform.CONSOLE)] if reply.pages and not more else []
            if "strip" in reply.offers:
                hint.append(messages.text("check.console_strip_hint"))
            out.append(render_text(reply, pages=more, hint=hint))
        return out

    def _drop_asked(self, reply: Reply) -> None:
        """Follow-up suggestions come from the guidance, which knows nothing of this chat."""
        for section in reply.sections:
            section.lines = [line for line in section.lines if _normal(line) not in self.asked]
        reply.sections = [s for s in reply.sections if s.lines]


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


def read_entry(read: Callable[[str], str]) -> str:
    """One entry: a line, or several when each but the last ends in a backslash (the
    paragraphs of a longer question stay on their own lines)."""
    lines = [read(messages.text("console.prompt"))]
    while lines[-1].endswith("\\"):
        lines[-1] = lines[-1][:-1]
        lines.append(read(messages.text("console.more_prompt")))
    return "\n".join(lines)


def run_console(
    service: HeadshotService,
    read: Callable[[str], str] = input,
    write: Callable[[str], object] = print,
) -> int:
    """The chat loop. Ctrl-C clears the line (twice in a row leaves), and stops a check that
    takes too long; Ctrl-D, 'quit' or 'exit' leave; SIGTERM leaves with status 0. Input is
    read on the main thread, where readline edits lines and Ctrl-C reaches it; each turn runs
    on one event loop kept for the whole session."""
    if read is input:
        _line_editing()
    write(messages.text("console.intro"))
    chat = Chat(service)
    restore = _exit_on_sigterm()
    try:
        with asyncio.Runner() as runner:
            return _loop(runner, chat, read, write)
    except KeyboardInterrupt:  # Ctrl-C pressed again before the prompt was back: leave
        write("")
        return 0
    finally:
        restore()


def _loop(
    runner: asyncio.Runner, chat: Chat, read: Callable[[str], str], write: Callable[[str], object]
) -> int:
    interrupted = False
    while True:
        try:
            entry = read_entry(read)
        except EOFError:
            write("")
            return 0
        except KeyboardInterrupt:
            if interrupted:
                write("")
                return 0
            interrupted = True
            write("\n" + messages.text("console.ctrl_c"))
            continue
        interrupted = False
        command = entry.strip().lower()
        if command in QUIT_WORDS:
            return 0
        if command == "clear":
            if sys.stdout.isatty():
                write(CLEAR_SCREEN)
            continue
        if not command:
            continue
        try:
            for text in runner.run(chat.turn(entry)):
                write(text)
                write("")
        except KeyboardInterrupt:
            write(messages.text("console.stopped"))
        sys.stdout.flush()


def _line_editing() -> None:
    """Arrow keys, Ctrl-R and the session's history, where stdin is a terminal. History is not
    saved to disk: what was asked and which files were checked stays in this session."""
    if sys.stdin.isatty():
        import readline  # noqa: F401 - importing it is what gives input() line editing


def _exit_on_sigterm() -> Callable[[], None]:
    """SIGTERM (docker stop, systemd, kill) ends the chat like 'quit': SystemExit(0) unwinds
    through the callers' cleanup, which shuts the analysis pool down.

    Python runs a signal handler only when the main thread gets back to Python code. Inside
    readline that happens only if the signal interrupts its wait for a key, so a signal that
    lands between two keys would wait for the next one. A small thread hears of the signal
    through the wakeup fd and sends it again to the main thread until the handler has run."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    handled = threading.Event()

    def leave(signum: int, frame: object) -> None:
        if not handled.is_set():  # once: a second SIGTERM must not break the cleanup
            handled.set()
            raise SystemExit(0)

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous = signal.signal(signal.SIGTERM, leave)
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    main = threading.main_thread().ident
    assert main is not None

    def resend() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as wakeups:
            for numbers in iter(lambda: wakeups.read(64), b""):  # until restore() closes it
                if signal.SIGTERM in numbers:
                    while not handled.wait(0.2):
                        signal.pthread_kill(main, signal.SIGTERM)
                    return

    threading.Thread(target=resend, name="sigterm-resend", daemon=True).start()

    def restore() -> None:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGTERM, previous)
        os.close(write_end)  # the thread's read ends, and so does the thread

    return restore
