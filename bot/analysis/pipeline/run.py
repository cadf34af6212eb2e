"""Analyse one file: intake, every enabled check under a time budget, then the verdict.

Synchronous and CPU-bound by design: it runs inside the process pool (bot.core.pool),
never on the event loop.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from bot import messages
from bot.analysis.checks import CheckContext, enabled_checks
from bot.analysis.intake.decode import open_photo
from bot.analysis.intake.photo import Photo
from bot.analysis.intake.refusals import IntakeError
from bot.analysis.intake.sniff import carries_c2pa
from bot.analysis.pipeline.findings import CheckRun, CheckSkipped, Finding, RunStatus
from bot.analysis.pipeline.report import Report
from bot.analysis.pipeline.verdict import decide, not_checked_note, rank_findings
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)


class CheckTimeout(Exception):
    pass


@contextmanager
def _budget(seconds: float) -> Iterator[None]:
    """Interrupt Python code that runs past its budget (only possible on the main thread)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise CheckTimeout

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def analyze(
    data: bytes,
    filename: str = "photo",
    settings: Settings | None = None,
    annotate: bool = True,
    sha256: str | None = None,
) -> Report:
    """annotate=False: no explanatory picture (callers that never show it, such as the audit,
    save its ~5–10 ms of drawing and PNG encoding per photo). sha256: the caller's digest of
    `data`, when it already made one for its cache."""
    settings = settings or get_settings()
    started = time.perf_counter()
    digest = sha256 or hashlib.sha256(data).hexdigest()
    report = Report(filename=filename, sha256=digest, size_bytes=len(data))
    try:
        photo = open_photo(data, filename, settings.limits)
    except IntakeError as exc:
        report.error_code, report.error = exc.code, exc.message
        report.elapsed_ms = (time.perf_counter() - started) * 1000
        return report
    report.format, report.width, report.height = photo.format, photo.width, photo.height
    report.frames = photo.frames
    report.metadata = _containers(photo)
    ctx = CheckContext(settings=settings)
    for check in enabled_checks(settings):
        findings, run = _run_check(check, photo, ctx, settings.limits.check_time_budget_s)
        report.findings.extend(findings)
        report.runs.append(run)
        # A check that defines annotate(photo, findings) draws a picture explaining its
        # findings; only one that ran has something to draw (a skipped one may lack its model).
        if annotate and hasattr(check, "annotate") and run.status == RunStatus.RAN:
            report.annotated_png = _annotate(check, photo, findings)
            report.annotated_by = check.NAME if report.annotated_png else None
    report.findings = rank_findings(report.findings)
    report.verdict = decide(report.findings, report.runs, _notes(photo, report.metadata))
    report.elapsed_ms = (time.perf_counter() - started) * 1000
    return report


def _run_check(
    check: ModuleType, photo: Photo, ctx: CheckContext, budget: float
) -> tuple[list[Finding], CheckRun]:
    t0 = time.perf_counter()

    def took() -> float:
        return (time.perf_counter() - t0) * 1000

    try:
        with _budget(budget):
            findings = list(check.run(photo, ctx))
    except CheckSkipped as exc:
        return [], CheckRun(check.NAME, RunStatus.SKIPPED, str(exc), took())
    except CheckTimeout:
        note = messages.text("checks.stopped.timeout", seconds=f"{budget:g}")
        return [], CheckRun(check.NAME, RunStatus.TIMEOUT, note, took())
    except MemoryError:
        note = messages.text("checks.stopped.out_of_memory")
        return [], CheckRun(check.NAME, RunStatus.FAILED, note, took())
    except Exception as exc:  # one broken check never sinks the report
        log.warning("check %s failed on %s: %r", check.NAME, photo.filename, exc)
        note = messages.text("checks.stopped.internal_error")
        return [], CheckRun(check.NAME, RunStatus.FAILED, note, took())
    return findings, CheckRun(check.NAME, RunStatus.RAN, "", took())


def _annotate(check: ModuleType, photo: Photo, findings: list[Finding]) -> bytes | None:
    try:
        png: bytes | None = check.annotate(photo, findings)  # a module: its functions are Any
    except Exception as exc:
        log.warning("annotation failed: %r", exc)
        return None
    return png


def _containers(photo: Photo) -> tuple[str, ...]:
    present = {
        "exif": bool(photo.exif),
        "xmp": bool(photo.xmp),
        "text": bool(photo.text_chunks),
        "c2pa": carries_c2pa(photo.data),
    }
    return tuple(kind for kind, there in present.items() if there)


def _notes(photo: Photo, containers: tuple[str, ...]) -> list[str]:
    notes = []
    if not containers:
        notes.append(not_checked_note("no_metadata"))
    if photo.animated:
        notes.append(not_checked_note("animated"))
    if photo.damaged_chunks:
        notes.append(not_checked_note("damaged_metadata"))
    return notes
