"""Match generator signatures (config/generators.toml) against a photo's metadata fields."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from bot.analysis.formats import comfyui, parameters
from bot.analysis.formats.metafields import Fields
from bot.analysis.formats.parameters import SEARCH_CHARS, json_path  # bounded regex cost
from bot.settings import load_toml


@dataclass
class Match:
    family: str
    fields: list[str]  # the fields that identified it
    model: str | None = None
    prompt: str | None = None
    edited: list[tuple[str | None, str]] = field(default_factory=list)  # (signal, note)
    parameters: dict[str, Any] = field(default_factory=dict)  # see formats/parameters.py


@lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    return load_toml("generators.toml")


def apply_aliases(fields: Fields) -> None:
    """Derived fields, e.g. ComfyUI's "prompt:{...}" in an EXIF tag becomes text:prompt."""
    for alias in config().get("aliases", []):
        pattern = re.compile(alias["pattern"])
        for name in alias["fields"]:
            found = pattern.search(fields.values.get(name, "")[:SEARCH_CHARS])
            if found:
                target = alias["to"].format(key=found.group("key").lower())
                value = fields.values[name][found.start("value") :]
                fields.add(target, value, f"{fields.labels[name]} (as “{found.group('key')}”)")


def match_all(fields: Fields) -> list[Match]:
    claimed: set[str] = set()
    matches = []
    for family in config().get("families", []):
        hit = _identify(family, fields, claimed)
        if not hit:
            continue
        claimed.update(hit)
        claimed.update(family.get("claims", []))
        matches.append(_describe(family, fields, hit))
    return matches


def _names(spec: str, fields: Fields) -> list[str]:
    """A rule's field spec: a name, a glob ("text:*"), or a set from [sets] ("@params")."""
    if spec.startswith("@"):
        return [n for n in config()["sets"][spec[1:]] if n in fields.values]
    if any(ch in spec for ch in "*?["):
        return [n for n in fields.values if fnmatchcase(n, spec)]
    return [spec] if spec in fields.values else []


def _identify(family: dict[str, Any], fields: Fields, claimed: set[str]) -> list[str]:
    hits = []
    for rule in family.get("match", []):
        patterns = [_regex(p) for p in [rule["pattern"], *rule.get("also", [])]]
        for name in _names(rule["field"], fields):
            text = fields.values[name][:SEARCH_CHARS]
            if name in claimed or name in hits:
                continue
            if all(p.search(text) for p in patterns):
                hits.append(name)
    return hits


def _describe(family: dict[str, Any], fields: Fields, hits: list[str]) -> Match:
    match = Match(family=family["name"], fields=hits)
    match.parameters = _parameters(family, fields, hits)
    match.model = _first(family.get("model", []), fields, hits) or match.parameters.get("model")
    match.prompt = _first(family.get("prompt", []), fields, hits) or match.parameters.get("prompt")
    for key in ("prompt", "model"):  # families whose rules above are all there is (Midjourney)
        if getattr(match, key) and key not in match.parameters:
            match.parameters[key] = getattr(match, key)
    for rule in family.get("edited", []):
        names = hits if rule["field"] == "$match" else _names(rule["field"], fields)
        pattern = _regex(rule["pattern"])
        if any(pattern.search(fields.values[n][:SEARCH_CHARS]) for n in names):
            match.edited.append((rule.get("signal"), rule["note"]))
    return match


def _parameters(family: dict[str, Any], fields: Fields, hits: list[str]) -> dict[str, Any]:
    """The first of the family's `params` rules that yields anything. A rule reads `field`
    ("$match": the fields that matched) with a parser: "a1111" (the "parameters" text),
    "comfyui" (a node graph), "json" (`keys`: parameter -> dotted path), or "fields"
    (`keys`: parameter -> field name, such as separate PNG chunks)."""
    cfg = config()
    for rule in family.get("params", []):
        kind = rule["parser"]
        if kind == "fields":
            values = {k: fields.values[n] for k, n in rule["keys"].items() if n in fields.values}
            found = parameters.clean(values)
        else:
            spec = rule.get("field", "$match")
            names = hits if spec == "$match" else _names(spec, fields)
            found = {}
            for name in names:
                text = fields.values[name]
                if kind == "a1111":
                    found = parameters.a1111(text, cfg["parameters"]["a1111"])
                elif kind == "comfyui":
                    found = comfyui.parse(text, cfg["comfyui"])
                else:
                    found = parameters.from_json(_json(text), rule["keys"])
                if found:
                    break
        if found:
            return parameters.clean(found)
    return {}


def _first(rules: list[dict[str, Any]], fields: Fields, hits: list[str]) -> str | None:
    for rule in rules:
        names = hits if rule["field"] == "$match" else _names(rule["field"], fields)
        for name in names:
            value = _extract(rule, fields.values[name])
            if value:
                return str(rule.get("format", "{}")).format(value)
    return None


def _extract(rule: dict[str, Any], text: str) -> str | None:
    value: Any = text
    if "json" in rule:
        value = json_path(_json(text), rule["json"])
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return None
        value = str(value)
    if "regex" in rule:
        found = _regex(rule["regex"]).search(value[:SEARCH_CHARS])
        value = found.group(1) if found else None
    return value.strip() if isinstance(value, str) and value.strip() else None


@lru_cache(maxsize=8)  # one photo's fields are read by several rules
def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
