"""The room in Chromium phone emulation: two phones (Playwright's "iPhone 13" and "Pixel 5"
profiles) join by the address the presenter view shows, vote, reload and come back as the same
participant with the same vote, go offline and see the warning; the presenter view on the
instructors' server (behind its login) shows no verdict before the reveal. The instructor's
moves are made on the database directly here (tests/browser/test_session.py drives the
console)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from voila_server import VoilaServer

from casebook.content.loading import load_library
from casebook.records import store
from casebook.sessions import machine as sessions
from casebook.sessions import room

pytestmark = pytest.mark.browser

LIBRARY = load_library()
CASE_ID = sorted(LIBRARY.cases)[0]
CASE = LIBRARY.cases[CASE_ID]
STAGES = [s.id for s in CASE.stages]
PHONES = ("iPhone 13", "Pixel 5")
VERDICT_WORDS = re.compile(r"recommended|not indicated|acceptable|harmful|guideline's step",
                           re.IGNORECASE)


@pytest.fixture(scope="module")
def room_server(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('room') / 'casebook.db'}"
    env = {"CASEBOOK_DB": url, "CASEBOOK_POOL_SIZE": "0",
           "CASEBOOK_POOL": f"cases/{CASE_ID}.ipynb=2"}
    with VoilaServer(env=env) as server:
        yield server, url


def phone(browser, playwright, name: str):
    profile = {k: v for k, v in playwright.devices[name].items() if k != "default_browser_type"}
    context = browser.new_context(**profile)
    return context, context.new_page()


def move(engine, session_id: str, *actions: str) -> None:
    for action in actions:
        sessions.advance(engine, sessions.state(engine, session_id), action, STAGES)


def test_phones_join_by_address_vote_rejoin_and_see_a_lost_connection(
        browser, playwright, room_server, axe_violations):
    server, url = room_server
    engine = store.connect(url)
    current = sessions.create(engine, CASE, sessions.new_key())
    code = current.join_code
    presenter_context = browser.new_context()
    presenter = presenter_context.new_page()
    phones = [phone(browser, playwright, name) for name in PHONES]
    try:
        presenter.goto(server.instructor_render_url("presenter.ipynb", f"session={code}"))
        expect(presenter.locator(".cb-presenter-code")).to_have_text(code)
        address = presenter.locator(".cb-presenter-address a").inner_text()
        assert address.endswith(f"/voila/render/cases/{CASE_ID}.ipynb?session={code}")
        expect(presenter.locator("svg.cb-qr")).to_be_visible()
        for number, (_, page) in enumerate(phones):
            join_by_address(page, server.render_url(f"cases/{CASE_ID}.ipynb?session={code}"),
                            f"Phone {number}")
        expect(presenter.locator(".cb-presenter-counts")).to_contain_text("2 joined")
        move(engine, current.id, "open")
        for _, page in phones:
            vote(page)
        expect(presenter.locator(".cb-presenter-counts")).to_contain_text("2 answered")
        assert not VERDICT_WORDS.search(presenter.locator("body").inner_text())
        assert presenter.locator(".cb-tally").count() == 0
        assert axe_violations(presenter) == [] and axe_violations(phones[1][1]) == []

        context, page = phones[0]
        who = page.locator(".cb-room-who").inner_text()
        page.reload()  # the address now carries the rejoin token
        expect(page.locator(".cb-room-ack")).to_contain_text("already voted")
        assert page.locator(".cb-room-who").inner_text() == who
        expect(page.locator(".cb-submit")).to_be_disabled()
        assert len(room.nicknames(engine, current.id)) == 2  # counted once
        assert len(room.votes(engine, current.id)) == 2

        context.set_offline(True)
        expect(page.locator(".cb-connection")).to_contain_text("Connection lost")
        context.set_offline(False)
        expect(page.locator(".cb-connection")).to_have_count(0)

        move(engine, current.id, "close", "reveal")
        expect(presenter.locator(".cb-presenter-results")).to_contain_text("The room's votes")
        for _, page in phones:
            expect(page.locator(".cb-feedback")).to_contain_text("Points for this stage")
    finally:
        for context, page in [*phones, (presenter_context, presenter)]:
            page.goto("about:blank")
            context.close()
        engine.dispose()


def join_by_address(page: Page, address: str, nickname: str) -> None:
    page.goto(address)
    code = address.rsplit("session=", 1)[1]
    expect(page.locator(".cb-join-code input")).to_have_value(code)
    page.locator(".cb-join-nickname input").fill(nickname)
    page.locator(".cb-join-nickname input").press("Enter")
    expect(page.locator(".cb-room-status")).to_contain_text("Waiting for your instructor")
    expect(page).to_have_url(re.compile(r"\?session=\w+&rejoin=[\w-]+$"))


def vote(page: Page) -> None:
    expect(page.locator(".cb-room-status")).to_contain_text("Voting is open")
    page.locator(".cb-option").first.click()
    page.locator(".cb-submit").click()
    expect(page.locator(".cb-room-ack")).to_contain_text("Your vote is recorded")
