"""EXIF: camera make, model, lens and exposure; the software that last saved the file;
AI credit lines in descriptions.

Camera EXIF is evidence of a capture, not proof (renders and test files can carry it, and any
tool can copy it), so it is at most moderate. Generators that hide a workflow in Make/Model
(ComfyUI in WebP) are left to the generator check: a JSON blob is never called a camera.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bot.analysis.checks import CheckContext
from bot.analysis.formats.camera_exif import read_camera
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


# ---- camera ------------------------------------------------------------------------------


def _camera(exif: dict[str, Any]) -> list[Finding]:
    record = read_camera(exif)
    if record is None:
        return []
    table = _config()["camera"]
    key = "moderate" if record.full else "weak"
    support = record.supporting
    extras = ", with " + " and ".join(_describe(e.field) for e in support) if support else ""
    return [
        Finding(
            check=NAME,
            signal=Signal.CAMERA_CAPTURE,
            strength=Strength.MODERATE if record.full else Strength.WEAK,
            title=table[f"{key}_title"].format(camera=record.camera),
            evidence=record.evidence,
            detail=table[f"{key}_detail"].format(camera=record.camera, extras=extras),
            data={"camera": record.camera},
        )
    ]


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
