"""Hand-made pixel features of a face photo, NumPy only, on an image at most 512 px wide.

Four families, each documented where it is computed:
  align_*  where the eyes sit in the frame (GAN training crops put them at fixed places),
  spec_*   the azimuthal power spectrum and its periodic peaks (generator upsampling),
  noise_*  noise-residual statistics (sensor noise versus its absence),
  col_*    colour and focus statistics (saturation, clipping, background blur),
  tex*_*   skin texture on the inner face resampled to a fixed size (32 and 64 px), so that
           photos of any size are compared at the same face scale.
Every feature is a plain float; FEATURE_NAMES fixes their order for the model file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from bot.analysis.vision.detect import Face, FaceScan

# Where StyleGAN/FFHQ-aligned crops put the eyes (fractions of width and height),
# measured as the median over the GAN faces in the training data.
CANON_EYES = ((0.376, 0.479), (0.621, 0.479))
PATCH = 256  # spectral/noise patch side, taken without resampling
_RADIAL_BINS = 12

ALIGN = [
    "align_has_face",
    "align_n_faces",
    "align_eye_lx",
    "align_eye_ly",
    "align_eye_rx",
    "align_eye_ry",
    "align_eye_dist",
    "align_roll",
    "align_canon_dist",
    "align_face_frac",
]
SPEC = [
    "spec_slope",
    "spec_hf_ratio",
    *[f"spec_bin{i}" for i in range(_RADIAL_BINS)],
    "spec_peak_max",
    "spec_peak_count",
    "spec_grid_peak",
    "spec_cross",
]
NOISE = [
    "noise_std",
    "noise_kurt",
    "noise_flat_std",
    "noise_flat_ratio",
    "noise_rg_corr",
    "noise_gb_corr",
    "noise_face_ratio",
    "noise_block_var",
]
COLOUR = ["col_sat_mean", "col_sat_std", "col_clip", "col_luma_std", "col_blur_ratio"]
TEXTURE = [f"tex{n}_{k}" for n in (32, 64) for k in ("resid", "band", "grad_kurt", "flat", "sat")]
FEATURE_NAMES: tuple[str, ...] = tuple(ALIGN + SPEC + NOISE + COLOUR + TEXTURE)


@dataclass
class Extracted:
    values: np.ndarray  # float32, len(FEATURE_NAMES)
    spectrum: np.ndarray  # log power of the residual patch, centred (for the annotation panel)
    profile: np.ndarray  # azimuthal profile (for the annotation panel)
    patch_box: tuple[int, int, int, int]

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in zip(FEATURE_NAMES, self.values, strict=True)}


def extract(rgb: np.ndarray, scan: FaceScan) -> Extracted:
    """Features of an RGB uint8 array (H, W, 3); `scan` holds faces in the same coordinates."""
    rgbf = rgb.astype(np.float32)
    gray = rgbf @ np.array([0.299, 0.587, 0.114], np.float32)
    face = scan.faces[0] if scan.faces else None
    box = _patch_box(gray.shape, face)
    y0, x0, y1, x1 = box
    patch = gray[y0:y1, x0:x1]
    resid = patch - _smooth(patch)
    spec_vals, spectrum, profile = _spectral(patch, resid)
    vals = (
        _align(gray.shape, scan)
        + spec_vals
        + _noise(rgbf[y0:y1, x0:x1], resid, face, box)
        + _colour(rgbf, gray, face)
        + _texture(rgb, face)
    )
    arr = np.nan_to_num(np.asarray(vals, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return Extracted(arr, spectrum, profile, box)


def _patch_box(shape: tuple[int, ...], face: Face | None) -> tuple[int, int, int, int]:
    """A square of up to PATCH px around the face (or the centre), never resampled."""
    h, w = shape[:2]
    side = min(PATCH, h, w) // 2 * 2
    cx, cy = face.center if face else (w / 2, h / 2)
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    return y0, x0, y0 + side, x0 + side


def _smooth(a: np.ndarray) -> np.ndarray:
    """Mean of the four neighbours: subtracting it leaves the finest-scale residual (cheap)."""
    p = np.pad(a, 1, mode="edge")
    out: np.ndarray = (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) * 0.25
    return out


def _box(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over a k×k window (edge-padded), via cumulative sums (in place: the same sums in
    the same order as the plain version, without its temporary copies)."""
    r = k // 2
    p = np.pad(a, r, mode="edge").astype(np.float64)
    c = np.zeros((p.shape[0] + 1, p.shape[1] + 1))
    inner = c[1:, 1:]
    np.cumsum(p, 0, out=inner)
    np.cumsum(inner, 1, out=inner)
    h, w = a.shape
    s = c[k : k + h, k : k + w] - c[:h, k : k + w]
    s -= c[k : k + h, :w]
    s += c[:h, :w]
    s /= k * k
    return s.astype(np.float32)


