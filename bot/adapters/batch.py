"""`headshot-bot check` over many files, as people run it.

Arguments are files, folders (searched recursively for photo files, in sorted order), patterns
the shell did not expand (`'photos/*.jpg'`) and `-` (one photo on standard input). Files are
read only when a slot is free, so a few are in memory at a time, never the whole batch.

Output streams as files finish. Text and CSV come in the order of the command line: each file's
result is printed as soon as those before it are done, so the output reads like the list that
was given, while the progress bar (stderr, on a terminal; plain lines otherwise) shows that work
goes on. `--jsonl` writes each result the moment it is ready, in any order (every line names its
path); `--json` prints one list at the end. A summary table goes to stderr.

SIGINT and SIGTERM stop the batch: no new file starts, what is in flight is cancelled, the
summary of what was done is printed (marked "interrupted"), the pool is shut down, and the exit
status is 128 + the signal's number (130, 143), as shells do.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import glob
import json
import logging
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import messages
from bot.adapters.console import IMAGE_SUFFIXES, unique_path
from bot.analysis.pipeline.report import Report
from bot.audit.avatar import top_evidence
from bot.audit.reports import csv_safe
from bot.core import compose
from bot.core.reply import Reply
from bot.core.request import ImageInput, Platform
from bot.core.service import HeadshotService
from bot.errors import too_large_message
from bot.render.text import render_text
from bot.settings import get_settings

log = logging.getLogger(__name__)
GLOB_CHARS = frozenset("*?[")
CSV_FIELDS = ["file", "verdict", "strength", "top_evidence", "error_code"]


# -- what to check ----------------------------------------------------------------------------
@dataclass
class Source:
    label: str  # as given or found: a path, or "-"
    path: Path | None = None  # None for standard input
    data: bytes | None = None  # standard input, read before the batch starts
    problem: tuple[str, str] | None = None  # (code, message): not even read

    @property
    def filename(self) -> str:
        return self.path.name if self.path is not None else "stdin"


def expand(args: list[str]) -> list[Source]:
    """One Source per file to check, in command-line order."""
    sources: list[Source] = []
    for arg in args:
        sources.extend(_expand_one(arg, stdin_taken=any(s.label == "-" for s in sources)))
    return sources


def _expand_one(arg: str, stdin_taken: bool) -> list[Source]:
    if arg == "-":
        return [_stdin_source(stdin_taken)]
    path = Path(arg).expanduser()
    if path.is_dir():
        found = _photos_in([path])
        return found or [Source(arg, path, problem=_problem("empty_folder"))]
    if not path.exists() and GLOB_CHARS & set(arg):
        matches = [Path(m) for m in sorted(glob.glob(str(path), recursive=True))]
        found = _photos_in(matches)
        return found or [Source(arg, path, problem=_problem("no_match"))]
    return [Source(arg, path)]


def _photos_in(paths: list[Path]) -> list[Source]:
    """Photo files among `paths`, folders searched recursively, each folder's in sorted order."""
    found: list[Source] = []
    for path in paths:
        inside = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [
            Source(str(p), p) for p in inside if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        ]
    return found


def _stdin_source(taken: bool) -> Source:
    if taken:
        return Source("-", problem=_problem("stdin_twice"))
    if sys.stdin is None or sys.stdin.isatty():
        return Source("-", problem=_problem("stdin_terminal"))
    limit = get_settings().limits.max_bytes
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        return Source("-", problem=("too_large", too_large_message(limit)))
    return Source("-", data=data)


def _problem(key: str, **fmt: object) -> tuple[str, str]:
    """(code, message) for a file that is not even read (config/messages.toml [cli.problems])."""
    return key, messages.text(f"cli.problems.{key}", **fmt)


