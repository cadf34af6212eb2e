"""EXIF: camera make, model, lens and exposure; the software that last saved the file;
AI credit lines in descriptions.

Camera EXIF is evidence of a capture, not proof (renders and test files can carry it, and any
tool can copy it), so it is at most moderate. Generators that hide a workflow in Make/Model
(ComfyUI in WebP) are left to the generator check: a JSON blob is never called a camera.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from bot.analysis.checks import CheckContext
from bot.analysis.formats.metadata_rules import (
    declares_ai_edit,
    exif_text,
    match_credit,
    plausible_camera_name,
    software_finding,
)
from bot.analysis.formats.xmp_parser import photo_packets, photo_xmp
from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import Evidence, Finding, Signal, Strength, excerpt
from bot.settings import load_toml

NAME = "exif"
ORDER = 20

_DATE = re.compile(r"^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}")


@lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    return load_toml("exif.toml")


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    if not photo.exif:
        return []
    camera = _camera(photo.exif)
    # A generator named in a file that is otherwise a full camera capture, or that declares an
    # AI composite, most likely edited a real photo: read its name as AI editing, the careful way.
    ai_edit = any(f.strength == Strength.MODERATE for f in camera) or (
        bool(photo_packets(photo))
        and declares_ai_edit(photo_xmp(photo, ctx.settings.limits.max_xmp_bytes))
    )
    return [*camera, *_software(photo.exif, ai_edit), *_credits(photo.exif)]


def full_camera_exif(exif: dict[str, Any]) -> bool:
    """Whether the EXIF holds the fuller camera set (moderate camera evidence)."""
    return any(f.strength == Strength.MODERATE for f in _camera(exif))


# ---- values ------------------------------------------------------------------------------


def _number(value: object) -> float | None:
    if isinstance(value, tuple | list):
        value = value[0] if value else None
    try:
        number = float(value)  # IFDRational, int, float
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def _exposure_time(value: object) -> str | None:
    t = _number(value)
    if t is None or not 0 < t < 3600:
        return None
    return f"1/{round(1 / t)} s" if t < 0.5 else f"{t:g} s"


def _f_number(value: object) -> str | None:
    f = _number(value)
    return f"f/{round(f, 1):g}" if f is not None and 0.5 <= f <= 128 else None


def _iso(value: object) -> str | None:
    iso = _number(value)
    return f"ISO {int(iso)}" if iso is not None and 1 <= iso <= 10_000_000 else None


_FORMATS = {"ExposureTime": _exposure_time, "FNumber": _f_number, "ISOSpeedRatings": _iso}


# ---- camera ------------------------------------------------------------------------------


def camera_name(exif: dict[str, Any]) -> str | None:
    """ "Canon EOS R5" from Make and Model, or None if neither is a plausible camera name."""
    make = exif_text(exif.get("Make")) if plausible_camera_name(exif.get("Make")) else None
    model = exif_text(exif.get("Model")) if plausible_camera_name(exif.get("Model")) else None
    if model and make and not model.lower().startswith(make.lower().split()[0]):
        return excerpt(f"{make} {model}", 80)
    return excerpt(model or make, 80) if (model or make) else None


def _camera(exif: dict[str, Any]) -> list[Finding]:
    camera = camera_name(exif)
    if camera is None:
        return []
    table = _config()["camera"]
    evidence = [
        Evidence(f, excerpt(exif_text(exif[f]) or "")) for f in ("Make", "Model") if exif.get(f)
    ]
    exposure = {f: fmt(exif.get(f)) for f, fmt in _FORMATS.items() if f in table["exposure"]}
    evidence += [Evidence(f, v) for f, v in exposure.items() if v]
    taken = exif_text(exif.get(table["capture_time"])) or ""
    if _DATE.match(taken):
        evidence.append(Evidence(table["capture_time"], taken[:19]))
    support = _supporting(exif, table["supporting"])
    evidence += support
    full = all(exposure.values()) and _DATE.match(taken) and support
    strength = Strength.MODERATE if full else Strength.WEAK
    key = "moderate" if full else "weak"
    extras = ", with " + " and ".join(_describe(e.field) for e in support) if support else ""
    return [
        Finding(
            check=NAME,
            signal=Signal.CAMERA_CAPTURE,
            strength=strength,
            title=table[f"{key}_title"].format(camera=camera),
            evidence=tuple(evidence),
            detail=table[f"{key}_detail"].format(camera=camera, extras=extras),
            data={"camera": camera},
        )
    ]


def _supporting(exif: dict[str, Any], fields: list[str]) -> list[Evidence]:
    out = []
    for field in fields:
        value = exif.get(field)
        if field == "MakerNote" and isinstance(value, bytes) and len(value) >= 8:
            out.append(Evidence(field, f"present ({len(value)} bytes)"))
        elif field != "MakerNote" and plausible_camera_name(value):
            out.append(Evidence(field, excerpt(exif_text(value) or "")))
    return out


def _describe(field: str) -> str:
    return {"MakerNote": "the maker's private notes", "LensModel": "the lens model"}.get(
        field, field
    )


# ---- software and credits ------------------------------------------------------------------


def _software(exif: dict[str, Any], ai_composite: bool) -> list[Finding]:
    table = _config()["software"]
    out = []
    for field in table["fields"]:
        value = exif_text(exif.get(field))
        if not value or not plausible_camera_name(value[:64]):
            continue  # empty, binary, or a generator's JSON (the generator check reads those)
        finding = software_finding(NAME, field, value, ai_composite=ai_composite)
        out.append(finding or _unknown_software(field, value, table))
    return out


def _unknown_software(field: str, value: str, table: dict[str, Any]) -> Finding:
    return Finding(
        check=NAME,
        signal=Signal.INFO,
        strength=Strength.WEAK,
        title=table["unknown_title"].format(value=excerpt(value, 60)),
        evidence=(Evidence(field, excerpt(value)),),
        detail=table["unknown_detail"].format(field=field),
    )


def _credits(exif: dict[str, Any]) -> list[Finding]:
    seen: dict[str, Finding] = {}
    for field in _config()["credits"]["fields"]:
        text = exif_text(exif.get(field))
        rule = match_credit(text) if text else None
        if rule is not None and rule.title not in seen:
            seen[rule.title] = rule.finding(NAME, (Evidence(field, excerpt(text)),))
    return list(seen.values())