def _align(shape: tuple[int, ...], scan: FaceScan) -> list[float]:
    h, w = shape[:2]
    if not scan.faces:
        return [0.0, 0.0, *([0.0] * 6), 1.0, 0.0]
    f = scan.faces[0]
    (lx, ly), (rx, ry) = f.eyes
    nl = (lx / w, ly / h)
    nr = (rx / w, ry / h)
    dist = float(np.hypot(rx - lx, ry - ly) / w)
    roll = float(abs(np.arctan2(ry - ly, rx - lx)))
    canon = float(
        np.hypot(*np.subtract(nl, CANON_EYES[0])) + np.hypot(*np.subtract(nr, CANON_EYES[1]))
    )
    frac = f.width / min(h, w)
    return [1.0, float(min(len(scan.faces), 3)), *nl, *nr, dist, roll, canon, frac]


def _radius(n: int) -> np.ndarray:
    f = np.fft.fftshift(np.fft.fftfreq(n))
    out: np.ndarray = np.hypot(*np.meshgrid(f, f))
    return out


_EDGES = np.linspace(0.02, 0.5, _RADIAL_BINS + 1)


@dataclass(frozen=True)
class _Grid:
    """What the spectral features need that depends only on the patch side (cached)."""

    win: np.ndarray  # float32 Hann window
    rad: np.ndarray  # radial frequency of each spectrum cell
    bins: np.ndarray  # radial bin of each cell inside the measured band, row-major
    inside: np.ndarray  # bool mask of those cells
    counts: np.ndarray  # cells per bin


@lru_cache(maxsize=8)
def _grid(n: int) -> _Grid:
    rad = _radius(n)
    idx = np.digitize(rad, _EDGES) - 1
    ok = (idx >= 0) & (idx < _RADIAL_BINS)
    grid = _Grid(
        win=np.outer(np.hanning(n), np.hanning(n)).astype(np.float32),
        rad=rad,
        bins=idx[ok],
        inside=ok,
        counts=np.bincount(idx[ok], minlength=_RADIAL_BINS),
    )
    for a in (grid.win, grid.rad, grid.bins, grid.inside, grid.counts):
        a.flags.writeable = False  # shared between calls
    return grid


def _spectral(patch: np.ndarray, resid: np.ndarray) -> tuple[list[float], np.ndarray, np.ndarray]:
    n = patch.shape[0]
    g = _grid(n)
    win, rad = g.win, g.rad
    power = np.abs(np.fft.fftshift(np.fft.fft2((patch - patch.mean()) * win))) ** 2
    logp = np.log(power + 1e-6)
    edges = _EDGES
    counts = g.counts
    profile = np.bincount(g.bins, weights=logp[g.inside], minlength=_RADIAL_BINS) / np.maximum(
        counts, 1
    )
    mids = (edges[:-1] + edges[1:]) / 2
    slope, icept = np.polyfit(np.log(mids), profile, 1)
    dev = profile - (slope * np.log(mids) + icept)  # shape of the falloff, level removed
    hf = profile[-3:].mean() - profile[3:6].mean()

    # Periodic upsampling leaves isolated peaks in the residual's spectrum: measure how far
    # single frequencies rise above their neighbourhood, ignoring the lowest frequencies.
    rp = np.log(np.abs(np.fft.fftshift(np.fft.fft2(resid * win))) ** 2 + 1e-6)
    excess = rp - _box(rp, 7)
    outer = rad > 0.08
    peak_max = float(excess[outer].max())
    peak_count = float((excess[outer] > 2.5).mean() * 1000)
    grid = _grid_peak(excess, n)
    cross = float(excess[n // 2, :].mean() + excess[:, n // 2].mean())  # + along the axes
    vals = [float(slope), float(hf), *dev.tolist(), peak_max, peak_count, grid, cross]
    return vals, rp.astype(np.float32), profile.astype(np.float32)


def _grid_peak(excess: np.ndarray, n: int) -> float:
    """Excess at the frequencies a 2×/4×/8× upsampler repeats at (k/8 cycles per pixel)."""
    c = n // 2
    vals = []
    for k in (1, 2, 3, 4):
        d = min(round(k * n / 8), c - 1) if k < 4 else c - 1
        for dy, dx in ((0, d), (d, 0), (d, d), (0, -d), (-d, 0)):
            vals.append(excess[c + dy - 1 : c + dy + 2, c + dx - 1 : c + dx + 2].max())
    return float(np.mean(vals))


def _noise(
    rgbp: np.ndarray, resid: np.ndarray, face: Face | None, box: tuple[int, ...]
) -> list[float]:
    std = float(resid.std()) + 1e-6
    kurt = float(np.square(np.square(resid - resid.mean())).mean() / std**4)
    # Flat regions: where a camera's sensor noise shows and a generator's output is smooth.
    grad = _box(np.abs(np.diff(_box(_channel_mean(rgbp), 3), axis=1, prepend=0)), 5)
    flat = grad <= np.quantile(grad, 0.2)
    flat_std = float(resid[flat].std()) if flat.any() else 0.0
    chans = [c - _smooth(c) for c in np.moveaxis(rgbp, 2, 0)]
    rg = _corr(chans[0], chans[1])
    gb = _corr(chans[1], chans[2])
    face_ratio = _face_noise_ratio(resid, face, box)
    # Energy on the 8-px JPEG grid versus off it: a trace of earlier compression.
    col = np.abs(resid).mean(0)
    on = col[7::8].mean() if len(col) > 8 else col.mean()
    block = float(on / (col.mean() + 1e-6))
    return [np.log(std), kurt, np.log(flat_std + 1e-3), flat_std / std, rg, gb, face_ratio, block]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).mean() / (a.std() * b.std() + 1e-6))


