"""Metadata that image generators write: prompts, models, seeds (config/generators.toml).

Looks in PNG text chunks, JPEG comments, EXIF (UserComment, ImageDescription, ...), XMP and
"stealth" data hidden in the pixels' lowest bits. One finding per generator family, however
many places that family wrote to.
"""

from __future__ import annotations

import json

from bot.analysis.checks import CheckContext
from bot.analysis.formats import signatures, stealth
from bot.analysis.formats.metafields import Fields, collect
from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import Evidence, Finding, Signal, Strength, excerpt

NAME = "generators"
ORDER = 20
PROMPT_CHARS = 120
STEALTH_FORMATS = {"PNG", "WEBP", "TIFF", "BMP"}  # lossless: low bits survive


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    fields = collect(photo)
    if photo.format in STEALTH_FORMATS:
        _add_stealth(photo, fields, ctx.settings.limits.max_text_chunk_bytes)
    signatures.apply_aliases(fields)
    return [_finding(m, fields) for m in signatures.match_all(fields)]


def _add_stealth(photo: Photo, fields: Fields, max_bytes: int) -> None:
    found = stealth.read(photo.image, max_bytes)
    if not found:
        return
    where = "alpha channel" if found.channel == "alpha" else "red, green and blue channels"
    label = f"data hidden in the lowest bits of the {where} ({found.signature})"
    try:
        data = json.loads(found.text)
    except ValueError:
        data = None
    if isinstance(data, dict):  # NovelAI: its PNG text chunks as one JSON object
        for key, value in list(data.items())[:64]:
            if isinstance(value, str):
                fields.add(f"text:{key}", value, label)
    else:  # the A1111/Forge extension: the "parameters" text itself
        fields.add("text:parameters", found.text, label)


def _finding(match: signatures.Match, fields: Fields) -> Finding:
    # An inpainting hint outranks a plain image-to-image hint: say only the stronger one.
    decisive = [note for sig, note in match.edited if sig == Signal.AI_EDITED.value]
    notes = decisive or [note for _, note in match.edited]
    signal = Signal.AI_EDITED if decisive else Signal.AI_GENERATED
    prompt = excerpt(match.prompt, PROMPT_CHARS) if match.prompt else None
    model = excerpt(match.model, 80) if match.model else None
    # Where it was found, with the prompt as its excerpt where there is one (the raw field is
    # often JSON), then the model: the two things a short reply shows.
    first, *others = match.fields[:3]
    evidence = [Evidence(fields.labels[first], excerpt(match.prompt or fields.values[first], 80))]
    if model:
        evidence.append(Evidence("model", model))
    evidence += [Evidence(fields.labels[n], excerpt(fields.values[n], 80)) for n in others]
    verb = "edited with" if signal == Signal.AI_EDITED else "made by"
    detail = (
        f"The file carries the settings that {match.family} saves with the pictures it makes "
        "(such as the prompt, model and seed). Cameras and photo editors do not write these. "
        "Metadata can be copied from one file to another, but that is rare."
    )
    return Finding(
        check=NAME,
        signal=signal,
        strength=Strength.STRONG,
        title=f"Metadata says this image was {verb} {match.family}",
        evidence=tuple(evidence),
        detail=" ".join([detail, *notes]),
        data={
            "generator": match.family,
            "model": model,
            "prompt": prompt,
            "sources": [fields.labels[n] for n in match.fields],
            "edited": bool(match.edited),
            # Everything the tool recorded, in full, in one form for every family.
            "parameters": match.parameters,
        },
    )
