"""Pixels: a calibrated detector over face-alignment, spectrum, noise and colour features.

Moderate evidence at most: a statistical score can be wrong about one photo, and a wrong
"this is fake" harms a real person. Thresholds and wording live in config/pixels.toml.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from bot.analysis.checks import CheckContext
from bot.analysis.findings import CheckSkipped, Evidence, Finding, Signal, Strength
from bot.analysis.intake import Photo
from bot.analysis.vision import model
from bot.analysis.vision.cache import pixels_config, scan_photo
from bot.analysis.vision.features import CANON_EYES
from bot.analysis.vision.scan import Scan

NAME = "pixels"
ORDER = 70
_SMALL = 96  # below this many pixels on the short side, say that little can be seen
_FAMILIES = ("align", "spec", "noise", "col", "tex")


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    try:
        clf = model.load()
    except (OSError, ValueError) as exc:
        raise CheckSkipped("the pixel detector's model file is missing or out of date") from exc
    scan = scan_photo(photo)
    p = float(clf.proba(scan.features.values)[0])
    return [
        _finding(p, scan, clf.contributions(scan.features.values), min(photo.width, photo.height))
    ]


def score(scan: Scan) -> float:
    return float(model.load().proba(scan.features.values)[0])


def _finding(p: float, scan: Scan, contrib: dict[str, float], short_side: int) -> Finding:
    cfg = pixels_config()
    t = cfg["thresholds"]
    words = cfg["wording"]
    drivers = _drivers(contrib, p >= float(t["weak"]))
    fill = {"level": _level(p), "drivers": _join(drivers), "fpr": 1}
    if p >= float(t["moderate"]):
        strength, signal, key = Strength.MODERATE, Signal.AI_GENERATED, "moderate"
    elif p >= float(t["weak"]):
        strength, signal, key = Strength.WEAK, Signal.AI_GENERATED, "weak"
    else:
        strength, signal, key = Strength.WEAK, Signal.INFO, "none"
    notes = _notes(scan, short_side)
    detail = " ".join([words[f"{key}_detail"].format(**fill), *notes])
    return Finding(
        check=NAME,
        signal=signal,
        strength=strength,
        title=words[f"{key}_title"],
        evidence=(Evidence("detector score", f"{_level(p)} ({round(p * 100)} out of 100)"),),
        detail=detail,
        data={
            "score": round(p, 4),
            "band": key,
            "drivers": drivers,
            "faces": len(scan.faces.faces),
            "face_detection": scan.faces.ran,
        },
    )


def _level(p: float) -> str:
    for upper, words in pixels_config()["levels"]["bands"]:
        if p < float(upper):
            return str(words)
    return str(pixels_config()["levels"]["bands"][-1][1])


def _drivers(contrib: dict[str, float], towards_ai: bool) -> list[str]:
    """The one or two feature families that pushed the score the way it went, in words."""
    totals = {f: sum(v for k, v in contrib.items() if k.startswith(f + "_")) for f in _FAMILIES}
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
    """A small PNG: the photo with face box, landmarks and where GAN crops put the eyes,
    beside the residual spectrum the detector looked at and a bar for the score."""
    scan = scan_photo(photo)
    mine = [f for f in findings if f.check == NAME]
    p = float(mine[0].data.get("score", 0.0)) if mine else score(scan)
    pic = _photo_panel(scan)
    spec = _spectrum_panel(scan, pic.height)
    canvas = Image.new("RGB", (pic.width + spec.width + 12, pic.height + 30), (255, 255, 255))
    canvas.paste(pic, (0, 0))
    canvas.paste(spec, (pic.width + 12, 0))
    _score_bar(ImageDraw.Draw(canvas), p, canvas.width, pic.height + 8)
    buf = io.BytesIO()
    canvas.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def _photo_panel(scan: Scan) -> Image.Image:
    im = scan.image.copy()
    im.thumbnail((256, 256))
    k = im.width / scan.image.width
    draw = ImageDraw.Draw(im)
    for cx, cy in CANON_EYES:  # where aligned GAN crops put the eyes (blue crosses)
        x, y = cx * im.width, cy * im.height
        draw.line([(x - 5, y), (x + 5, y)], fill=(40, 120, 255), width=1)
        draw.line([(x, y - 5), (x, y + 5)], fill=(40, 120, 255), width=1)
    for face in scan.faces.faces:
        draw.rectangle([v * k for v in face.box], outline=(255, 200, 0), width=2)
        for x, y in face.points:
            draw.ellipse([x * k - 2, y * k - 2, x * k + 2, y * k + 2], fill=(255, 60, 60))
    return im


def _spectrum_panel(scan: Scan, height: int) -> Image.Image:
    """The residual spectrum (bright isolated dots are periodic upsampling traces)."""
    s = scan.features.spectrum
    lo, hi = np.percentile(s, [1, 99.7])
    img = Image.fromarray((np.clip((s - lo) / (hi - lo + 1e-6), 0, 1) * 255).astype(np.uint8))
    side = max(64, min(height, 256))
    return img.resize((side, side), Image.Resampling.NEAREST).convert("RGB")


def _score_bar(draw: ImageDraw.ImageDraw, p: float, width: int, y: int) -> None:
    t = pixels_config()["thresholds"]
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
