"""The HTML audit report in a real headless browser (Debian's chromium, driven by selenium
through the system chromedriver; never a downloaded browser): its inline script sorts and
filters the members table. Skips where no chromium is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.audit.reports import to_html
from tests.test_audit_report import sample_report
from tools.audit_report_screenshot import CHROMEDRIVER, CHROMIUM, open_chromium

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="no chromium/chromedriver installed (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def report_page(tmp_path, monkeypatch):
    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium must not look for drivers online
    path = tmp_path / "report.html"
    path.write_bytes(to_html(sample_report(), "Audit", "moderate", "https://x.test/{id}"))
    pytest.importorskip("selenium")
    browser = open_chromium(tmp_path / "profile")
    try:
        browser.get(path.as_uri())
        yield browser
    finally:
        browser.quit()


def visible_ids(browser) -> list[str]:
    rows = browser.find_elements("css selector", "#members tbody tr")
    return [r.get_attribute("data-id") for r in rows if r.is_displayed()]


def header(browser, name: str):
    return browser.find_element("xpath", f"//thead//button[normalize-space()='{name}']")


def test_the_page_loads_with_its_script_and_flagged_first(report_page):
    assert visible_ids(report_page)[:2] == ["3", "2"]
    count = report_page.find_element("id", "count").text
    assert count == "7 of 7 shown"  # written by the script: it ran under the page's CSP
    errors = [e for e in report_page.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_clicking_a_header_sorts_and_clicking_again_reverses(report_page):
    header(report_page, "Pixel score").click()
    ids = visible_ids(report_page)
    assert ids[-2:] == ["7", "2"]  # 0.40 then 0.91, the unscored before them
    header(report_page, "Pixel score").click()
    assert visible_ids(report_page)[:2] == ["2", "7"]
    header(report_page, "Member").click()
    names = [
        r.find_elements("tag name", "td")[1].text.splitlines()[0]
        for r in report_page.find_elements("css selector", "#members tbody tr")
    ]
    assert names == sorted(names, key=str.lower)
    sorted_th = report_page.find_element("css selector", "th[aria-sort]")
    assert sorted_th.get_attribute("aria-sort") == "ascending"


def test_filtering_by_text_and_by_kind(report_page):
    from selenium.webdriver.support.ui import Select

    box = report_page.find_element("id", "filter")
    box.send_keys("c2pa")
    assert visible_ids(report_page) == ["3"]
    box.clear()
    box.send_keys("timed out")
    assert visible_ids(report_page) == ["5"]
    box.clear()
    box.send_keys(" ")  # input event with an empty query: everyone again
    assert len(visible_ids(report_page)) == 7
    show = Select(report_page.find_element("id", "show"))
    show.select_by_value("group")
    assert sorted(visible_ids(report_page)) == ["6", "7"]
    show.select_by_value("flagged")
    assert visible_ids(report_page) == ["3", "2"]
    assert report_page.find_element("id", "count").text == "2 of 7 shown"
