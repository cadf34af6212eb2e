"""Circumstantial: image sizes that generators produce by default. Always weak."""

from __future__ import annotations

from functools import lru_cache

from bot.analysis.checks import CheckContext
from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import Evidence, Finding, Signal, Strength
from bot.settings import load_toml

NAME = "dimensions"
ORDER = 90


@lru_cache(maxsize=1)
def _generator_sizes() -> frozenset[tuple[int, int]]:
    """Read once per process (parsing the TOML on every photo cost ~2 ms)."""
    table = load_toml("thresholds.toml").get("dimensions", {})
    return frozenset((int(w), int(h)) for w, h in table.get("generator_sizes", []))


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    size = (photo.width, photo.height)
    if size not in _generator_sizes() and size[::-1] not in _generator_sizes():
        return []
    return [
        Finding(
            check=NAME,
            signal=Signal.AI_GENERATED,
            strength=Strength.WEAK,
            title="Image size is a common AI-generator default",
            evidence=(Evidence("dimensions", f"{photo.width}×{photo.height}"),),
            detail="Many generators output exactly this size, but so can cropping or resizing: "
            "on its own this says very little.",
        )
    ]
