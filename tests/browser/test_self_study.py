"""Self-study in Chromium against a real Voila server with its own records database: choose a
name on the home page, open a case, answer a stage, reload and find it resumed, go home and
see the progress."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from voila_server import VoilaServer, case_notebooks

from casebook.content.loading import load_library
from casebook.records import frames as records
from casebook.records import store
from casebook.rules.scoring import answer_key

pytestmark = pytest.mark.browser

LIBRARY = load_library()
CASE_ID = next(c for c in case_notebooks() if len(LIBRARY.cases[c].stages) >= 3)
NAME = "Zoë Test"


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('records') / 'casebook.db'}"


@pytest.fixture(scope="module")
def server(database):
    """The conftest's server, but writing to a database of its own (not the repository's)."""
    with VoilaServer(env={"CASEBOOK_DB": database}) as srv:
        yield srv


def answer_first_stage(page: Page) -> list[str]:
    """Choose the first stage's recommended options, submit, and wait for the feedback."""
    case = LIBRARY.cases[CASE_ID]
    key = answer_key(LIBRARY.guideline_for(case), case)[0]
    chosen = [o.option for o in key.recommended][: key.max_choices]
    stage = case.stages[0]
    options = page.locator(".cb-option")
    expect(options).to_have_count(len(stage.options))
    for option in stage.options:
        if option.id in chosen:
            control = options.filter(has_text=re.compile(r"^\W*" + re.escape(option.text) + r"\s*$"))
            box = control.locator("input")  # a Checkbox: its box; a ToggleButton: itself
            (box if box.count() else control).click()
    page.locator(".cb-submit").click()
    expect(page.locator(".cb-feedback")).to_contain_text("Points for this stage")
    return chosen


def test_choose_a_name_answer_reload_resume_and_see_progress(page, server, database):
    case = LIBRARY.cases[CASE_ID]
    stages = len(case.stages)

    page.goto(server.url)
    identity = page.locator(".cb-identity")
    expect(identity).to_contain_text("your real name is not needed")
    page.get_by_label("Display name").fill(NAME)
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"index\.ipynb\?learner=Zo%C3%AB\+Test$"))
    expect(identity).to_contain_text(f"Playing as {NAME}")

    page.locator(f'.cb-case[data-case="{CASE_ID}"] a.cb-case-link').click()
    expect(page).to_have_url(re.compile(rf"cases/{CASE_ID}\.ipynb\?learner=Zo%C3%AB%20Test$"))
    expect(page.locator(".cb-identity")).to_contain_text(f"Playing as {NAME}")
    chosen = answer_first_stage(page)

    page.reload()
    expect(page.locator(".cb-identity")).to_contain_text(
        f"Welcome back: your answers to 1 of {stages} stages are restored.")
    expect(page.get_by_text(f"Stage 2 of {stages}: {case.stages[1].title}")).to_be_visible()
    expect(page.locator(".cb-score")).to_contain_text(f"Score so far (1 of {stages} stages)")

    page.get_by_role("link", name="Your progress (home page)").click()
    identity = page.locator(".cb-identity")
    expect(identity).to_contain_text(f"Playing as {NAME}")
    expect(identity).to_contain_text(f"Cases done: 0 of {len(case_notebooks())}")
    expect(identity.locator("a.cb-next-case")).to_have_text(case.title)
    expect(identity).to_contain_text("You stopped part way through this case")
    expect(page.locator(f'.cb-case[data-case="{CASE_ID}"] .cb-case-progress')).to_have_text(
        f"Your progress: unfinished attempt, 1 of {stages} stages answered")
    assert page.locator(".cb-error:visible").count() == 0

    engine = store.connect(database)
    subs = records.submissions(engine)
    engine.dispose()
    assert list(subs["display_name"]) == [NAME]
    assert list(subs["stage_id"]) == [case.stages[0].id]
    assert list(subs["choices"]) == [chosen]
