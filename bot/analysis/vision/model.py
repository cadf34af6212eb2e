"""The pixel head at run time: a logistic regression over frozen CLIP embeddings and a few
hand-made cues, with Platt calibration, NumPy only.

Inputs, in order: the encoder blocks named in the model file (`face`: the face crop's
embedding, 512; `face_tok`: the mean of its patch tokens, 768; `frame`, `frame_tok`: the same
for the whole frame), then the cues named there (eye geometry, spectrum, noise; see
features.py), then, where the file sets a gate width, the eye-geometry gate
exp(-align_canon_dist / width). Such a head also reads the standardised face embedding times
that gate (a GAN term: it can read a face framed like StyleGAN's crops differently from any
other). The model file (bot/analysis/models/pixels.npz) is written by
tools/train_pixels.py.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.analysis.vision.encoder import EMBED_DIM, TOKEN_DIM, Embedding, Needs, layer_block
from bot.analysis.vision.features import FEATURE_NAMES

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "pixels.npz"
# the cascade's first stage: a head on the first half of the face crop's pass alone, whose
# clearly-real scores settle a face before the rest of the pass runs (tools/train_pixels.py
# --quick; its clearing threshold is in config/pixels.toml)
QUICK_PATH = MODEL_PATH.with_name("pixels_quick.npz")


BLOCK_DIMS = {"face": EMBED_DIM, "frame": EMBED_DIM, "face_tok": TOKEN_DIM, "frame_tok": TOKEN_DIM}


def block_dim(name: str) -> int:
    return TOKEN_DIM if layer_block(name) else BLOCK_DIMS[name]


def known_block(name: str) -> bool:
    return name in BLOCK_DIMS or layer_block(name) is not None


OLD_BLOCKS = ("face", "frame")  # model files written before blocks were named


GATE_CUE = "align_canon_dist"  # summed distance of the eyes from the FFHQ/StyleGAN crop spots


def input_names(
    blocks: tuple[str, ...], cues: tuple[str, ...], gate_width: float = 0.0
) -> tuple[str, ...]:
    gate = ("align_gate",) if gate_width else ()
    return (*(f"{b}_{i}" for b in blocks for i in range(block_dim(b))), *cues, *gate)


def term_names(
    blocks: tuple[str, ...], cues: tuple[str, ...], gate_width: float
) -> tuple[str, ...]:
    """What each coefficient multiplies: the inputs, then the gated face block (counted with
    the eye geometry in the "what drove it" sentence: it only speaks for StyleGAN-framed faces)."""
    dim = block_dim(gated_block(blocks)) if gate_width else 0
    gated = tuple(f"align_gated_{i}" for i in range(dim))
    return (*input_names(blocks, cues, gate_width), *gated)


def terms(z: np.ndarray, x: np.ndarray, blocks: tuple[str, ...], gate_width: float) -> np.ndarray:
    """The standardised inputs z, then (gated heads) the standardised face block times the raw
    gate (x's last column): gating the centred face keeps the term at zero for an average face."""
    if not gate_width:
        return z
    gated = gated_block(blocks)
    at = sum(block_dim(b) for b in blocks[: blocks.index(gated)])
    return np.hstack([z, z[:, at : at + block_dim(gated)] * x[:, -1:]])


def gated_block(blocks: tuple[str, ...]) -> str:
    """The block the GAN term gates: the first of the face crop's."""
    return next(b for b in blocks if b.startswith("face"))


def family(name: str) -> str:
    """The group an input belongs to, for the "what drove it" sentence: face, frame, align…
    (a crop's patch tokens count with its embedding)."""
    return name.split("_", 1)[0]


def head_input(
    embeds: list[np.ndarray], feats: np.ndarray, cues: tuple[str, ...], gate_width: float = 0.0
) -> np.ndarray:
    """Rows of head inputs from encoder blocks [(n, dim), ...] and hand-made features (n, 51),
    and the eye-geometry gate where `gate_width` is set.
    The training script calls this on cached arrays and the check on one photo: the same code."""
    idx = [FEATURE_NAMES.index(c) for c in cues]
    feats = np.atleast_2d(feats)
    parts = [*(np.atleast_2d(e) for e in embeds), feats[:, idx]]
    if gate_width:
        parts.append(np.exp(-feats[:, [FEATURE_NAMES.index(GATE_CUE)]] / gate_width))
    return np.hstack(parts).astype(np.float64)


@dataclass(frozen=True)
class PixelHead:
    blocks: tuple[str, ...]  # encoder outputs used, by name (see BLOCK_DIMS)
    cues: tuple[str, ...]  # hand-made features used, by name
    mean: np.ndarray  # per input, for standardising
    scale: np.ndarray
    coef: np.ndarray  # logistic weights on standardised inputs
    bias: float
    calib: tuple[float, float]  # Platt: p = sigmoid(a * margin + b)
    gate_width: float = 0.0  # 0: no GAN term (terms)

    @property
    def needs(self) -> Needs:
        """What the encoder must compute for this head: the frame too (a second pass), which
        blocks to tap, and whether to run the graph to its end."""
        taps = sorted({layer[1] for layer in map(layer_block, self.blocks) if layer})
        return Needs(
            frame=any(b.startswith("frame") for b in self.blocks),
            taps=tuple(taps),
            final=any(b in BLOCK_DIMS for b in self.blocks),
        )

    def inputs(self, emb: Embedding, feats: np.ndarray) -> np.ndarray:
        return head_input([emb.block(b) for b in self.blocks], feats, self.cues, self.gate_width)

    def terms(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        return terms((x - self.mean) / self.scale, x, self.blocks, self.gate_width)

    def margin(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.bias + self.terms(x) @ self.coef
        return out

    def proba(self, x: np.ndarray) -> np.ndarray:
        a, b = self.calib
        return 1.0 / (1.0 + np.exp(-(a * self.margin(x) + b)))

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        """How much each input family moved this photo's margin (weight × standardised value)."""
        parts = self.terms(x)[0] * self.coef
        names, index = _families(self.blocks, self.cues, self.gate_width)
        sums = np.bincount(index, weights=parts, minlength=len(names))
        return dict(zip(names, sums.tolist(), strict=True))


@lru_cache(maxsize=4)
def _families(
    blocks: tuple[str, ...], cues: tuple[str, ...], gate_width: float
) -> tuple[tuple[str, ...], np.ndarray]:
    """The input families in order of first term, and each term's family index (computed
    once per head: naming 2,581 terms per photo cost ~5 ms)."""
    fams = [family(n) for n in term_names(blocks, cues, gate_width)]
    names = tuple(dict.fromkeys(fams))
    return names, np.array([names.index(f) for f in fams])


def save(path: Path, m: PixelHead) -> None:
    """An .npz that np.load reads, written byte for byte the same for the same head (a fixed
    timestamp in the zip entries, which np.savez would stamp with the current time)."""
    arrays = {
        "blocks": np.array(m.blocks),
        "cues": np.array(m.cues),
        "mean": m.mean.astype(np.float32),
        "scale": m.scale.astype(np.float32),
        "coef": m.coef.astype(np.float32),
        "bias": np.array(m.bias),
        "calib": np.array(m.calib),
        "gate_width": np.array(m.gate_width),
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, a in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(entry, "w") as fh:
                np.lib.format.write_array(fh, a, allow_pickle=False)


def stored(m: PixelHead) -> PixelHead:
    """The head as it reads back from its file (float32 arrays), so training scores with
    exactly the numbers the check will use."""
    return PixelHead(
        blocks=m.blocks,
        cues=m.cues,
        mean=m.mean.astype(np.float32).astype(np.float64),
        scale=m.scale.astype(np.float32).astype(np.float64),
        coef=m.coef.astype(np.float32).astype(np.float64),
        bias=float(m.bias),
        calib=m.calib,
        gate_width=m.gate_width,
    )


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> PixelHead:
    with np.load(path, allow_pickle=False) as z:
        cues = tuple(str(n) for n in z["cues"])
        if not set(cues) <= set(FEATURE_NAMES):
            raise ValueError("the pixels model was trained on other features: retrain it")
        blocks = tuple(str(b) for b in z["blocks"]) if "blocks" in z else OLD_BLOCKS
        if not all(known_block(b) for b in blocks):
            raise ValueError("the pixels model was trained on other encoder outputs: retrain it")
        head = PixelHead(
            blocks=blocks,
            cues=cues,
            mean=z["mean"].astype(np.float64),
            scale=z["scale"].astype(np.float64),
            coef=z["coef"].astype(np.float64),
            bias=float(z["bias"]),
            calib=(float(z["calib"][0]), float(z["calib"][1])),
            gate_width=float(z["gate_width"]) if "gate_width" in z else 0.0,
        )
    n_in, n_terms = len(input_names(blocks, cues, head.gate_width)), len(head.coef)
    if head.mean.shape != (n_in,) or n_terms != len(term_names(blocks, cues, head.gate_width)):
        raise ValueError("the pixels model does not match its inputs: retrain it")
    return head


def first_stage(head: PixelHead, path: Path = QUICK_PATH) -> PixelHead | None:
    """The quick head run before `head`, where one is shipped: it must read only the first
    half of the pass `head` makes on the face crop, so that `head` goes on from there."""
    if not path.is_file():
        return None
    quick = load(path)
    if quick.needs != Needs(frame=False, taps=head.needs.taps, final=False) or not quick.needs.taps:
        raise ValueError("the quick pixels model does not read the first half of the head's pass")
    return quick


@lru_cache(maxsize=1)
def cascade() -> tuple[PixelHead, PixelHead | None]:
    """The shipped head and its first stage (None where none is shipped), loaded and checked
    once per process."""
    head = load()
    return head, first_stage(head)
