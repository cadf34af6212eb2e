"""Hostile and broken inputs through the whole pipeline: a clean refusal or a clean report.

Each case runs in its own child process under an address-space cap and a hard timeout, so a
regression that hangs, crashes or eats memory fails its test instead of taking CI down. The
children are forked from one case server, a spawned process that has imported the bot and
warmed every check like a pool worker: each child starts warm (timed on the analysis, not on
imports) and none inherits the test runner's state (or depends on its global forkserver).
Peak RSS is measured per case (VmHWM after resetting it) and printed at the end of the
module (`pytest -s`).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import resource
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hostile_cases import CASES, Case, png_49_megapixels

TIME_LIMIT_S = 5.0  # what analyze() may take on one hostile file
HARD_KILL_S = 60.0  # a child still alive after this is a hang (the machine may be busy)
MEMORY_CAP_MB = 1024  # address space a case may add on top of the imported interpreter
PEAK_RSS_LIMIT_MB = 400  # none of these files justifies more

_PEAKS: dict[str, tuple[str, float, float]] = {}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(path: str, filename: str, cap_mb: int, conn: Any) -> None:
    """Runs in the child: cap memory, reset the RSS high-water mark, analyse, send back."""
    from bot.analysis.pipeline.run import analyze

    cap = _status_kb("VmSize") * 1024 + cap_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    rss_before = _status_kb("VmRSS")
    data = Path(path).read_bytes()
    t0 = time.perf_counter()
    try:
        report = analyze(data, filename)
        out: dict[str, Any] = {"report": json.loads(json.dumps(report.to_dict(), default=str))}
    except BaseException as exc:  # the point: report any escape instead of dying silently
        out = {"exception": f"{type(exc).__name__}: {exc}"[:500]}
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = _status_kb("VmHWM") / 1024
    out["added_rss_mb"] = max(0.0, (_status_kb("VmHWM") - rss_before) / 1024)
    conn.send(out)
    conn.close()


def _case_server(conn: Any) -> None:
    """Spawned once: warm up, then fork one child per case and report what came back."""
    from bot.analysis.pipeline.worker import warm_up

    warm_up()
    fork = mp.get_context("fork")
    while (request := conn.recv()) is not None:
        path, filename, cap_mb = request
        parent, child = fork.Pipe(duplex=False)
        proc = fork.Process(target=_child, args=(path, filename, cap_mb, child))
        proc.start()
        child.close()
        result = None
        if parent.poll(HARD_KILL_S):
            with contextlib.suppress(EOFError):  # the child died without answering
                result = parent.recv()
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        conn.send((result, proc.exitcode))


@pytest.fixture(scope="module")
def server() -> Any:
    spawn = mp.get_context("spawn")
    conn, theirs = spawn.Pipe()
    # not a daemon: daemons may not have children. If pytest dies, the pipe closes and the
    # server's recv() ends it.
    proc = spawn.Process(target=_case_server, args=(theirs,))
    proc.start()
    theirs.close()  # so that a dead server reads as EOF here, not as silence
    yield conn
    conn.send(None)
    proc.join(10)
    if proc.is_alive():
        proc.kill()
    if _PEAKS:
        print("\ncase                               outcome              seconds  peak RSS MB")
        for name, (outcome, secs, peak) in _PEAKS.items():
            print(f"{name:34} {outcome:20} {secs:7.3f}  {peak:8.1f}")


def run_case(
    server: Any, case: Case, tmp_path: Path, cap_mb: int = MEMORY_CAP_MB
) -> dict[str, Any]:
    path = tmp_path / "input.bin"
    path.write_bytes(case.build())
    server.send((str(path), case.filename, cap_mb))
    assert server.poll(HARD_KILL_S + 60), f"{case.name}: the case server stopped answering"
    result, exitcode = server.recv()
    assert result is not None, f"{case.name}: no answer (exit code {exitcode}); hang or crash"
    return result


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_gets_a_clean_answer(server: Any, case: Case, tmp_path: Path) -> None:
    result = run_case(server, case, tmp_path)
    assert "exception" not in result, f"{case.name} escaped: {result.get('exception')}"
    report = result["report"]
    outcome = report["error"]["code"] if report["error"] else "ok"
    _PEAKS[case.name] = (outcome, result["seconds"], result["peak_rss_mb"])
    assert outcome in case.outcomes, f"{case.name}: got {outcome}: {report['error']}"
    assert result["seconds"] < TIME_LIMIT_S, f"{case.name} took {result['seconds']:.1f} s"
    assert result["added_rss_mb"] < PEAK_RSS_LIMIT_MB, f"{case.name}: {result['added_rss_mb']} MB"
    if report["error"]:
        _assert_human_message(report["error"]["message"], case)
    else:
        assert report["verdict"] is not None and report["width"] > 0
        assert all(c["status"] in {"ran", "skipped", "failed", "timeout"} for c in report["checks"])
    assert "root:x:0" not in json.dumps(report), "file contents leaked into the report (XXE)"


def _assert_human_message(message: str, case: Case) -> None:
    assert message and message[0].isupper() and message.endswith("."), message
    assert len(message) < 240, message
    for leak in ("Traceback", "Error", "errno", "0x", "<", "PIL", "cannot identify"):
        assert leak not in message, f"{case.name}: internal wording in {message!r}"
    if case.needle:
        assert case.needle in message, f"{case.name}: {message!r} should name {case.needle!r}"


def test_cases_cover_the_required_kinds() -> None:
    assert len(CASES) >= 24
    assert len({c.name for c in CASES}) == len(CASES)


def test_running_out_of_memory_while_decoding_is_a_clean_refusal(
    server: Any, tmp_path: Path
) -> None:
    """A legal 49-megapixel image in a process allowed only 20 MB more: MemoryError inside
    Pillow must become a coded refusal, not a crash. (20, not 100: the image encoder's runtime
    leaves freed heap inside the process's address space at rest, which the decode can reuse.)"""
    case = Case(
        "png_49mp_under_100mb_cap", "big.png", png_49_megapixels, frozenset({"too_complex"})
    )
    result = run_case(server, case, tmp_path, cap_mb=20)
    assert "exception" not in result, result.get("exception")
    error = result["report"]["error"]
    assert error and error["code"] == "too_complex", error
    _assert_human_message(error["message"], case)
