"""The moderator's HTML audit report: one table of every member (flagged first), thumbnails,
shared-avatar groups, hostile names made inert by autoescape, and a self-contained page.
test_audit_report_browser.py checks its sorting and filtering in a real browser."""

from __future__ import annotations

import csv
import io
import re
import time

from bot.audit.audit_service import report_reply
from bot.audit.avatar import whole_words
from bot.audit.reports import report_rows, to_csv, to_html
from bot.audit.runner import AuditReport
from bot.store import AuditRow, AuditRun

HOSTILE = "<script>alert(1)</script>"
THUMB = b"\xff\xd8fake-jpeg"


def sample_report() -> AuditReport:
    now = time.time()
    rows = [
        AuditRow("1", "Ann", "a", "00", "no_evidence", None, checked_at=now),
        AuditRow("2", HOSTILE, "b", "01", "ai_generated", "moderate", "pixels", score=0.91),
        AuditRow("3", "Cy", "c", "02", "ai_generated", "conclusive", "C2PA: made by a model"),
        AuditRow("4", "Dee", None, None, "default_avatar", None),
        AuditRow("5", "Eve", None, None, "error", None, "", "Timed out: checking took long"),
        AuditRow("6", 'Fay" onmouseover="x', "f", "ff", "camera_capture", "strong", "EXIF"),
        AuditRow("7", "Gus", "f", "ff", "ai_generated", "weak", "a hint", score=0.4),
    ]
    run = AuditRun("r1", "discord", "g1", "mod", "done", len(rows), {}, now)
    return AuditReport(run, rows, [["6", "7"]], {"2": THUMB, "6": THUMB, "7": THUMB})


def page(member_url: str | None = "https://discord.com/users/{id}") -> str:
    return to_html(sample_report(), f"Audit of {HOSTILE}", "moderate", member_url).decode()


def test_hostile_names_are_escaped_everywhere():
    html = page()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'onmouseover="x' not in html  # a quote cannot leave an attribute
    assert len(re.findall(r"<script>", html)) == 1  # only the page's own script


def test_one_table_of_every_member_flagged_first_with_links_and_reasons():
    html = page()
    order = re.findall(r'<tr class="[^"]*" data-id="(\d+)"', html)
    assert order[:2] == ["3", "2"]  # conclusive, then moderate: the avatars to review
    assert sorted(order) == [str(i) for i in range(1, 8)]  # everyone, errors and defaults too
    assert order.index("6") < order.index("5") < order.index("1")  # group, error, the rest
    assert 'href="https://discord.com/users/3"' in html
    assert "Timed out: checking took long" in html
    assert "default picture: nothing to check" in html
    assert "91/100" in html and "40/100" in html
    assert html.count("data:image/jpeg;base64,") >= 3


def test_groups_list_each_members_verdict_and_why_it_matters():
    html = page()
    group = html[html.index('id="group-1"') :]
    assert "2 accounts, one face" in group
    assert "camera photo" in group and "signals of AI generation" in group


def test_self_contained_and_only_its_own_script_may_run():
    html = page(None)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from outside
    assert "<a " not in html  # no link template: names are plain text
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', html)
    assert policy and "default-src 'none'" in policy.group(1)
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", policy.group(1))


def test_csv_has_score_and_date_and_summary_lists_flagged_with_score():
    report = sample_report()
    rows = {r["member_id"]: r for r in csv.DictReader(io.StringIO(to_csv(report).decode()))}
    assert rows["2"]["pixel_score"] == "0.9100" and rows["4"]["pixel_score"] == ""
    assert rows["1"]["checked_at"].endswith("UTC")
    reply = report_reply(report, "Guild", "moderate", "https://discord.com/users/{id}")
    review = reply.sections[-1].lines
    assert review[0].startswith("Cy: C2PA") and "pixel score" not in review[0]
    assert review[1] == f"{HOSTILE}: pixels (pixel score 91/100)"


def test_evidence_ends_on_a_whole_word():
    assert whole_words("short and whole") == "short and whole"
    assert whole_words("Software: Stable Diffusion web U…") == "Software: Stable Diffusion web…"
    long = "word " * 100
    cut = whole_words(long, 42)
    assert cut.endswith("word…") and len(cut) <= 43


def test_rows_without_a_link_template_have_no_url():
    assert all(r.url is None for r in report_rows(sample_report(), "moderate"))
