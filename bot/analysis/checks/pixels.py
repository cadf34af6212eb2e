"""Pixels: a calibrated detector over frozen CLIP embeddings of the face and the frame, with
eye-geometry, spectrum and noise cues (bot/analysis/vision/model.py).

Moderate evidence at most: a statistical score can be wrong about one photo, and a wrong
"this is fake" harms a real person. Thresholds and wording live in config/pixels.toml.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from bot.analysis.checks import CheckContext
from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import CheckSkipped, Evidence, Finding, Signal, Strength
from bot.analysis.vision import encoder, model
from bot.analysis.vision.cache import pixels_config, scan_photo
from bot.analysis.vision.features import CANON_EYES
from bot.analysis.vision.scan import Scan

NAME = "pixels"
ORDER = 70
_SMALL = 96  # below this many pixels on the short side, say that little can be seen
_FAMILIES = ("face", "frame", "align", "spec", "noise")


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    try:
        head, _ = model.cascade()
    except (OSError, ValueError) as exc:
        raise CheckSkipped("the pixel detector's model file is missing or out of date") from exc
    if not encoder.available(head.needs):
        raise CheckSkipped("the pixel detector's image encoder is not installed on this server")
    scan = scan_photo(photo)
    short_side = min(photo.width, photo.height)
    if scan.face is None:  # a score would not count (see _finding): spare the encoder's time
        return [_finding(None, scan, {}, short_side)]
    judged = judge(scan)
    return [_finding(judged.score, scan, judged.drivers, short_side, judged.stage)]


@dataclass(frozen=True)
class Judged:
    score: float  # calibrated, 0-1
    drivers: dict[str, float]  # how much each input family moved the margin
    stage: str  # "quick": settled by the first stage; "full": by the head


def judge(scan: Scan) -> Judged:
    """Score a scanned face. A quick first stage reads the first half of the face crop's pass;
    a face it scores below the clearing bar (chosen in training so that it settles almost no
    face the full head would flag) is settled there, and the rest of the pass never runs:
    most real avatars cost two thirds of a pass."""
    head, quick = model.cascade()
    feats = scan.features.values
    if quick is not None:
        xq = quick.inputs(scan.embedding(quick.needs), feats)
        pq = float(quick.proba(xq)[0])
        if pq < float(pixels_config()["thresholds"]["clear"]):
            return Judged(pq, quick.contributions(xq), "quick")
    x = head.inputs(scan.embedding(head.needs), feats)  # goes on from the first stage's pass
    return Judged(float(head.proba(x)[0]), head.contributions(x), "full")


def score(scan: Scan) -> float:
    """The calibrated score of a scanned image (the evaluation harness and the picture)."""
    return judge(scan).score


def _finding(
    p: float | None,
    scan: Scan,
    contrib: dict[str, float],
    short_side: int,
    stage: str | None = None,
) -> Finding:
    cfg = pixels_config()
    t = cfg["thresholds"]
    words = cfg["wording"]
    if p is None or scan.face is None:
        # trained and validated on faces: on a logo, a drawing or a landscape the score says
        # nothing either way, so it is shown for context and never counts
        strength, signal, key = Strength.WEAK, Signal.INFO, "noface"
    elif p >= float(t["moderate"]):
        strength, signal, key = Strength.MODERATE, Signal.AI_GENERATED, "moderate"
    elif p >= float(t["weak"]):
        strength, signal, key = Strength.WEAK, Signal.AI_GENERATED, "weak"
    else:
        strength, signal, key = Strength.WEAK, Signal.INFO, "none"
    drivers: list[str] = []
    fill: dict[str, str] = {}
    if key != "noface" and p is not None:
        drivers = _drivers(contrib, p >= float(t["weak"]))
        fill = {"level": _level(p), "drivers": _join(drivers)}
    notes = _notes(scan, short_side)
    detail = " ".join([words[f"{key}_detail"].format(**fill), *notes])
    return Finding(
        check=NAME,
        signal=signal,
        strength=strength,
        title=words[f"{key}_title"],
        evidence=() if p is None else (Evidence("detector score", _score_words(p, t, words)),),
        detail=detail,
        data={
            "score": None if p is None else round(p, 4),
            "band": key,
            "stage": stage,  # which head settled it (judge); None without a face
            "drivers": drivers,
            "faces": len(scan.faces.faces),
            "face_detection": scan.faces.ran,
        },
    )


def _score_words(p: float, t: dict[str, Any], words: dict[str, Any]) -> str:
    """The score with the two bars it is measured against (never a bare number)."""
    return str(words["score_evidence"]).format(
        score=_pct(p), weak=_pct(float(t["weak"])), moderate=_pct(float(t["moderate"]))
    )


def _pct(p: float) -> str:
    """Whole percents, but never round a score up onto a threshold it is below."""
    v = np.floor(p * 1000) / 10
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"


def _level(p: float) -> str:
    for upper, words in pixels_config()["levels"]["bands"]:
        if p < float(upper):
            return str(words)
    return str(pixels_config()["levels"]["bands"][-1][1])


def _drivers(contrib: dict[str, float], towards_ai: bool) -> list[str]:
    """The one or two feature families that pushed the score the way it went, in words."""
    totals = {f: contrib.get(f, 0.0) for f in _FAMILIES}
    sign = 1 if towards_ai else -1
    ranked = sorted(_FAMILIES, key=lambda f: -sign * totals[f])
    picked = [f for f in ranked[:2] if sign * totals[f] > 0] or ranked[:1]
    words = pixels_config()["drivers"]
    return [words[f"{f}_{'up' if towards_ai else 'down'}"] for f in picked]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", and ".join(parts)


def _notes(scan: Scan, short_side: int) -> list[str]:
    words = pixels_config()["wording"]
    notes = []
    if not scan.faces.ran:
        notes.append(words["no_detector_note"])
    elif not scan.faces.faces:
        notes.append(words["no_face_note"])
    if short_side < _SMALL:
        notes.append(words["small_note"])
    return notes


# ---------------------------------------------------------------- annotated picture


def annotate(photo: Photo, findings: list[Finding]) -> bytes | None:
    """A small PNG: the photo with face box, landmarks, the square the image model embedded
    (cyan) and where GAN crops put the eyes (blue crosses); beside it the residual spectrum
    and its radial profile (what the spectral features measure); below, the score against
    the hint and evidence thresholds."""
    scan = scan_photo(photo)
    mine = [f for f in findings if f.check == NAME]
    p = float(mine[0].data.get("score") or 0.0) if mine else score(scan)
    pic = _photo_panel(scan)
    spec = _spectrum_panel(scan)
    prof = _profile_panel(scan)
    height = max(pic.height, spec.height + prof.height + 4)
    canvas = Image.new("RGB", (pic.width + spec.width + 8, height + 34), (255, 255, 255))
    canvas.paste(pic, (0, 0))
    canvas.paste(spec, (pic.width + 8, 0))
    canvas.paste(prof, (pic.width + 8, spec.height + 4))
    _score_bar(ImageDraw.Draw(canvas), p, canvas.width, height + 4)
    buf = io.BytesIO()
    # a palette keeps the attachment small (tens of kB) for chat uploads
    canvas.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(buf, "PNG")
    return buf.getvalue()


def _photo_panel(scan: Scan) -> Image.Image:
    im = scan.image.copy()
    im.thumbnail((256, 256))
    k = im.width / scan.image.width
    draw = ImageDraw.Draw(im)
    for cx, cy in CANON_EYES:  # where aligned GAN crops put the eyes (blue crosses)
        x, y = cx * im.width, cy * im.height
        draw.line([(x - 5, y), (x + 5, y)], fill=(40, 120, 255), width=2)
        draw.line([(x, y - 5), (x, y + 5)], fill=(40, 120, 255), width=2)
    if scan.face is not None:  # the square the image model looked at
        box = encoder.face_box(scan.image.size, scan.face)
        draw.rectangle([v * k for v in box], outline=(0, 190, 210), width=1)
    for face in scan.faces.faces:
        draw.rectangle([v * k for v in face.box], outline=(255, 200, 0), width=2)
        for x, y in face.points:
            draw.ellipse(
                [x * k - 3, y * k - 3, x * k + 3, y * k + 3],
                fill=(255, 40, 40),
                outline=(255, 255, 255),
            )
    return im


def _spectrum_panel(scan: Scan) -> Image.Image:
    """The residual spectrum, smoothed (bright isolated dots are periodic upsampling traces)."""
    s = scan.features.spectrum
    n = s.shape[0] // 2 * 2
    s = s[:n, :n].reshape(n // 2, 2, n // 2, 2).mean((1, 3))
    lo, hi = np.percentile(s, [2, 99.8])
    img = Image.fromarray((np.clip((s - lo) / (hi - lo + 1e-6), 0, 1) * 255).astype(np.uint8))
    return img.resize((128, 128), Image.Resampling.BILINEAR).convert("RGB")


def _profile_panel(scan: Scan) -> Image.Image:
    """Power by frequency, low to high: how fast fine detail falls off."""
    prof = scan.features.profile
    img = Image.new("RGB", (128, 90), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    lo, hi = float(prof.min()), float(prof.max())
    pts = [
        (4 + i * 120 / (len(prof) - 1), 82 - 74 * (v - lo) / (hi - lo + 1e-6))
        for i, v in enumerate(prof)
    ]
    draw.line(pts, fill=(40, 90, 200), width=2)
    draw.text((4, 2), "spectrum, low -> high", fill=(80, 80, 80))
    return img


def _score_bar(draw: ImageDraw.ImageDraw, p: float, width: int, y: int) -> None:
    t = pixels_config()["thresholds"]
    draw.text(
        (4, y + 16),
        f"pixel score {_pct(p)}/100 (hint from {_pct(float(t['weak']))}, "
        f"evidence from {_pct(float(t['moderate']))})",
        fill=(60, 60, 60),
    )
    bar_w = width - 8
    draw.rectangle([4, y, 4 + bar_w, y + 12], outline=(120, 120, 120))
    colour = _bar_colour(p, t)
    draw.rectangle([4, y, 4 + round(bar_w * p), y + 12], fill=colour)
    for key in ("weak", "moderate"):
        x = 4 + round(bar_w * float(t[key]))
        draw.line([(x, y - 3), (x, y + 15)], fill=(0, 0, 0), width=1)


def _bar_colour(p: float, t: dict[str, Any]) -> tuple[int, int, int]:
    if p >= float(t["moderate"]):
        return (220, 80, 60)
    if p >= float(t["weak"]):
        return (240, 170, 40)
    return (90, 170, 90)