def _face_noise_ratio(resid: np.ndarray, face: Face | None, box: tuple[int, ...]) -> float:
    if face is None:
        return 1.0
    y0, x0 = box[0], box[1]
    lft, t, r, b = (int(v) for v in face.box)
    h, w = resid.shape
    lft, r = np.clip([lft - x0, r - x0], 0, w)
    t, b = np.clip([t - y0, b - y0], 0, h)
    if r - lft < 8 or b - t < 8:
        return 1.0
    inner = resid[t:b, lft:r].std()
    mask = np.ones_like(resid, bool)
    mask[t:b, lft:r] = False
    outer = resid[mask].std() if mask.sum() > 64 else inner
    return float(np.log((inner + 1e-3) / (outer + 1e-3)))


def _channel_mean(rgb: np.ndarray) -> np.ndarray:
    """rgb.mean(2), equal bit for bit (same sums in the same order), without NumPy's slow
    reduction over a length-3 last axis."""
    out: np.ndarray = (rgb[..., 0] + rgb[..., 1] + rgb[..., 2]) / 3
    return out


def _channel_max(rgb: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.maximum(np.maximum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])  # = max(2)
    return out


def _channel_min(rgb: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.minimum(np.minimum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])  # = min(2)
    return out


def _colour(rgbf: np.ndarray, gray: np.ndarray, face: Face | None) -> list[float]:
    mx = _channel_max(rgbf)
    mn = _channel_min(rgbf)
    sat = (mx - mn) / (mx + 1e-3)
    clip = float(((mx >= 254) | (mn <= 1)).mean())
    lap = np.abs(
        gray[1:-1, 1:-1] * 4 - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:]
    )
    blur = 0.0
    if face is not None:
        h, w = lap.shape
        lft, t, r, b = (int(v) for v in face.box)
        lft, r = np.clip([lft, r], 0, w)
        t, b = np.clip([t, b], 0, h)
        inner = lap[t:b, lft:r]
        mask = np.ones_like(lap, bool)
        mask[t:b, lft:r] = False
        if inner.size > 64 and mask.sum() > 64:
            blur = float(np.log((lap[mask].mean() + 1e-3) / (inner.mean() + 1e-3)))
    return [float(sat.mean()), float(sat.std()), clip, float(gray.std() / 64), blur]


def _texture(rgb: np.ndarray, face: Face | None) -> list[float]:
    """Inner-face texture at two fixed scales (generated skin tends to be too smooth)."""
    h, w = rgb.shape[:2]
    if face is None:
        side = min(h, w) // 2
        box = ((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2)
    else:
        lft, t, r, b = face.box
        inset = 0.2 * (r - lft)  # the inner face: cheeks, nose, forehead; not hair or background
        box = (max(0, lft + inset), max(0, t + inset), min(w, r - inset), min(h, b - inset))
    img = Image.fromarray(rgb).crop(tuple(round(v) for v in box))
    out: list[float] = []
    for n in (32, 64):
        small = np.asarray(img.resize((n, n), Image.Resampling.BOX), np.float32)
        out += _texture_stats(small)
    return out


def _texture_stats(rgb: np.ndarray) -> list[float]:
    g = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    level = g.mean() + 1.0
    fine = g - _smooth(g)
    mid = _box(g, 3) - _box(g, 7)
    gx, gy = np.diff(g, axis=1)[:-1], np.diff(g, axis=0)[:, :-1]
    grad = np.hypot(gx, gy).ravel()
    gk = float(((grad - grad.mean()) ** 4).mean() / (grad.var() ** 2 + 1e-6))
    flat = float((np.abs(fine) < 0.5).mean())
    mx, mn = _channel_max(rgb), _channel_min(rgb)
    sat = float(((mx - mn) / (mx + 1e-3)).mean())
    return [
        float(np.log(fine.std() / level + 1e-5)),
        float(np.log((fine.std() + 1e-3) / (mid.std() + 1e-3))),
        float(np.log(max(gk, 1e-6))),  # a flat image has no gradient spread
        flat,
        sat,
    ]
