"""How much a full analyze() costs next to bare Pillow decode + EXIF read, on the same machine.

    python benchmarks/bench_check.py [--runs 7] [--json] [--profile]

Makes its inputs in a temporary directory (a 12-megapixel camera-like JPEG with EXIF and a
1024×1024 PNG with a text chunk), then prints, for each: the median time of analyze() and of
the baseline, their ratio (goal: at most 2×), and the peak memory each added (VmHWM reset
in a fresh process; Linux). --profile prints where analyze()'s time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import multiprocessing as mp
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.analysis.pipeline.run import analyze

GOAL_RATIO = 2.0


def camera_jpeg(path: Path) -> None:
    """4000×3000, smooth light plus sensor-like noise (compresses like a photo), camera EXIF."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:3000, 0:4000].astype(np.float32)
    base = np.stack([x / 4000 * 180 + 40, y / 3000 * 150 + 60, (x + y) / 7000 * 120 + 50], -1)
    pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS R6"  # Model
    exif[0x0131] = "Firmware 1.8.1"  # Software
    exif[0x0132] = "2026:11:02 10:14:31"  # DateTime
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = (1, 250)  # ExposureTime
    sub[0x829D] = (28, 10)  # FNumber
    sub[0x8827] = 400  # ISOSpeedRatings
    sub[0x9003] = "2026:11:02 10:14:31"  # DateTimeOriginal
    sub[0x920A] = (50, 1)  # FocalLength
    Image.fromarray(pixels).save(path, "JPEG", quality=92, exif=exif)


def text_png(path: Path) -> None:
    rng = np.random.default_rng(2)
    y, x = np.mgrid[0:1024, 0:1024].astype(np.float32)
    base = np.stack([x / 4 + 20, y / 5 + 40, (x + y) / 10 + 30], -1)
    pixels = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", "Team photo, office roof terrace")
    Image.fromarray(pixels).save(path, "PNG", pnginfo=info)


def baseline(data: bytes) -> None:
    """What any reader must do at least: decode the pixels and read EXIF (and PNG text)."""
    im = Image.open(io.BytesIO(data))
    im.load()
    im.getexif()
    getattr(im, "text", None)


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_child(which: str, path: str, conn: Connection) -> None:
    """In a fresh process: how much resident memory one run adds on top of the imports."""
    data = Path(path).read_bytes()
    before = _status_mb("VmRSS")
    if which == "analyze":
        analyze(data, Path(path).name)
    else:
        baseline(data)
    conn.send(_status_mb("VmHWM") - before)


