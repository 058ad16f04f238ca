"""The learners' pages as Chromium gets them: the home page lists every case, every case app
loads without an error, nothing is fetched from off the machine, and axe-core finds no
serious or critical accessibility violation."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect
from voila_server import case_notebooks, get, shown

from conftest import nonempty

pytestmark = pytest.mark.browser

CASES = nonempty(case_notebooks(), "no case app in notebooks/cases/ (run `casebook notebooks`)")
# An address off the machine in an attribute, a CSS url(), or a JS import.
OUTSIDE_REFERENCE = re.compile(
    r"""(?:\b(?:src|href|action)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?|import\(\s*["'])"""
    r"""(?:https?:)?//(?!127\.0\.0\.1[:/]|localhost[:/])""", re.IGNORECASE)


def listed_cases() -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "casebook", "list", "--json"],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def open_case(page, server, case_id: str) -> None:
    page.goto(server.render_url(f"cases/{case_id}.ipynb"))
    expect(page.locator(".cb-option").first).to_be_visible()


def test_home_page_lists_every_case(page, server):
    page.goto(server.url)  # / redirects to the home notebook
    assert page.url == server.render_url("index.ipynb")
    expect(page.locator(".cb-home")).to_be_visible()
    cases = listed_cases()
    shown = page.locator(".cb-case").evaluate_all("els => els.map(e => e.dataset.case)")
    assert sorted(shown) == sorted(c["id"] for c in cases)
    for case in cases:
        item = page.locator(f'.cb-case[data-case="{case["id"]}"]')
        expect(item).to_contain_text(case["title"])
        expect(item.locator("a.cb-case-link")).to_have_attribute("href", f"cases/{case['id']}.ipynb")


def test_every_listed_case_has_an_app():
    assert CASES == sorted(c["id"] for c in listed_cases())


@pytest.mark.parametrize("case_id", CASES)
def test_case_app_loads_without_error(page, server, case_id):
    open_case(page, server, case_id)
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "Error" not in text, text[:2000]
    assert page.locator(".cb-error:visible").count() == 0
    assert page.locator(".cb-option").count() >= 2
    expect(page.locator(".cb-submit")).to_be_visible()


def test_pages_fetch_nothing_off_the_machine(offline_page, server):
    page = offline_page.page
    page.goto(server.url)
    expect(page.locator(".cb-home")).to_be_visible()
    page.locator("a.cb-case-link").first.click()
    expect(page.locator(".cb-option").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert offline_page.outside == []


@pytest.mark.parametrize(("notebook", "app"), [
    ("index.ipynb", "HomePage"), *((f"cases/{c}.ipynb", "CasePlayer") for c in CASES[:1])])
def test_served_html_names_nothing_off_the_machine(server, notebook, app):
    code, _, html = get(server.render_url(notebook))
    assert code == 200
    assert shown(html) == [app]  # the page itself, not an error screen
    found = [html[m.start():m.end() + 60] for m in OUTSIDE_REFERENCE.finditer(html)]
    assert found == []
    assert "cdn" not in html.lower()


def test_the_stylesheet_is_linked_once_served_and_applied(page, server):
    code, _, html = get(server.render_url(f"cases/{CASES[0]}.ipynb"))
    assert code == 200 and html.count("casebook.css") == 1
    for base in (server.url, server.instructor_url):
        code, headers, css = get(f"{base}voila/static/casebook.css")
        assert code == 200 and headers["Content-Type"].startswith("text/css") and ".cb-notice" in css
    open_case(page, server, CASES[0])
    notice = page.locator(".cb-notice").first
    assert notice.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 248, 197)"
    option = page.locator(".cb-option").first
    assert option.evaluate("e => getComputedStyle(e.matches('button') ? e : e.querySelector("
                           "'label')).whiteSpace") == "normal"  # long labels wrap
    assert page.locator("style").evaluate_all(
        "els => els.filter(e => e.closest('.jupyter-widgets')).length") == 0


def test_source_code_is_stripped(server):
    code, _, html = get(server.render_url(f"cases/{CASES[0]}.ipynb"))
    assert code == 200 and shown(html) == ["CasePlayer"]
    assert "case_app(" not in html and "from casebook" not in html


def test_home_page_has_no_serious_accessibility_violation(page, server, axe_violations):
    page.goto(server.url)
    expect(page.locator(".cb-home")).to_be_visible()
    assert axe_violations(page) == []


def test_case_page_has_no_serious_accessibility_violation(page, server, axe_violations):
    open_case(page, server, CASES[0])
    assert axe_violations(page) == []
