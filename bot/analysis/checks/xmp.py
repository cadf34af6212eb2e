"""XMP metadata: IPTC Digital Source Type, creator tools, edit history and AI credit lines.

Everything here is unsigned metadata: specific declarations ("trained algorithmic media",
a generator's name) are strong evidence, never conclusive. What each value means lives in
config/xmp.toml and config/software.toml.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bot.analysis.checks import CheckContext
from bot.analysis.formats.camera_exif import full_camera_exif
from bot.analysis.formats.metadata_rules import (
    Rule,
    credit_fields,
    declares_ai_edit,
    match_credit,
    match_software,
    plausible_camera_name,
    software_finding,
    source_type_rule,
    source_type_values,
)
from bot.analysis.formats.xmp_parser import XmpData, photo_packets, photo_xmp
from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import (
    CheckSkipped,
    Evidence,
    Finding,
    Signal,
    Strength,
    excerpt,
)
from bot.settings import load_toml

NAME = "xmp"
ORDER = 20


@lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    return load_toml("xmp.toml")


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    if not photo_packets(photo):
        return []
    xmp = photo_xmp(photo, ctx.settings.limits.max_xmp_bytes)
    if xmp.unreadable:
        raise CheckSkipped(_config()["wording"]["unreadable"].format(problems=_problems(xmp)))
    # Generator names mean AI editing when the file declares an AI composite, or when it is
    # otherwise a full camera capture (a real photo a generator worked on).
    ai_composite = declares_ai_edit(xmp) or full_camera_exif(photo.exif)
    findings = [
        *_source_types(xmp),
        *_tools(xmp, ai_composite),
        *_credits(xmp),
        *_camera(photo, xmp),
    ]
    if xmp.problems:
        findings.append(_partly_unreadable(xmp))
    return findings


def _problems(xmp: XmpData) -> str:
    words = _config()["wording"]["problems"]
    return "; ".join(dict.fromkeys(words.get(p, words["malformed"]) for p in xmp.problems))


def _source_types(xmp: XmpData) -> list[Finding]:
    out: dict[str, Finding] = {}
    for field, value in source_type_values(xmp):
        term, rule = source_type_rule(value)
        if term and term.lower() not in out:
            evidence = (Evidence(field, excerpt(value)),)
            out[term.lower()] = rule.finding(NAME, evidence, {"digital_source_type": term})
    return list(out.values())


def _tool_values(xmp: XmpData) -> list[tuple[str, str]]:
    """(field, software name) from the tool fields and each xmpMM:History event."""
    pairs = [(field, v) for field in _config()["tools"]["fields"] for v in xmp.get(field)]
    for event in xmp.history:
        agent = event.get("stEvt:softwareAgent")
        if agent:
            action = event.get("stEvt:action", "event")
            pairs.append((f"xmpMM:History ({excerpt(action, 30)})", agent))
    return pairs


def _created_elsewhere(xmp: XmpData) -> bool:
    """True when the edit history starts with a tool that is not a generator: a generator named
    later in the history worked on an existing picture."""
    first = xmp.history[0].get("stEvt:softwareAgent") if xmp.history else None
    tool = match_software(first) if first else None
    return first is not None and (tool is None or tool.kind != "generator")


def _tools(xmp: XmpData, ai_composite: bool) -> list[Finding]:
    """One finding per tool named, however often it appears (Photoshop saves many times)."""
    seen: dict[str, Finding] = {}
    edited_later = _created_elsewhere(xmp)
    for field, value in _tool_values(xmp):
        from_history = field.startswith("xmpMM:History")
        as_edit = ai_composite or (from_history and edited_later)
        finding = software_finding(NAME, field, value, ai_composite=as_edit)
        if finding is None and field == "Iptc4xmpExt:AISystemUsed":
            finding = _ai_system(value, ai_composite)
        if finding is not None and finding.title not in seen:
            seen[finding.title] = finding
    return list(seen.values())


def _ai_system(value: str, ai_composite: bool) -> Finding:
    rule = Rule.from_table(_config()["ai_system_used"], generator=excerpt(value, 60))
    if ai_composite:
        rule = rule.as_ai_edit()
    name = excerpt(value, 60)
    return rule.finding(NAME, (Evidence("Iptc4xmpExt:AISystemUsed", excerpt(value)),), name=name)


def _credits(xmp: XmpData) -> list[Finding]:
    seen: dict[str, Finding] = {}
    for field in credit_fields():
        for value in xmp.get(field):
            rule = match_credit(value)
            if rule is not None and rule.title not in seen:
                seen[rule.title] = rule.finding(NAME, (Evidence(field, excerpt(value)),))
    return list(seen.values())


def _camera(photo: Photo, xmp: XmpData) -> list[Finding]:
    """Camera make/model copied into XMP, only when the EXIF names no camera itself."""
    if photo.exif.get("Make") or photo.exif.get("Model"):
        return []
    parts = [v for v in (xmp.first("tiff:Make"), xmp.first("tiff:Model")) if v]
    if not parts or not all(plausible_camera_name(p) for p in parts):
        return []
    name = excerpt(" ".join(parts), 80)
    evidence = tuple(
        Evidence(f, excerpt(v)) for f in ("tiff:Make", "tiff:Model") if (v := xmp.first(f))
    )
    return [Rule.from_table(_config()["camera"]).finding(NAME, evidence, name=name)]


def _partly_unreadable(xmp: XmpData) -> Finding:
    words = _config()["wording"]
    title = words["partly_unreadable"].format(problems=_problems(xmp))
    rule = Rule(Signal.INFO, Strength.WEAK, title, words["partly_unreadable_detail"])
    return rule.finding(NAME, ())
