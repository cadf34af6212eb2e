"""Read generation parameters out of a ComfyUI node graph.

ComfyUI saves two graphs: the API "prompt" ({id: {"class_type", "inputs"}}, links are
[node_id, slot] pairs) and the editor "workflow" ({"nodes": [...], "links": [...]}). Which node
types load models and LoRAs, sample, and carry text is configuration ([comfyui] in
generators.toml). The result uses the parameter names of bot/analysis/formats/parameters.py.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

Params = dict[str, Any]
Node = dict[str, Any]  # one node of either graph, as JSON decoded it
MAX_NODES = 2000  # a hostile graph is not walked past this many nodes


def parse(text: str, cfg: dict[str, Any]) -> Params:
    """The parameters of either graph format; {} when unreadable."""
    try:
        graph = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if isinstance(graph, dict) and isinstance(graph.get("nodes"), list):
        return _workflow(graph, cfg)
    if isinstance(graph, dict):
        nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict) and "class_type" in v}
        params = _api(dict(list(nodes.items())[:MAX_NODES]), cfg)
        extra = graph.get("extra")
        airs = extra.get("airs") if isinstance(extra, dict) else None
        if isinstance(airs, list) and airs:  # Civitai's generator lists its resources (AIRs)
            params["resources"] = [str(a) for a in airs if isinstance(a, str)]
        return params
    return {}


# -- API format ------------------------------------------------------------------------------
def _api(nodes: dict[str, dict[str, Any]], cfg: dict[str, Any]) -> Params:
    params: Params = {}
    loras = []
    for node in nodes.values():
        kind, inputs = node.get("class_type"), node.get("inputs") or {}
        key = cfg["loaders"].get(kind)
        if key and isinstance(inputs.get(key), str):
            params.setdefault("model", inputs[key])
        if kind in cfg["lora_loaders"] and isinstance(inputs.get("lora_name"), str):
            loras.append(_lora(inputs["lora_name"], inputs.get("strength_model")))
    for node in nodes.values():
        if node.get("class_type") not in cfg["samplers"]:
            continue
        inputs = node.get("inputs") or {}
        for name, param in cfg["sampler_inputs"].items():
            if _scalar(inputs.get(name)):
                params.setdefault(param, inputs[name])
        prompt = _api_linked(nodes, node, cfg, cfg["positive_inputs"])
        negative = _api_linked(nodes, node, cfg, cfg["negative_inputs"])
        if prompt:
            params.setdefault("prompt", prompt)
            if negative:
                params.setdefault("negative_prompt", negative)
    params["loras"] = loras
    params["nodes"] = _node_list(str(n.get("class_type")) for n in nodes.values())
    return {k: v for k, v in params.items() if v not in (None, "", [])}


def _api_linked(
    nodes: dict[str, Node], node: Node, cfg: dict[str, Any], names: list[str]
) -> str | None:
    """The text that the node's `names` inputs (a sampler's positive or negative) lead to."""
    inputs = node.get("inputs") or {}
    for name in names:
        link = inputs.get(name)
        if isinstance(link, list) and link and str(link[0]) in nodes:
            found = _api_text(nodes, nodes[str(link[0])], cfg, cfg["max_hops"], set())
            if found:
                return found
    return None


def _api_text(
    nodes: dict[str, Node], node: Node, cfg: dict[str, Any], hops: int, seen: set[int]
) -> str | None:
    """Follow conditioning links back to the first node that holds text. Each node is visited
    once: a hostile graph whose nodes all link to each other stays linear."""
    if id(node) in seen:
        return None
    seen.add(id(node))
    inputs = node.get("inputs") or {}
    if node.get("class_type") not in cfg["samplers"]:
        for name in cfg["text_inputs"]:
            value = inputs.get(name)
            if isinstance(value, str) and value.strip():
                return value
    if hops <= 0:
        return None
    for name in [*cfg["positive_inputs"], *cfg["text_inputs"]]:
        link = inputs.get(name)
        if isinstance(link, list) and link and str(link[0]) in nodes:
            found = _api_text(nodes, nodes[str(link[0])], cfg, hops - 1, seen)
            if found:
                return found
    return None


# -- editor (workflow) format ------------------------------------------------------------------
def _workflow(graph: dict[str, Any], cfg: dict[str, Any]) -> Params:
    listed = [n for n in graph["nodes"][:MAX_NODES] if isinstance(n, dict)]
    nodes = {n.get("id"): n for n in listed}
    origin = {}  # link id -> the node it comes from
    for link in graph.get("links") or []:
        if isinstance(link, list) and len(link) >= 2:
            origin[link[0]] = link[1]
    params: Params = {}
    loras = []
    for node in listed:
        values = node.get("widgets_values")
        first = values[0] if isinstance(values, list) and values else None
        if node.get("type") in cfg["loaders"] and isinstance(first, str):
            params.setdefault("model", first)
        if node.get("type") in cfg["lora_loaders"] and isinstance(first, str):
            loras.append(
                _lora(first, values[1] if isinstance(values, list) and len(values) > 1 else None)
            )
    for node in listed:
        if node.get("type") not in cfg["samplers"]:
            continue
        values = node.get("widgets_values")
        names = cfg["sampler_widgets"].get(node.get("type"), [])
        if isinstance(values, list):
            for name, value in zip(names, values, strict=False):
                if name and _scalar(value):
                    params.setdefault(name, value)
        prompt = _workflow_linked(node, cfg["positive_inputs"], nodes, origin, cfg)
        if prompt:
            params.setdefault("prompt", prompt)
            negative = _workflow_linked(node, cfg["negative_inputs"], nodes, origin, cfg)
            if negative:
                params.setdefault("negative_prompt", negative)
    params["loras"] = loras
    params["nodes"] = _node_list(str(n.get("type")) for n in listed)
    return {k: v for k, v in params.items() if v not in (None, "", [])}


def _workflow_linked(
    node: Node,
    names: list[str],
    nodes: dict[Any, Node],
    origin: dict[Any, Any],
    cfg: dict[str, Any],
) -> str | None:
    for item in [i for i in node.get("inputs") or [] if isinstance(i, dict)]:
        source = origin.get(item.get("link"))
        if item.get("name") in names and source in nodes:
            found = _workflow_text(nodes, origin, nodes[source], cfg, cfg["max_hops"], set())
            if found:
                return found
    return None


def _workflow_text(
    nodes: dict[Any, Node],
    origin: dict[Any, Any],
    node: Node,
    cfg: dict[str, Any],
    hops: int,
    seen: set[int],
) -> str | None:
    if id(node) in seen:  # each node once, as in _api_text
        return None
    seen.add(id(node))
    values = node.get("widgets_values")
    if "TextEncode" in str(node.get("type")) and isinstance(values, list):
        texts = [v for v in values if isinstance(v, str) and v.strip()]
        if texts:
            return texts[0]
    if hops <= 0:
        return None
    wanted = [*cfg["positive_inputs"], *cfg["text_inputs"]]
    inputs = [i for i in node.get("inputs") or [] if isinstance(i, dict)]
    for name in wanted:
        for item in inputs:
            source = origin.get(item.get("link"))
            if item.get("name") == name and source in nodes:
                found = _workflow_text(nodes, origin, nodes[source], cfg, hops - 1, seen)
                if found:
                    return found
    return None


# -- shared ----------------------------------------------------------------------------------
def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _lora(name: str, strength: Any) -> str:
    return f"{name} ({strength:g})" if isinstance(strength, int | float) else name


def _node_list(kinds: Any) -> list[str]:
    """Node types in graph order, counted: "KSampler", "CLIPTextEncode ×2"."""
    counts = Counter(kinds)
    return [kind if n == 1 else f"{kind} ×{n}" for kind, n in counts.items()]
