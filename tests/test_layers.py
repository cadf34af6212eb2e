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


# --- adding a check touches no other file ---------------------------------------------------

CHECKS = ROOT / "bot/analysis/checks"


def _check_names() -> set[str]:
    """The NAME of every check module, read from the source (nothing imported)."""
    names = set()
    for path in CHECKS.glob("[!_]*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "NAME" for t in node.targets
            ):
                assert isinstance(node.value, ast.Constant)
                names.add(str(node.value.value))
    return names


def test_no_check_imports_another() -> None:
    modules = {f"bot.analysis.checks.{p.stem}" for p in CHECKS.glob("[!_]*.py")}
    offenders = [
        f"{path.name} imports {name}"
        for path in CHECKS.glob("[!_]*.py")
        for name in imported_modules(path)
        if name in modules
    ]
    assert not offenders, offenders


_CHECK_ID = {"NAME", "check"}  # check.NAME, finding.check, run.check


def test_the_pipeline_and_the_composer_never_single_out_a_check() -> None:
    """Behaviour a check brings (a picture, say) is declared by the check, so the code that runs
    and words the checks compares no check name."""
    names = _check_names()
    assert {"pixels", "c2pa", "exif"} <= names
    offenders = []
    for path in [*(ROOT / "bot/analysis/pipeline").glob("*.py"), ROOT / "bot/core/compose.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            sides = [node.left, *node.comparators] if isinstance(node, ast.Compare) else []
            about_a_check = any(isinstance(n, ast.Attribute) and n.attr in _CHECK_ID for n in sides)
            for side in sides if about_a_check else []:
                if isinstance(side, ast.Constant) and side.value in names:
                    offenders.append(f"{path.name}:{node.lineno} compares with {side.value!r}")
    assert not offenders, offenders


def test_one_place_sniffs_for_content_credentials() -> None:
    """The JUMBF/C2PA byte markers are looked for in intake's sniffing only."""
    found = []
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in (b"jumb", b"c2pa"):
                found.append(str(path.relative_to(ROOT)))
    assert set(found) == {"bot/analysis/intake/sniff.py"}, found