def unreadable(path: Path) -> tuple[str, str] | None:
    """(code, message) when `path` cannot be read as a photo file; None when it can."""
    if path.is_dir():
        return _problem("is_a_directory")
    if not path.exists():
        return _problem("file_not_found")
    if not path.is_file():  # /dev/zero, a pipe: reading it could never end
        return _problem("not_a_file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        return _problem("unreadable", why=exc.strerror or exc)
    limit = get_settings().limits.max_bytes
    if path.stat().st_size > limit:  # refused before it is read into memory
        return "too_large", too_large_message(limit)
    return None


# -- checking ---------------------------------------------------------------------------------
@dataclass
class Done:
    index: int
    source: Source
    report: Report | None = None
    problem: tuple[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok

    @property
    def error_code(self) -> str | None:
        if self.problem:
            return self.problem[0]
        return self.report.error_code if self.report else None


Note = Callable[[str], None]


async def checked(
    service: HeadshotService, sources: list[Source], window: int, strip: Path | None, note: Note
) -> AsyncIterator[Done]:
    """Each source's result as it finishes, with at most `window` files in flight."""
    pending: set[asyncio.Task[Done]] = set()
    try:
        for index, source in enumerate(sources):
            while len(pending) >= window:
                finished, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
                for task in sorted(finished, key=lambda t: t.result().index):
                    yield task.result()
            pending.add(asyncio.create_task(_check_one(service, index, source, strip, note)))
        while pending:
            finished, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
            for task in sorted(finished, key=lambda t: t.result().index):
                yield task.result()
    finally:  # interrupted: nothing in flight outlives the batch
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _check_one(
    service: HeadshotService, index: int, source: Source, strip: Path | None, note: Note
) -> Done:
    try:
        return await _check_source(service, index, source, strip, note)
    except OSError as exc:  # the file went away or became unreadable since it was listed
        return Done(index, source, problem=_problem("unreadable", why=exc.strerror or exc))
    except Exception:  # one file's failure must not end the batch
        log.exception("checking %s failed", source.label)
        return Done(index, source, problem=_problem("internal_error"))


async def _check_source(
    service: HeadshotService, index: int, source: Source, strip: Path | None, note: Note
) -> Done:
    problem = source.problem or (unreadable(source.path) if source.path else None)
    if problem:
        return Done(index, source, problem=problem)
    data = source.data
    if data is None:
        assert source.path is not None
        data = await asyncio.to_thread(source.path.read_bytes)
    image = ImageInput(source.filename, data)
    report = await service.check(image)
    if strip is not None and report.ok:
        await _write_stripped(service, image, strip, note)
    return Done(index, source, report=report)


async def _write_stripped(
    service: HeadshotService, image: ImageInput, out: Path, note: Note
) -> None:
    copy = await service.stripped_copy(image)
    if copy is None:
        note(messages.text("cli.strip_failed", file=image.filename))
        return
    target = unique_path(out, copy.filename)  # same names from different folders: no overwrite
    try:
        target.write_bytes(copy.data)
    except OSError as exc:
        note(messages.text("cli.strip_failed", file=f"{image.filename} ({exc.strerror or exc})"))
        return
    note(messages.text("cli.strip_written", path=target))


# -- output -----------------------------------------------------------------------------------
class InOrder:
    """Hands results back in command-line order: each as soon as all before it are in."""

    def __init__(self) -> None:
        self._waiting: dict[int, Any] = {}
        self._next = 0

    def put(self, index: int, item: Any) -> list[Any]:
        self._waiting[index] = item
        ready = []
        while self._next in self._waiting:
            ready.append(self._waiting.pop(self._next))
            self._next += 1
        return ready

    def rest(self) -> list[Any]:
        """What is in after a gap (an interrupted batch): printed anyway, in order."""
        ready = [self._waiting[i] for i in sorted(self._waiting)]
        self._waiting.clear()
        return ready


class Output:
    """Writes results to stdout in the chosen format; only formatted text is kept waiting."""

    def __init__(self, args: argparse.Namespace, service: HeadshotService) -> None:
        self.args, self.service = args, service
        self.order = InOrder()
        self.entries: list[tuple[int, dict[str, Any]]] = []
        self.csv = csv.DictWriter(sys.stdout, CSV_FIELDS, lineterminator="\n")
        if args.csv:
            self.csv.writeheader()

    def emit(self, done: Done) -> None:
        if self.args.jsonl:
            print(json.dumps(json_entry(done), ensure_ascii=False), flush=True)
        elif self.args.json:
            self.entries.append((done.index, json_entry(done)))
        else:
            self._write(self.order.put(done.index, self._format(done)))

    def close(self) -> None:
        if self.args.json:
            print(json.dumps([e for _, e in sorted(self.entries, key=lambda p: p[0])], indent=2))
        elif not self.args.jsonl:
            self._write(self.order.rest())

    def _format(self, done: Done) -> Any:
        return csv_row(done) if self.args.csv else self._text(done)

    def _write(self, items: list[Any]) -> None:
        for item in items:
            if self.args.csv:
                self.csv.writerow(item)
            else:
                print(item + "\n")
        sys.stdout.flush()

    def _text(self, done: Done) -> str:
        if done.problem:
            return render_text(compose.error_reply(done.source.label, done.problem[1]))
        assert done.report is not None
        reply = compose.check_reply(
            done.report, self.service.guide, self.args.context, platform=Platform.CLI
        )
        hint = text_hints(self.args, done.report, reply)
        return render_text(reply, pages=self.args.more, hint=hint)


def text_hints(args: argparse.Namespace, report: Report, reply: Reply) -> list[str]:
    """What to type for what chat users get from buttons: --more (naming the reply's pages),
    and --strip."""
    hints = [] if args.more or not reply.pages else [compose.more_hint(reply, Platform.CLI)]
    if report.ok and report.privacy and not args.strip:
        hints.append(messages.text("check.cli_strip_hint"))
    return hints


# The keys of Report.to_dict(), for entries of files that could not even be read.
_JSON_KEYS = list(Report("", "", 0).to_dict())


def json_entry(done: Done) -> dict[str, Any]:
    """Every entry has the same keys, whether the file was checked or not."""
    if done.problem:
        code, message = done.problem
        entry: dict[str, Any] = dict.fromkeys(_JSON_KEYS)
        entry.update(file=done.source.filename, ok=False, error={"code": code, "message": message})
        entry.update(findings=[], checks=[], frames=0)
    else:
        assert done.report is not None
        entry = done.report.to_dict()
    entry["path"] = done.source.label
    return entry


def csv_row(done: Done) -> dict[str, str]:
    verdict = done.report.verdict if done.report and done.report.ok else None
    return {
        "file": csv_safe(done.source.label),
        "verdict": verdict.label.value if verdict else "",
        "strength": verdict.strength.value if verdict and verdict.strength else "",
        "top_evidence": csv_safe(top_evidence(done.report)) if verdict and done.report else "",
        "error_code": done.error_code or "",
    }


# -- progress and summary ---------------------------------------------------------------------
@dataclass
class Tally:
    total: int
    started: float = field(default_factory=time.monotonic)
    verdicts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, done: Done) -> None:
        if done.ok and done.report and done.report.verdict:
            self.verdicts[done.report.verdict.title] += 1
        else:
            self.errors[done.error_code or "unknown"] += 1

    @property
    def done(self) -> int:
        return self.verdicts.total() + self.errors.total()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Progress:
    """A rich progress bar with ETA on a terminal; a plain line at most every second
    otherwise. Notes (files written) go above the bar."""

    def __init__(self, tally: Tally) -> None:
        from rich.console import Console

        self.tally = tally
        self.console = Console(stderr=True, highlight=False)
        self.bar = None
        self._last_line = 0.0
        if self.console.is_terminal and tally.total > 1:
            from rich import progress as p

            self.bar = p.Progress(
                p.TextColumn(messages.text("cli.progress_label")),
                p.BarColumn(),
                p.MofNCompleteColumn(),
                p.TimeElapsedColumn(),
                p.TextColumn(messages.text("cli.progress_eta")),
                p.TimeRemainingColumn(),
                console=self.console,
                transient=True,
                redirect_stdout=sys.stdout.isatty(),  # results on the same terminal go above it
            )
            self.task = self.bar.add_task("check", total=tally.total)

    def __enter__(self) -> Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)
            return
        t = self.tally
        now = time.monotonic()
        if t.total > 1 and (now - self._last_line >= 1.0 or t.done == t.total):
            self._last_line = now
            left = t.elapsed / t.done * (t.total - t.done)
            line = messages.text(
                "cli.progress_line",
                done=t.done,
                total=t.total,
                errors=t.errors.total(),
                s=t.elapsed,
                left=left,
            )
            print(line, file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        self.console.print(text, markup=False)


def show_summary(console: Any, tally: Tally, signum: int | None) -> None:
    from rich.table import Table

    table = Table(title=messages.text("cli.summary.title"), title_justify="left")
    table.add_column(messages.text("cli.summary.result"))
    table.add_column(messages.text("cli.summary.files"), justify="right")
    for title, n in tally.verdicts.most_common():
        table.add_row(title, str(n))
    for code, n in tally.errors.most_common():
        table.add_row(messages.text("cli.summary.error", code=code), str(n))
    done = messages.text("cli.summary.done", done=tally.done, total=tally.total, s=tally.elapsed)
    if signum is not None:
        stop = messages.text("cli.summary.interrupted", signal=signal.Signals(signum).name)
        done += " " + stop
    table.caption, table.caption_justify = done, "left"
    console.print(table)


# -- the batch --------------------------------------------------------------------------------
async def check_files(
    service: HeadshotService, sources: list[Source], args: argparse.Namespace
) -> int:
    """Check `sources`, write the results, and return the exit status."""
    tally = Tally(len(sources))
    output = Output(args, service)
    window = 1 if service.pool.inline else 2 * service.pool.workers
    main = asyncio.current_task()
    assert main is not None  # run by asyncio.run
    interrupted = _stop_on_signals(main)
    progress = Progress(tally)
    try:
        with progress:
            async for done in checked(service, sources, window, args.strip, progress.note):
                tally.add(done)
                output.emit(done)
                progress.advance()
    except asyncio.CancelledError:
        if not interrupted:
            raise
        main.uncancel()
    finally:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    output.close()
    signum = interrupted[0] if interrupted else None
    show_summary(progress.console, tally, signum)
    if signum is not None:
        return 128 + signum
    return 0 if tally.errors.total() == 0 else 2


def _stop_on_signals(main: asyncio.Task[Any] | None) -> list[int]:
    """On SIGINT/SIGTERM, note the signal and cancel `main`; the list holds the signal."""
    received: list[int] = []
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        if not received and main is not None:
            received.append(signum)
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    return received
