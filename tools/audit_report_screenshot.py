"""Make docs/audit-report.png: a sample audit report (made-up members, drawn avatars) as
headless chromium shows it. Also the one place that starts that browser for the tests.

    .venv/bin/python tools/audit_report_screenshot.py [out.png]"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageDraw

from bot.audit.reports import to_html
from bot.audit.runner import AuditReport
from bot.store import AuditRow, AuditRun

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1200,760",
]


def open_chromium(profile: Path):
    """Debian's chromium through the system chromedriver, with a fresh profile (never a
    browser or driver downloaded by selenium)."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))


def _face(seed: int) -> bytes:
    im = Image.new("RGB", (96, 96), (60 + seed * 23 % 150, 90 + seed * 41 % 120, 160))
    d = ImageDraw.Draw(im)
    d.ellipse((28, 14, 68, 54), fill=(230, 200, 170))
    d.ellipse((16, 56, 80, 120), fill=(40 + seed * 57 % 180, 60, 90))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def sample_report() -> AuditReport:
    now = time.time()
    c2pa = "Content Credentials say an AI model made it (conclusive) — generator: an image model"
    sd = "Generator settings in the file (strong) — parameters: portrait photo, 85mm, Steps: 30"
    rows = [
        AuditRow("101", "Ada Lovelace", "a", "0f", "camera_capture", "strong", "EXIF: camera"),
        AuditRow("102", "brightstar", "b", "10", "ai_generated", "conclusive", c2pa),
        AuditRow("103", "Jon", "c", "20", "ai_generated", "strong", sd, score=0.62),
        AuditRow(
            "104", "mika", "d", "30", "ai_generated", "moderate", "Pixel detector", None, 0.88
        ),
        AuditRow("105", "Sam", None, None, "default_avatar", None),
        AuditRow("106", "Tess", None, None, "error", None, "", "Timed out: checking took 30 s."),
        AuditRow("107", "promo_bot_1", "e", "ab", "no_evidence", None, score=0.31),
        AuditRow("108", "promo_bot_2", "e", "ab", "no_evidence", None, score=0.31),
        AuditRow("109", "Quinn", "f", "40", "no_evidence", None, score=0.12),
    ]
    rows = [replace(r, checked_at=now - 60 * i) for i, r in enumerate(rows)]
    run = AuditRun("sample", "discord", "g", "mod", "done", len(rows), {}, now)
    thumbs = {r.member_id: _face(int(r.member_id)) for r in rows if r.sha256}
    thumbs["108"] = thumbs["107"]
    return AuditReport(run, rows, [["107", "108"]], thumbs, elapsed_s=4.2)


def main(out: Path) -> None:
    html = to_html(
        sample_report(),
        "Avatar audit of Example Server",
        "moderate",
        "https://discord.com/users/{id}",
    )
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_bytes(html)
        browser = open_chromium(Path(tmp) / "profile")
        try:
            browser.set_window_size(1200, 1120)
            browser.get(page.as_uri())
            png = browser.get_screenshot_as_png()
        finally:
            browser.quit()
    shot = Image.open(io.BytesIO(png)).convert("RGB")
    shot = shot.quantize(colors=128)  # a small file for the README
    shot.save(out, optimize=True)
    print(f"{out}: {out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/audit-report.png"))
