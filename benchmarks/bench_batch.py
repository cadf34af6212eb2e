"""Memory and streaming of `headshot-bot check` over a folder, next to a small batch.

    python benchmarks/bench_batch.py [--files 100] [--workers 2]

Makes --files different photos of about 2 MB each (noise PNGs: they do not compress) in a
temporary folder, runs `headshot-bot check FOLDER --jsonl` on all of them and, as the baseline
in the same run, on 4 of them. Prints for each: the parent process's peak memory (VmHWM, read
from /proc until it exits; Linux), when the first result came out and when the last did. The
goal: the parent's peak does not grow with the number of files (ratio near 1; reading them all
first would add the whole folder's size), and the first result comes long before the last.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 1.5


def make_photos(folder: Path, n: int) -> int:
    rng = np.random.default_rng(3)
    total = 0
    for i in range(n):
        pixels = rng.integers(0, 256, (820, 820, 3), dtype=np.uint8)
        path = folder / f"p{i:04d}.png"
        Image.fromarray(pixels).save(path, compress_level=1)
        total += path.stat().st_size
    return total


def run(folder: Path, workers: int) -> tuple[int, float, float, int]:
    """(peak kB, s to the first result, s to the last, results) for one `check` run."""
    env = {**os.environ, "HEADSHOT_ANALYSIS__WORKERS": str(workers)}
    cmd = [sys.executable, "-m", "bot", "check", str(folder), "--jsonl"]
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    peak = [0]

    def watch() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert proc.stdout is not None
    first, results = 0.0, 0
    for _line in proc.stdout:
        results += 1
        first = first or time.monotonic() - start
    proc.wait()
    watcher.join()
    return peak[0], first, time.monotonic() - start, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp, "big"), Path(tmp, "small")
        big.mkdir()
        small.mkdir()
        total = make_photos(big, args.files)
        for path in sorted(big.iterdir())[:4]:
            (small / path.name).symlink_to(path)
        base = run(small, args.workers)
        full = run(big, args.workers)
    print(f"inputs: {args.files} photos, {total / 1e6:.0f} MB; {args.workers} workers")
    for name, (kb, first, last, n) in (("4 files", base), (f"{args.files} files", full)):
        print(
            f"{name:>10}: parent peak {kb / 1024:6.1f} MB, first result {first:5.1f} s, "
            f"last {last:5.1f} s ({n} results)"
        )
    ratio = full[0] / base[0]
    print(f"peak ratio {ratio:.2f} (goal ≤ {GOAL_RATIO}; reading all first: +{total / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
