"""Generation parameters in one form for every generator family.

Whatever a tool wrote (AUTOMATIC1111's "parameters" text, a JSON object, separate PNG chunks,
a ComfyUI graph), the generators check reports the same keys: prompt, negative_prompt, steps,
sampler, scheduler, cfg_scale, seed, size, model, model_hash, vae, loras, resources, denoise,
nodes and other (settings without a key of their own, as "Name: value"). Where each family
keeps them is configuration (`params` in config/generators.toml).
"""

from __future__ import annotations

import json
import re
from typing import Any

Params = dict[str, Any]
LISTS = frozenset({"loras", "resources", "nodes", "other"})  # always lists, even of one
SEARCH_CHARS = 200_000  # as bot/analysis/formats/signatures.py: bounded regex cost
MAX_VALUES = 64  # list items and "other" settings kept: hostile files can hold thousands

# "Key: value" pairs of the settings line; a value in quotes may hold commas.
_SETTING = re.compile(r'\s*([\w][\w .()/+-]{0,60}):\s*("(?:\\.|[^"\\]){0,20000}"|[^,]{0,20000})')
_SETTINGS_LINE = re.compile(r"(?m)^Steps: \d")
_LORA_TAG = re.compile(r"<lora:([^:>]{1,200}):?([-\d.]{0,12})[^>]{0,40}>")


def a1111(text: str, keys: dict[str, str]) -> Params:
    """AUTOMATIC1111's format: the prompt, "Negative prompt: …", then one line of settings."""
    # The last settings line: a prompt may itself contain "Steps: ".
    found = next(reversed(list(_SETTINGS_LINE.finditer(text[:SEARCH_CHARS]))), None)
    head, settings = (text[: found.start()], text[found.start() :]) if found else (text, "")
    prompt, _, negative = head.partition("\nNegative prompt:")
    params: Params = {"prompt": prompt.strip(), "negative_prompt": negative.strip()}
    other: list[str] = []
    for match in _SETTING.finditer(settings.replace("\n", ", ")):
        name, value = match.group(1).strip(), match.group(2).strip()
        if value.startswith('"') and value.endswith('"') and len(value) > 1:
            value = value[1:-1]
        if name in keys:
            params.setdefault(keys[name], value)
        elif name == "Civitai resources":
            params["resources"] = _civitai_resources(value)
        elif len(other) < MAX_VALUES:
            other.append(f"{name}: {value}")
    params["loras"] = [
        f"{name} ({weight})" if weight else name for name, weight in _LORA_TAG.findall(prompt)
    ][:MAX_VALUES]
    params["other"] = other
    return clean(params)


def _civitai_resources(value: str) -> list[str]:
    try:
        items = json.loads(value)
    except (ValueError, RecursionError):
        return [value]
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            name = " ".join(str(item[k]) for k in ("modelName", "modelVersionName") if k in item)
            kind = item.get("type")
            out.append(f"{name} ({kind})" if kind else name)
    return out[:MAX_VALUES]


def from_json(data: Any, paths: dict[str, str]) -> Params:
    """Parameters from a JSON object: parameter name -> dotted path (numbers index lists)."""
    params: Params = {}
    for param, path in paths.items():
        value = json_path(data, path)
        if param in ("loras", "resources"):
            value = loras(value)
        if value not in (None, "", [], {}):
            params[param] = value if isinstance(value, list | str | int | float) else _text(value)
    return clean(params)


def loras(value: Any) -> list[str]:
    """LoRA lists as tools write them: names, {"name"/"file"/"model": …, "weight": …} objects,
    or [name, weight] pairs; as "name (weight)"."""
    items = value if isinstance(value, list) else [value] if value else []
    out = []
    for item in items[:MAX_VALUES]:
        name, weight = item, None
        if isinstance(item, dict):
            name = next((item[k] for k in ("name", "file", "lora", "model") if item.get(k)), "")
            name = name.get("name", "") if isinstance(name, dict) else name
            weight = item.get("weight", item.get("strength"))
        elif isinstance(item, list | tuple) and item:
            name, weight = item[0], item[1] if len(item) > 1 else None
        if name:
            out.append(f"{name} ({weight})" if weight is not None else str(name))
    return out


def json_path(data: Any, path: str) -> Any:
    """The value at a dotted path (numbers index lists); None where there is none."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def clean(params: Params) -> Params:
    """One form: every value text (numbers as written) or a list of text; empty ones left out."""
    out: Params = {}
    for key, value in params.items():
        if key in LISTS and not isinstance(value, list):
            value = [value]
        if isinstance(value, list):
            value = [_scalar_text(v) for v in value if v not in (None, "")]
        elif value is not None:
            value = _scalar_text(value)
        if value:
            out[key] = value
    return out


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value.strip() if isinstance(value, str) else _text(value)
