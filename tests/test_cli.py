"""The CLI and the console, run as people run them."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.adapters.console import respond, run_console
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
    # Short by default: the checklist is named in the hint, and --more shows it.
    assert "--more for all findings and a checklist to look for yourself" in out.stdout
    assert "Hands and fingers" not in out.stdout
    assert "buttons" not in out.stdout.lower()  # the terminal has none
    assert len(out.stdout.strip().splitlines()) <= 20
    more = run_cli("check", str(path), "--more")
    assert "Look for yourself" in more.stdout and "Hands and fingers" in more.stdout


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


def test_check_bad_paths_keep_order_and_json_shape(tmp_path):
    good = tmp_path / "ok.png"
    good.write_bytes(png_bytes())
    folder = tmp_path / "photos"
    folder.mkdir()
    missing = tmp_path / "gone.jpg"
    out = run_cli("check", str(folder), str(good), str(missing), "--json")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    entries = json.loads(out.stdout)
    assert [e["path"] for e in entries] == [str(folder), str(good), str(missing)]
    assert [e["error"]["code"] if e["error"] else None for e in entries] == [
        "is_a_directory",
        None,
        "file_not_found",
    ]
    # Scripts can read the same keys from every entry.
    assert len({tuple(sorted(e)) for e in entries}) == 1
    text = run_cli("check", str(folder), str(good))
    assert text.stdout.index("folder") < text.stdout.index("ok.png")
    assert "no such file" not in text.stdout.lower()


def test_check_text_says_what_to_type_not_which_button(tmp_path):
    from tests.conftest import jpeg_bytes
    from tests.metadata_fixtures import phone_exif

    path = tmp_path / "me.jpg"
    path.write_bytes(jpeg_bytes((300, 200), exif=phone_exif(gps=(51.5, -0.12))))
    out = run_cli("check", str(path)).stdout
    assert "--more" in out and "--strip" in out
    assert "button" not in out.lower() and "[attached:" not in out
    more = run_cli("check", str(path), "--more", "--strip", str(tmp_path / "out")).stdout
    assert "Run again with --more" not in more and "Add --strip" not in more


async def test_console_details_and_missing_paths(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(png_bytes())
    lines = iter([str(path), "details", str(tmp_path / "typo.png"), str(tmp_path), "quit"])
    written: list[str] = []
    svc = HeadshotService(pool=AnalysisPool(inline=True))
    try:
        await run_console(svc, read=lambda _prompt: next(lines), write=written.append)
    finally:
        svc.close()
    out = "\n".join(written)
    assert "Type 'more'" in out
    assert "All findings" in out  # "details" shows the details, not just a title
    assert "There is no file there" in out and "That is a folder" in out
    assert "button" not in out.lower()


def test_ask_help_in_the_terminal_names_terminal_commands():
    out = run_cli("ask", "")
    assert out.returncode == 0
    assert "how to use me" in out.stdout.lower() and "/headshot-check" not in out.stdout


async def test_console_strip_saves_a_clean_copy(tmp_path, monkeypatch):
    from PIL import Image

    from tests.conftest import jpeg_bytes
    from tests.metadata_fixtures import phone_exif

    path = tmp_path / "me.jpg"
    path.write_bytes(jpeg_bytes((300, 200), exif=phone_exif(gps=(51.5, -0.12))))
    monkeypatch.chdir(tmp_path)
    lines = iter([str(path), "strip", "quit"])
    written: list[str] = []
    svc = HeadshotService(pool=AnalysisPool(inline=True))
    try:
        await run_console(svc, read=lambda _prompt: next(lines), write=written.append)
    finally:
        svc.close()
    out = "\n".join(written)
    assert "Type 'strip'" in out and "Saved" in out
    (copy,) = [p for p in tmp_path.iterdir() if p.name != "me.jpg"]
    assert not Image.open(copy).getexif().get_ifd(0x8825)  # no GPS left


def test_strip_into_a_file_is_a_clear_error(tmp_path):
    photo = tmp_path / "p.png"
    photo.write_bytes(png_bytes())
    not_a_folder = tmp_path / "taken"
    not_a_folder.write_text("x")
    out = run_cli("check", str(photo), "--strip", str(not_a_folder))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "it is a file" in out.stderr


def test_check_refuses_devices_and_oversized_files_without_reading_them(tmp_path):
    big = tmp_path / "huge.jpg"
    with big.open("wb") as f:  # sparse: takes no disk space, but far over the byte limit
        f.truncate(200_000_000)
    out = run_cli("check", "/dev/zero", str(big), "--json")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    codes = [e["error"]["code"] for e in json.loads(out.stdout)]
    assert codes == ["not_a_file", "too_large"]


def test_eval_passes_its_options_through():
    out = run_cli("eval", "--help")
    assert out.returncode == 0, out.stderr
    assert "--labels" in out.stdout and "--degrade" in out.stdout


def test_check_json_carries_generation_parameters_in_full(tmp_path):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    prompt = 'a "founder" portrait,\tback\\slash, ' * 20 + "<lora:skin:0.5>"
    info = PngInfo()
    info.add_text(
        "parameters",
        f"{prompt}\nNegative prompt: blurry\nSteps: 28, Sampler: Euler a, CFG scale: 5, "
        "Seed: 7, Size: 64x64, Model: juggernautXL",
    )
    path = tmp_path / "gen.png"
    Image.new("RGB", (64, 64), (90, 90, 90)).save(path, "PNG", pnginfo=info)
    out = run_cli("check", "--json", str(path))
    assert out.returncode == 0, out.stderr
    assert '\\"founder\\"' in out.stdout and "\\t" in out.stdout  # escaped as JSON does
    (gen,) = [f for f in json.loads(out.stdout)["findings"] if f["check"] == "generators"]
    params = gen["data"]["parameters"]
    assert params["prompt"] == prompt and params["negative_prompt"] == "blurry"
    assert (params["steps"], params["sampler"], params["seed"]) == ("28", "Euler a", "7")
    assert params["model"] == "juggernautXL" and params["loras"] == ["skin (0.5)"]
