"""The CLI and the console, run as people run them."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.adapters.console import respond
from bot.core.pool import AnalysisPool
from bot.core.service import HeadshotService
from tests.conftest import ROOT, png_bytes


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_check_json_and_exit_codes(tmp_path):
    good = tmp_path / "ok.png"
    good.write_bytes(png_bytes())
    bad = tmp_path / "doc.pdf"
    bad.write_bytes(b"%PDF-1.5 hello")
    ok = run_cli("check", str(good), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verdict"]["label"] == "no_evidence"
    both = run_cli("check", str(good), str(bad), "--json")
    assert both.returncode == 2
    codes = [r["error"]["code"] if r["error"] else None for r in json.loads(both.stdout)]
    assert codes == [None, "not_an_image"]
    assert "Traceback" not in both.stderr


def test_check_text_report(tmp_path):
    path = tmp_path / "p.png"
    path.write_bytes(png_bytes())
    out = run_cli("check", str(path))
    assert out.returncode == 0
    assert "No evidence either way" in out.stdout
    assert "Look for yourself" in out.stdout


def test_console_session(tmp_path):
    path = tmp_path / "face.png"
    path.write_bytes(png_bytes())
    out = run_cli("console", stdin=f"{path}\nmore\nhelp\nquit\n")
    assert out.returncode == 0, out.stderr
    assert "No evidence either way" in out.stdout
    assert "All findings" in out.stdout
    assert "how to use me" in out.stdout.lower()


async def test_console_respond_routes_paths_and_text(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(png_bytes())
    svc = HeadshotService(pool=AnalysisPool(inline=True))
    try:
        (check,) = await respond(svc, str(path), [])
        assert check.tone == "no_evidence"
        (answer,) = await respond(svc, "is it ok to use an AI headshot?", [check])
        assert answer.tone == "info"
    finally:
        svc.close()
