"""Read the model name and positive prompt out of a ComfyUI node graph.

ComfyUI saves two graphs: the API "prompt" ({id: {"class_type", "inputs"}}, links are
[node_id, slot] pairs) and the editor "workflow" ({"nodes": [...], "links": [...]}). Which node
types load models, sample, and carry text is configuration ([comfyui] in generators.toml).
"""

from __future__ import annotations

import json
from typing import Any


def parse(text: str, cfg: dict[str, Any]) -> tuple[str | None, str | None]:
    """(model, prompt) from either graph format; (None, None) when unreadable."""
    try:
        graph = json.loads(text)
    except (ValueError, RecursionError):
        return None, None
    if isinstance(graph, dict) and isinstance(graph.get("nodes"), list):
        return _workflow(graph, cfg)
    if isinstance(graph, dict):
        nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict) and "class_type" in v}
        return _api(nodes, cfg)
    return None, None


def _api(nodes: dict[str, dict[str, Any]], cfg: dict[str, Any]) -> tuple[str | None, str | None]:
    model = None
    for node in nodes.values():
        key = cfg["loaders"].get(node.get("class_type"))
        value = (node.get("inputs") or {}).get(key) if key else None
        if isinstance(value, str):
            model = value
            break
    prompt = None
    for node in nodes.values():
        if node.get("class_type") in cfg["samplers"]:
            prompt = _api_text(nodes, node, cfg, cfg["max_hops"])
            if prompt:
                break
    return model, prompt


def _api_text(nodes: dict, node: dict, cfg: dict[str, Any], hops: int) -> str | None:
    """Follow conditioning links back from a sampler to the first node that holds text."""
    inputs = node.get("inputs") or {}
    for name in cfg["text_inputs"]:
        value = inputs.get(name)
        if (
            isinstance(value, str)
            and value.strip()
            and node.get("class_type") not in cfg["samplers"]
        ):
            return value
    if hops <= 0:
        return None
    for name in [*cfg["positive_inputs"], *cfg["text_inputs"]]:
        link = inputs.get(name)
        if isinstance(link, list) and link and str(link[0]) in nodes:
            found = _api_text(nodes, nodes[str(link[0])], cfg, hops - 1)
            if found:
                return found
    return None


def _workflow(graph: dict[str, Any], cfg: dict[str, Any]) -> tuple[str | None, str | None]:
    nodes = {n.get("id"): n for n in graph["nodes"] if isinstance(n, dict)}
    origin = {}  # link id -> the node it comes from
    for link in graph.get("links") or []:
        if isinstance(link, list) and len(link) >= 2:
            origin[link[0]] = link[1]
    model = None
    for node in nodes.values():
        values = node.get("widgets_values")
        loader = node.get("type") in cfg["loaders"]
        if loader and isinstance(values, list) and values and isinstance(values[0], str):
            model = values[0]
            break
    prompt = None
    for node in nodes.values():
        if node.get("type") in cfg["samplers"]:
            prompt = _workflow_text(nodes, origin, node, cfg, cfg["max_hops"])
            if prompt:
                break
    return model, prompt


def _workflow_text(
    nodes: dict, origin: dict, node: dict, cfg: dict[str, Any], hops: int
) -> str | None:
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
                found = _workflow_text(nodes, origin, nodes[source], cfg, hops - 1)
                if found:
                    return found
    return None
