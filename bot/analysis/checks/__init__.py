"""Checks: one module each, discovered by name. A check module defines

    NAME: str                                   # stable id, used in findings and config
    def run(photo: Photo, ctx: CheckContext) -> list[Finding]

and raises CheckSkipped("why") when it cannot look at this photo. Optionally:

    ORDER: int                                  # run order (default 50)
    def annotate(photo, findings) -> bytes | None   # a PNG explaining its findings

Adding a module here is all it takes to add a check; `analysis.disabled_checks` in config
turns one off. A check imports no other check: what two share lives outside checks/
(formats/ for metadata, vision/ for faces and pixels).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import Finding
from bot.settings import Settings


@dataclass(frozen=True)
class CheckContext:
    settings: Settings


CheckFn = Callable[[Photo, CheckContext], list[Finding]]


@lru_cache(maxsize=1)
def all_checks() -> tuple[ModuleType, ...]:
    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "run"):
            mods.append(mod)
    return tuple(sorted(mods, key=lambda m: (getattr(m, "ORDER", 50), m.NAME)))


def enabled_checks(settings: Settings) -> list[ModuleType]:
    off = set(settings.analysis.disabled_checks)
    return [m for m in all_checks() if m.NAME not in off]
