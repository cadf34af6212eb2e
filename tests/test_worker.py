"""The analysis worker guard, exercised in a real ProcessPoolExecutor (spawned workers)."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import resource
import signal
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bot.analysis.pipeline.run import analyze
from bot.analysis.pipeline.worker import analyze_in_worker, init_worker
from bot.settings import get_settings
from tests.conftest import jpeg_bytes
from tests.hostile_cases import png_49_megapixels


def _probe() -> dict:
    """What a worker looks like from inside, after init_worker and the analysis imports."""
    import bot.analysis.pipeline.run  # noqa: F401  (the worker's steady state)

    status = dict(
        line.split(":", 1)
        for line in Path("/proc/self/status").read_text().splitlines()
        if ":" in line
    )
    return {
        "as_soft": resource.getrlimit(resource.RLIMIT_AS)[0],
        "sigint_ignored": signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "openblas": os.environ.get("OPENBLAS_NUM_THREADS"),
        "vm_mb": int(status["VmSize"].split()[0]) // 1024,
    }


def _pool(memory_mb: int | None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=mp.get_context("spawn"),
        initializer=init_worker,
        initargs=(memory_mb,),
    )


def test_report_from_a_worker_matches_in_process_and_pickles():
    data = jpeg_bytes((640, 480))
    with _pool(None) as pool:
        remote = pool.submit(analyze_in_worker, data, "a.jpg").result(timeout=60)
        state = pool.submit(_probe).result(timeout=60)
    local = analyze(data, "a.jpg")
    strip = lambda d: {**d, "elapsed_ms": 0, "checks": [{**c, "ms": 0} for c in d["checks"]]}  # noqa: E731
    assert strip(remote.to_dict()) == strip(local.to_dict())
    assert pickle.loads(pickle.dumps(local)).to_dict() == local.to_dict()
    # the default cap (limits.worker_memory_mb) is in force, and the rest of the guard
    assert state["as_soft"] == get_settings().limits.worker_memory_mb * 1024 * 1024 > 0
    assert state["sigint_ignored"]
    assert state["omp"] == state["openblas"] == "1"


def test_memory_cap_turns_a_huge_decode_into_a_refusal_and_the_worker_survives():
    with _pool(0) as pool:  # 0: no cap; measure what a worker needs at rest
        state = pool.submit(_probe).result(timeout=60)
        assert state["as_soft"] == resource.RLIM_INFINITY
        big = pool.submit(analyze_in_worker, png_49_megapixels(), "big.png").result(timeout=60)
        assert big.ok, "without a cap the 49-megapixel file decodes"
    # ~50 MB of headroom: not enough for the decode (the image encoder's runtime leaves some
    # reserved address space at rest that the decode can use, so 100 MB no longer refuses)
    with _pool(state["vm_mb"] + 50) as pool:
        report = pool.submit(analyze_in_worker, png_49_megapixels(), "big.png").result(timeout=60)
        assert report.error_code == "too_complex", report.error
        after = pool.submit(analyze_in_worker, jpeg_bytes(), "next.jpg").result(timeout=60)
        assert after.ok, "the same worker still serves the next photo"