def peak_mb(which: str, path: Path) -> float:
    """Peak RSS added by one run, measured in a spawned process (in this one, memory freed by
    earlier runs is reused and hides the peak)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_peak_child, args=(which, str(path), child))
    proc.start()
    value = parent.recv() if parent.poll(120) else float("nan")
    proc.join()
    return value


def medians(fns: list[Callable[[], object]], runs: int) -> list[float]:
    """Median seconds of each function over `runs`, after a warm-up. The functions take turns
    so that a change in machine load hits all of them alike."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def stages(data: bytes, name: str, runs: int) -> dict[str, float]:
    """Where the time goes (median ms), including steps later checks will add: a downscaled
    copy for pixel checks, a 1024 crop as float32 for watermark decoding, a C2PA read."""
    import hashlib

    import c2pa

    from bot.analysis.intake.decode import open_photo
    from bot.settings import get_settings

    limits = get_settings().limits
    photo = open_photo(data, name, limits)
    mime = "image/jpeg" if photo.format == "JPEG" else "image/png"

    def c2pa_read() -> None:
        with contextlib.suppress(Exception):  # no manifest: the common case, what this measures
            c2pa.Reader(mime, io.BytesIO(data))

    def crop_1024() -> None:
        w, h = photo.image.size
        box = ((w - min(w, 1024)) // 2, (h - min(h, 1024)) // 2)
        box += (box[0] + min(w, 1024), box[1] + min(h, 1024))
        np.asarray(photo.rgb.crop(box), dtype=np.float32)

    def fresh_downscale(side: int) -> Callable[[], object]:
        return lambda: open_photo(data, name, limits).downscaled(side)

    steps: dict[str, Callable[[], object]] = {
        "sha256": lambda: hashlib.sha256(data).hexdigest(),
        "intake (decode+metadata)": lambda: open_photo(data, name, limits),
        "intake + downscaled(1024)": fresh_downscale(1024),
        "intake + downscaled(512)": fresh_downscale(512),
        "crop 1024 -> float32 (later)": crop_1024,
        "c2pa read, no manifest (later)": c2pa_read,
    }
    return {
        k: round(v * 1000, 1)
        for k, v in zip(steps, medians(list(steps.values()), runs), strict=True)
    }


def run(runs: int, profile: bool) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {
            "camera.jpg (12 MP, EXIF)": Path(tmp, "camera.jpg"),
            "text.png (1024², tEXt)": Path(tmp, "text.png"),
        }
        camera_jpeg(inputs["camera.jpg (12 MP, EXIF)"])
        text_png(inputs["text.png (1024², tEXt)"])
        for label, path in inputs.items():
            data = path.read_bytes()
            report = analyze(data, path.name)
            assert report.ok, report.error
            check_ms: dict[str, list[float]] = {}

            def full(d: bytes = data, n: str = path.name, sink: dict = check_ms) -> None:
                for r in analyze(d, n).runs:  # per-check times of warm runs (the first call
                    sink.setdefault(r.check, []).append(r.ms)  # above loads the models)

            full_s, base_s = medians([full, lambda d=data: baseline(d)], runs)
            full_mb, base_mb = peak_mb("analyze", path), peak_mb("baseline", path)
            rows.append(
                {
                    "input": label,
                    "bytes": len(data),
                    "analyze_ms": round(full_s * 1000, 1),
                    "baseline_ms": round(base_s * 1000, 1),
                    "ratio": round(full_s / base_s, 2),
                    "analyze_peak_mb": round(full_mb, 1),
                    "baseline_peak_mb": round(base_mb, 1),
                    "checks": {k: round(statistics.median(v), 1) for k, v in check_ms.items()},
                    "skipped": [f"{r.check}: {r.note}" for r in report.runs if r.status != "ran"],
                    "stages_ms": stages(data, path.name, runs),
                }
            )
            if profile:
                prof = cProfile.Profile()
                prof.runcall(analyze, data, path.name)
                print(f"\n--- where analyze() spends its time: {label}")
                pstats.Stats(prof).sort_stats("cumulative").print_stats(14)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    args = parser.parse_args()
    rows = run(args.runs, args.profile)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(
            f"\n{'input':26} {'MB':>5} {'analyze ms':>10} {'baseline ms':>11} {'ratio':>6} "
            f"{'peak MB (analyze/base)':>23}"
        )
        for r in rows:
            print(
                f"{r['input']:26} {r['bytes'] / 1e6:5.2f} {r['analyze_ms']:10.1f} "
                f"{r['baseline_ms']:11.1f} {r['ratio']:5.2f}× "
                f"{r['analyze_peak_mb']:11.1f} / {r['baseline_peak_mb']:.1f}"
            )
        for r in rows:
            print(f"\n{r['input']}: where the time goes (median ms)")
            for stage, ms in r["stages_ms"].items():
                print(f"  {stage:32} {ms:8.1f}")
        for r in rows:
            print(f"\n{r['input']}: per-check medians (ms) {r['checks']}")
            for note in r["skipped"]:
                print(f"  not run: {note}")
        print(f"goal: ratio ≤ {GOAL_RATIO:g}×")
    return 0 if all(r["ratio"] <= GOAL_RATIO for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
