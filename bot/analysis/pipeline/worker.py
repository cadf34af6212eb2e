"""Guards for the processes that analyse photos, and the main loop of bot.core.pool's workers.

`serve` runs one AnalysisPool worker: `init_worker`, then one call at a time over its own
pipe. `init_worker` also works as a ProcessPoolExecutor initializer:

    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("spawn"),  # or "forkserver"
        initializer=init_worker,
    )
    report = await loop.run_in_executor(pool, analyze_in_worker, data, filename)

`init_worker` caps the worker's address space (RLIMIT_AS, `limits.worker_memory_mb`), so a
file that slips past intake's limits ends in a MemoryError, which intake and the pipeline
turn into a coded refusal or a "failed" check, instead of the machine swapping or the OOM
killer choosing a victim. It also leaves Ctrl-C to the parent and keeps numerical libraries
to one thread each: the pool is the parallelism, and N workers × N BLAS threads only thrash.

Use a spawn or forkserver context: a forked worker inherits the parent's address space
(the whole bot), which counts against the cap, and numerical libraries already loaded there
have already started their thread pools.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import resource
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from bot import messages
from bot.analysis.pipeline.report import Report

log = logging.getLogger(__name__)

# Read by OpenBLAS, MKL, OpenMP, Accelerate, numexpr when they load: set before the first
# import of numpy/scipy/cv2 in this process.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def init_worker(memory_mb: int | None = None, warm: bool = True) -> None:
    """ProcessPoolExecutor initializer. memory_mb None: take `limits.worker_memory_mb`.
    warm: run one tiny analysis now, so checks load their models at start (under the cap),
    not while the first person waits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and shuts us down
    # Analysis yields to the event-loop process (gateway heartbeats) when cores are scarce.
    with contextlib.suppress(OSError):
        os.nice(5)
    for var in THREAD_VARS:
        os.environ[var] = "1"
    if "cv2" in sys.modules:  # already loaded (fork): tell it directly
        sys.modules["cv2"].setNumThreads(1)
    if memory_mb is None:
        from bot.settings import get_settings

        memory_mb = get_settings().limits.worker_memory_mb
    if memory_mb > 0:
        set_memory_cap(memory_mb)
    if warm and not _warmed:
        warm_up()


_warmed = False  # True in a process forked from a preloaded forkserver


def preload() -> None:
    """Before forking workers (the pool's forkserver): one thread each for the numerical
    libraries, then every import and model load, done once for all workers."""
    global _warmed
    for var in THREAD_VARS:
        os.environ[var] = "1"
    warm_up()
    _warmed = True


def serve(conn: Connection, parent: Connection, memory_mb: int | None, warm: bool) -> None:
    """Main loop of one AnalysisPool worker. Says ("ready", pid) once set up; then for each
    (fn, args) received: ("started", None) at once, then ("ok", result) or ("error", exc).

    `parent` is the read end of a pipe that only the pool holds open: when the pool's
    process is gone (closed, crashed, even SIGKILLed), it reads EOF and this worker exits,
    in the middle of a photo if need be, so no worker outlives the bot."""
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    init_worker(memory_mb, warm)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send(("started", None))
        conn.send_bytes(_call(message))


def _exit_with(parent: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        parent.recv()
    os._exit(0)


def _call(message: bytes) -> bytes:
    """Run one pickled (fn, args); the outcome, pickled. Never raises: a call that cannot be
    unpickled, fails, or returns what cannot be pickled comes back as ("error", exc)."""
    outcome: tuple[str, Any]
    try:
        fn, args = pickle.loads(message)
        outcome = ("ok", fn(*args))
    except Exception as exc:
        outcome = ("error", exc)
    try:
        return pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return pickle.dumps(("error", RuntimeError(f"the result could not be sent back: {exc!r}")))


def warm_up() -> None:
    """Import every check and let each load what it loads lazily, on a tiny photo."""
    import io

    from PIL import Image

    from bot.analysis.pipeline.run import analyze

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 110, 96)).save(buf, "PNG")
    try:
        analyze(buf.getvalue(), "warm-up.png")
    except Exception:  # a broken check shows up on real photos too; never block start-up
        log.exception("warm-up analysis failed")


def set_memory_cap(memory_mb: int) -> bool:
    """Cap this process's address space; False (and a warning) if it is already bigger."""
    cap = memory_mb * 1024 * 1024
    in_use = _vm_size()
    if in_use and in_use >= cap * 0.9:
        log.warning(
            "worker already uses %d MB of address space; not capping it at %d MB "
            "(raise limits.worker_memory_mb, or use a spawn/forkserver pool)",
            in_use >> 20,
            memory_mb,
        )
        return False
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return True


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def analyze_in_worker(data: bytes, filename: str = "photo") -> Report:
    """Analyse in this worker and return the Report (it pickles: plain dataclasses and enums).

    Never raises for a bad file: running out of memory outside intake's own handling still
    comes back as a coded refusal, so one photo cannot fail a batch.
    """
    from bot.analysis.pipeline.run import analyze  # imported here: after init_worker's settings

    try:
        return analyze(data, filename)
    except MemoryError:
        too_complex = messages.text("intake.refusals.check_too_complex")
        return _refusal(data, filename, "too_complex", too_complex)
    except Exception:
        log.exception("analysis crashed on %s", filename)
        internal = messages.text("intake.refusals.internal_error")
        return _refusal(data, filename, "internal_error", internal)


def _refusal(data: bytes, filename: str, code: str, message: str) -> Report:
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    report = Report(filename=filename, sha256=digest, size_bytes=len(data))
    report.error_code, report.error = code, message
    return report
