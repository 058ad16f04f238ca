"""A class session in Chromium: the instructor's page on the instructors' server and three
learners' case apps on the learners' server, in one browser (a context per person), against
`python -m casebook.serve.servers` with a database of its own.

The instructor opens the session that `casebook session new` printed, learners join with a
hostile, an empty and a unicode nickname, and the room votes, sees nothing of the key or of one
another before the reveal, re-votes, sees the answer, and moves on; the instructor watches the
histogram and reads the report. Each step waits for what the page shows (Playwright's expect).
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect
from voila_server import VoilaServer, get

from casebook.content.loading import load_library
from casebook.content.models import Verdict
from casebook.rules.scoring import answer_key

pytestmark = pytest.mark.browser

# Pages poll every second, so they follow within about 2 s (measured by test_session_ui.py with
# the real poller, and 0.8-1.4 s here on an idle machine); a shared CI machine can be far
# slower, so here the bound only proves the pages follow by themselves, with no reload.
FOLLOW_MS = 15_000
LIBRARY = load_library()


def pick_case() -> str:
    """The first case whose first stage is one answer among recommended, harmful and other."""
    for case_id, case in sorted(LIBRARY.cases.items()):
        key = answer_key(LIBRARY.guideline_for(case), case)[0]
        if key.max_choices == 1 and {o.verdict for o in key.options} >= {
                Verdict.recommended, Verdict.harmful, Verdict.not_indicated}:
            return case_id
    raise AssertionError("no shipped case has a recommended, a harmful and another option")


CASE_ID = pick_case()
CASE = LIBRARY.cases[CASE_ID]
KEY = answer_key(LIBRARY.guideline_for(CASE), CASE)[0]
RIGHT, HARM, OTHER = (next(o for o in KEY.options if o.verdict is v)
                      for v in (Verdict.recommended, Verdict.harmful, Verdict.not_indicated))
NICKNAMES = ["<script>x</script>", "", "Zoë 🦉"]


@pytest.fixture(scope="module")
def room_server(tmp_path_factory):
    """Both servers, sharing a fresh SQLite database; three warm kernels for the case."""
    url = f"sqlite:///{tmp_path_factory.mktemp('session') / 'casebook.db'}"
    env = {"CASEBOOK_DB": url, "CASEBOOK_POOL_SIZE": "0",
           "CASEBOOK_POOL": f"cases/{CASE_ID}.ipynb=3"}
    with VoilaServer(env=env) as server:
        yield server, url


def casebook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "casebook", *args], capture_output=True,
                          text=True, timeout=120, check=True)


def option(page: Page, text: str):
    return page.locator(".cb-option").filter(has_text=re.compile(r"^\W*" + re.escape(text)))


def vote(page: Page, text: str) -> None:
    option(page, text).click()
    page.locator(".cb-submit").click()
    expect(page.locator(".cb-room-ack")).to_contain_text("Your vote is recorded")


def act_and_follow(instructor: Page, action: str, learners: list[Page], text: str) -> None:
    """The instructor clicks `action`; every learner's status comes to say `text` by itself."""
    act(instructor, action)
    for page in learners:
        expect(page.locator(".cb-room-status")).to_contain_text(text, timeout=FOLLOW_MS)


def act(instructor: Page, action: str) -> None:
    instructor.locator(f".cb-action-{action}").click()


def test_a_class_session_from_join_to_report(browser, room_server, tmp_path, axe_violations):
    server, url = room_server
    printed = casebook("session", "new", CASE_ID, "--db", url).stdout
    code = re.search(r"join code: (\w+)", printed)[1]
    key = re.search(r"instructor key: (\S+)", printed)[1]
    contexts = [browser.new_context() for _ in range(4)]
    instructor, *learners = (c.new_page() for c in contexts)
    try:
        run_the_class(server, url, code, key, instructor, learners, tmp_path, axe_violations)
    finally:
        for page in (instructor, *learners):
            page.goto("about:blank")  # fires Voila's beacon: the kernel shuts down
        for context in contexts:
            context.close()


