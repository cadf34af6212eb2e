"""Disclosure suggestions (caption, alt text, bio line, longer note) from
config/guidance/disclosure.toml, fitted to the context and to what the check found."""

from __future__ import annotations

import re
from typing import Any

from bot.analysis.pipeline.verdict import Label
from bot.guidance.contexts import context_name, context_slug
from bot.guidance.models import Disclosure

_UNSAFE = re.compile(r"[\x00-\x1f\x7f`*_~<>|\[\]{}@]")  # markup, mentions, control chars


def normalise_context(context: str | None) -> str:
    """'CV', 'slack', 'passport' -> resume, chat-avatar, government-id; none or unknown ->
    'other' (wording that fits anywhere: no place is assumed)."""
    return context_slug(context) or "other"


def clean_tool(name: str | None, limit: int) -> str:
    """A generator name may come from file metadata: keep it short and free of markup."""
    if not name:
        return ""
    # "Stable Diffusion XL (Stability AI / diffusers)" reads better in a caption without the
    # detail in brackets, which would otherwise nest inside the template's own brackets.
    name = name.split(" (", 1)[0] or name
    text = " ".join(_UNSAFE.sub(" ", name).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fill(template: str, values: dict[str, str]) -> str:
    return template.format_map(values)


def _values(cfg: dict[str, Any], edited: bool, tool: str, context_name: str) -> dict[str, str]:
    wording = cfg["wording"]
    form = wording["edited" if edited else "generated"]
    suffix = wording["tool"].format(name=tool) if tool else ""
    made = form["made"].format(tool=suffix)
    return {
        "made": made,
        "Made": made[:1].upper() + made[1:],
        "short": form["short"],
        "nature": form["nature"],
        "context_name": context_name,
    }


def build_disclosure(
    cfg: dict[str, Any],
    context: str | None,
    label: Label,
    generator: str | None = None,
    edit_only: bool = False,
    gps: bool = False,
    serial: bool = False,
) -> Disclosure:
    label = Label(label)  # callers may still pass the label's value
    ctx = normalise_context(context)
    tpl = cfg["contexts"][ctx]
    privacy = [cfg["privacy"][k] for k, found in (("gps", gps), ("serial", serial)) if found]
    if ctx == "government-id":
        return _government_id(tpl, label, privacy, ctx)
    if not label.is_ai and not edit_only:
        advice = cfg["verdicts"].get(label, cfg["verdicts"][Label.NO_EVIDENCE])
        return Disclosure(
            context=ctx,
            advice=advice.format(context_name=context_name(ctx)),
            needed=False,
            privacy=privacy,
        )
    edited = edit_only or label is Label.AI_EDITED
    tool = clean_tool(generator, int(cfg["wording"]["max_tool_chars"]))
    values = _values(cfg, edited, tool, context_name(ctx))
    return Disclosure(
        context=ctx,
        caption=_fill(tpl["caption"], values),
        alt_text=_fill(tpl["alt_text"], values),
        bio_line=_fill(tpl["bio_line"], values),
        about=_fill(tpl["about"], values),
        advice=_fill(tpl["advice"], values),
        optional=[cfg["wording"]["optional"].format(line=line) for line in tpl["optional"]],
        needed=True,
        privacy=privacy,
    )


def _government_id(tpl: dict[str, Any], label: Label, privacy: list[str], ctx: str) -> Disclosure:
    """Official documents: never a disclosure template, only advice against AI images."""
    if label.is_ai:
        advice = tpl["advice_ai"]
    elif label in (Label.CAMERA_CAPTURE, Label.CAMERA_EDITED):
        advice = tpl["advice_camera"]
    else:
        advice = tpl["advice_unknown"]
    return Disclosure(context=ctx, advice=advice, needed=False, privacy=privacy)
