"""Cache what the pixel head is trained on, for every face image × platform-style copy.

    nice python tools/extract_pixels.py --into /work/pixcache/v2 --copies 0 [1 2] [--procs 2]

Each copy goes through the run-time path (`scan_image`, then the encoder's face crop, and the
frame where the check embeds it too), so training sees the numbers the checks see. Copies are
made with a seed per image and copy, so the cache is the same whatever the process count or
order. One file per copy index and block of BLOCK images (`copy-K-START-END.npz`), written
when the block is done, so an interrupted run resumes where it stopped (`--limit N` makes the
same first blocks); progress is logged.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import sys
import time
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bot.analysis.vision import degrade, detect, encoder  # noqa: E402
from bot.analysis.vision.scan import scan_image, working_copy  # noqa: E402

SEED = 20261202
COPIES = 3
BLOCK = 500  # images per cache file, so an interrupted run keeps what it finished
PROBE_SIDE = 256  # a second, cheaper face search, recorded to compare detectors
DATASETS = ("faces", "faces-extra")
SHARED = ROOT.parent / "shared" / "data"
TAPS = tuple(range(encoder.LAYERS))  # every block's residual stream (which ones the head reads)
CACHED = encoder.Needs(frame=True, taps=TAPS, final=True)  # all that a head may read
CODE_FILES = ("features.py", "scan.py", "detect.py", "degrade.py", "encoder.py")


def read_rows(shared: Path = SHARED) -> list[dict[str, str]]:
    rows = []
    for name in DATASETS:
        with (shared / name / "manifest.tsv").open(newline="") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                rows.append(
                    {"file": f"{name}/{r['path']}", "label": r["label"], "source": r["source"]}
                )
    return rows


def code_key() -> str:
    h = hashlib.sha256()
    for name in CODE_FILES:
        h.update((ROOT / "bot/analysis/vision" / name).read_bytes())
    return h.hexdigest()[:12]


def platform_copy(path: Path, key: str, copy: int) -> Image.Image:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    return degrade.random_platform(rgb, random.Random(f"{SEED}:{key}:{copy}"))


def encoder_row(emb: encoder.Embedding | None) -> dict[str, np.ndarray]:
    """The encoder's part of a cache row, from what the check computes (encoder.embed: the
    frame only where the check would embed it; where one pass serves both, the frame fields
    repeat the face's), zeros for a photo without a face. Tokens are kept as float16."""
    if emb is None:
        emb = encoder.Embedding(
            *(np.zeros(encoder.EMBED_DIM, np.float32),) * 2,
            (0, 0, 0, 0),
            True,
            taps=TAPS,
            face_layers=np.zeros((len(TAPS), 2, encoder.TOKEN_DIM), np.float32),
            frame_layers=np.zeros((len(TAPS), 2, encoder.TOKEN_DIM), np.float32),
        )
    half = np.float16
    return {
        "face_emb": emb.face,
        "frame_emb": emb.frame,
        # class token and mean patch token after each block in TAPS: (len(TAPS), 2, 768)
        "face_layers": emb.face_layers.astype(half),
        "frame_layers": emb.frame_layers.astype(half),
        "face_tok": emb.face_tok.astype(half),
        "frame_tok": emb.frame_tok.astype(half),
    }


def one(args: tuple[str, int]) -> dict[str, np.ndarray]:
    key, copy = args
    img = platform_copy(SHARED / key, key, copy)
    scan = scan_image(img)
    face = scan.face
    fbox, whole = encoder.face_box(scan.image.size, face), encoder.frame_box(scan.image.size)
    # nothing without a face (the check never scores one, and training leaves them out)
    encoded = encoder_row(scan.embedding(CACHED) if face else None)
    small = working_copy(scan.image, PROBE_SIDE)
    probe = detect.detect(np.asarray(small)).faces
    k = scan.image.width / small.width
    pbox = np.array(probe[0].box, np.float32) * k if probe else np.full(4, np.nan, np.float32)
    return {
        "features": scan.features.values,
        **encoded,
        "crop_share": np.float32((fbox[2] - fbox[0]) / (whole[2] - whole[0])),
        "has_face": np.float32(face is not None),
        "size": np.array(img.size, np.int32),
        "work_size": np.array(scan.image.size, np.int32),
        "box": np.array(face.box if face else (np.nan,) * 4, np.float32),
        "n_faces": np.int32(len(scan.faces.faces)),
        "probe_box": pbox,  # the largest face found on a PROBE_SIDE copy, in working pixels
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/work/pixcache"))
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="first N images only (smoke test)")
    ap.add_argument("--copies", type=int, nargs="*", default=list(range(COPIES)))
    ap.add_argument("--label", help="only images with this label (e.g. more copies of real)")
    ap.add_argument("--into", type=Path, help="this folder, not one named after the code")
    ap.add_argument("--source", help="only images of this source")
    ap.add_argument("--every", type=int, default=1, help="every N-th image only (a subsample)")
    args = ap.parse_args(argv)
    rows = [
        r
        for r in read_rows()
        if (not args.label or r["label"] == args.label)
        and (not args.source or r["source"] == args.source)
    ][:: args.every]
    if args.limit:
        rows = rows[: args.limit]
    folder = args.into or args.cache / code_key()
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{len(rows)} images × copies {args.copies} -> {folder}", flush=True)
    with Pool(args.procs) as pool:
        for copy in args.copies:
            for start in range(0, len(rows), BLOCK):
                block = rows[start : start + BLOCK]
                subset = "".join(f"-{v}" for v in (args.label, args.source) if v)
                out = folder / f"copy-{copy}{subset}-{start:05d}-{start + len(block):05d}.npz"
                if out.exists():
                    continue
                t0 = time.time()
                jobs = [(r["file"], copy) for r in block]
                got = pool.map(one, jobs, chunksize=4)
                arrays = {k: np.stack([g[k] for g in got]) for k in got[0]}
                np.savez(out, files=np.array([r["file"] for r in block]), **arrays)
                print(
                    f"copy {copy} {start}+{len(block)}: {time.time() - t0:.0f}s -> {out}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