def run_the_class(server, url, code, key, instructor, learners, tmp_path, axe_violations):
    # The instructor's page lives on the instructors' server only, behind its login; a
    # session from `casebook session new` opens with its code and key.
    instructor.goto(f"{server.instructor_url}voila/render/session.ipynb")
    expect(instructor.locator('input[name="password"]')).to_be_visible()  # the login page
    instructor.goto(server.instructor_render_url("session.ipynb"))
    instructor.locator(".cb-console-code input").fill(code)
    instructor.locator(".cb-console-key input").fill("not the key")
    instructor.locator(".cb-console-open").click()
    expect(instructor.locator(".cb-console-message")).to_contain_text("do not open a session")
    instructor.locator(".cb-console-key input").fill(key)
    instructor.locator(".cb-console-open").click()
    expect(instructor.locator(".cb-console-title")).to_contain_text(code)
    expect(instructor.locator(".cb-console-key")).to_be_hidden()
    instructor.reload()  # still signed in (Jupyter's login cookie): the session reopens
    instructor.locator(".cb-console-running select").select_option(label=f"{code}: {CASE_ID}")
    instructor.locator(".cb-console-reopen").click()
    expect(instructor.locator(".cb-console-title")).to_contain_text(code)

    for page, nickname in zip(learners, NICKNAMES, strict=True):
        page.goto(server.render_url(f"cases/{CASE_ID}.ipynb"))
        page.locator(".cb-join-code input").fill(code.lower())
        page.locator(".cb-join-nickname input").fill(nickname)
        page.locator(".cb-join").click()
        expect(page.locator(".cb-room-status")).to_contain_text("Waiting for your instructor")
    who = [p.locator(".cb-room-who").inner_text() for p in learners]
    assert "You are <script>x</script> (" in who[0] and "You are Zoë 🦉 (" in who[2]
    made_up = re.search(r"You are (\w+ \w+ \d\d) \(", who[1])[1]
    assert learners[0].locator(".cb-room-who script").count() == 0
    people = instructor.locator(".cb-console-people")
    expect(people).to_contain_text("3 joined", timeout=FOLLOW_MS)
    expect(people).to_contain_text("<script>x</script>")
    assert people.locator("script").count() == 0 and made_up in people.inner_text()
    expect(learners[0].locator(".cb-submit")).to_be_disabled()

    act_and_follow(instructor, "open", learners, "Voting is open")
    for page, choice in zip(learners, (RIGHT, HARM, OTHER), strict=True):
        vote(page, choice.text)
    for index, page in enumerate(learners):  # before the reveal: no key, no room, no names
        body = page.content()
        assert "data-verdict" not in body and KEY.options[0].judgement.rationale[:40] not in body
        assert page.locator(".cb-tally").count() == 0
        others = [n or made_up for i, n in enumerate(NICKNAMES) if i != index]
        assert not [n for n in others if n in page.locator("body").inner_text()]

    histogram = instructor.locator(".cb-histogram")
    for choice in (RIGHT, HARM, OTHER):
        expect(histogram.locator(f'[data-round="1"] [data-option="{choice.option}"]')
               ).to_have_attribute("data-count", "1", timeout=FOLLOW_MS)
    stats = instructor.locator(".cb-console-stats")
    assert "(harmful)" not in histogram.inner_text()  # no key on the screen unless asked
    expect(stats).to_have_text("")
    instructor.locator(".cb-console-show-key input").check()
    expect(stats).to_contain_text("Round 1: 3 voted; chose the guideline's step: 1 (33%); "
                                  "chose a harmful step: 1")
    assert axe_violations(instructor) == [] and axe_violations(learners[0]) == []

    act(instructor, "close")
    act_and_follow(instructor, "revote", learners, "re-vote")
    for page in learners[1:]:
        vote(page, RIGHT.text)
    expect(stats).to_contain_text("Round 2: 2 voted; chose the guideline's step: 2 (100%); "
                                  "chose a harmful step: 0", timeout=FOLLOW_MS)
    expect(stats).to_contain_text("Round 1: 3 voted")  # both rounds kept
    expect(histogram.locator(f'[data-round="2"] [data-option="{RIGHT.option}"]')
           ).to_have_attribute("data-count", "2")

    act(instructor, "close")
    act_and_follow(instructor, "reveal", learners, "revealed")
    for page in learners:
        feedback = page.locator(".cb-feedback")
        expect(feedback).to_contain_text("Points for this stage: 1.00 of 1.00")
        expect(feedback).to_contain_text(RIGHT.judgement.rationale[:40])
        expect(page.locator(".cb-room-tally")).to_contain_text("once 3 or more have voted")

    act_and_follow(instructor, "next", learners, "Waiting for your instructor")
    expect(learners[0].locator(".cb-feedback")).to_be_hidden()
    expect(learners[0].get_by_text(f"Stage 2 of {len(CASE.stages)}")).to_be_visible()

    instructor.locator(".cb-report-button").click()
    report = instructor.locator(".cb-report")
    rows = report.locator(".cb-report-stages tbody tr")
    expect(rows.nth(0)).to_contain_text("33%")
    expect(rows.nth(1)).to_contain_text("100%")
    expect(report.locator(".cb-report-plot svg")).to_be_visible()
    expect(report.locator("a.cb-report-csv")).to_have_count(3)

    out = casebook("session", "report", code, "--db", url, "--csv", str(tmp_path)).stdout
    assert f"session {code}: {CASE_ID}, 5 vote(s)" in out
    with (tmp_path / f"session-{code}-votes.csv").open() as f:
        votes = [(v["nickname"], v["round"], v["choices"]) for v in csv.DictReader(f)]
    assert sorted(votes) == sorted([
        (NICKNAMES[0], "1", f'["{RIGHT.option}"]'), (made_up, "1", f'["{HARM.option}"]'),
        (NICKNAMES[2], "1", f'["{OTHER.option}"]'), (made_up, "2", f'["{RIGHT.option}"]'),
        (NICKNAMES[2], "2", f'["{RIGHT.option}"]')])


def test_the_session_page_is_not_served_to_learners(room_server):
    server, _ = room_server
    status, _, _ = get(server.render_url("instructor/session.ipynb"))
    assert status == 404
