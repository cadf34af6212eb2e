"""The core knows nothing of Discord or Slack: only adapters, cogs and their renderers may."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_NEUTRAL = ["bot/core", "bot/analysis", "bot/guidance", "bot/audit", "bot/store"]
PLATFORM_MODULES = ("discord", "slack_bolt", "slack_sdk")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_does_not_import_platforms():
    offenders = []
    for folder in PLATFORM_NEUTRAL:
        for path in (ROOT / folder).rglob("*.py"):
            for name in imported_modules(path):
                if name.split(".")[0] in PLATFORM_MODULES:
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, offenders
