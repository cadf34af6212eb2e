"""What a photo's EXIF says about the camera that took it: its name, the settings of the shot,
and whether that is the fuller set cameras write (config/exif.toml, [camera]).

Shared by the EXIF check (which words it) and the XMP check (which reads a generator named in a
full camera capture as AI editing), so that both judge a camera the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, SupportsFloat, SupportsIndex

from bot.analysis.formats.metadata_rules import exif_text, plausible_camera_name
from bot.analysis.pipeline.findings import Evidence, excerpt
from bot.settings import load_toml

_DATE = re.compile(r"^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}")


@lru_cache(maxsize=1)
def camera_config() -> dict[str, Any]:
    return dict(load_toml("exif.toml")["camera"])


@dataclass(frozen=True)
class CameraRecord:
    """The camera an EXIF block names and the fields that back it up."""

    camera: str
    evidence: tuple[Evidence, ...]
    supporting: tuple[Evidence, ...]  # maker notes, lens model
    full: bool  # every exposure field, the capture time and a supporting field


def read_camera(exif: dict[str, Any]) -> CameraRecord | None:
    """The camera record of `exif`, or None when it names no plausible camera."""
    camera = camera_name(exif)
    if camera is None:
        return None
    table = camera_config()
    evidence = [
        Evidence(f, excerpt(exif_text(exif[f]) or "")) for f in ("Make", "Model") if exif.get(f)
    ]
    exposure = {f: fmt(exif.get(f)) for f, fmt in _FORMATS.items() if f in table["exposure"]}
    evidence += [Evidence(f, v) for f, v in exposure.items() if v]
    taken = exif_text(exif.get(table["capture_time"])) or ""
    if _DATE.match(taken):
        evidence.append(Evidence(table["capture_time"], taken[:19]))
    support = _supporting(exif, table["supporting"])
    full = all(exposure.values()) and bool(_DATE.match(taken)) and bool(support)
    return CameraRecord(camera, (*evidence, *support), tuple(support), full)


def full_camera_exif(exif: dict[str, Any]) -> bool:
    """Whether the EXIF holds the fuller camera set (moderate camera evidence)."""
    record = read_camera(exif)
    return record is not None and record.full


def camera_name(exif: dict[str, Any]) -> str | None:
    """ "Canon EOS R5" from Make and Model, or None if neither is a plausible camera name."""
    make = exif_text(exif.get("Make")) if plausible_camera_name(exif.get("Make")) else None
    model = exif_text(exif.get("Model")) if plausible_camera_name(exif.get("Model")) else None
    if model and make and not model.lower().startswith(make.lower().split()[0]):
        return excerpt(f"{make} {model}", 80)
    return excerpt(model or make, 80) if (model or make) else None


def _supporting(exif: dict[str, Any], fields: list[str]) -> list[Evidence]:
    out = []
    for field in fields:
        value = exif.get(field)
        if field == "MakerNote" and isinstance(value, bytes) and len(value) >= 8:
            out.append(Evidence(field, f"present ({len(value)} bytes)"))
        elif field != "MakerNote" and plausible_camera_name(value):
            out.append(Evidence(field, excerpt(exif_text(value) or "")))
    return out


# ---- exposure values ----------------------------------------------------------------------


def _number(value: object) -> float | None:
    if isinstance(value, tuple | list):
        value = value[0] if value else None
    if not isinstance(value, SupportsFloat | SupportsIndex | str | bytes):
        return None
    try:
        number = float(value)  # IFDRational, int, float, or text that may not be a number
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
