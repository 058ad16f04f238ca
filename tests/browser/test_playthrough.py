"""Playing cases in Chromium against the guideline's answer key, taken from the package.

Choosing the recommended options scores full marks; a harmful choice shows the safety event
and scores its stage 0; and until the first Submit nothing the page receives (its HTML, every
websocket frame) carries a verdict or a rationale of the case. A play takes ~15 s, so a few
cases cover every guideline and every kind of stage (one answer, up to n, all that apply);
test_pages.py loads every case, and nbval checks every case's recommended play scores 1.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from playwright.sync_api import Page, expect
from voila_server import case_notebooks

from casebook.content.loading import load_library
from casebook.content.models import Stage, Verdict
from casebook.rules.scoring import StageKey, answer_key, score_case
from conftest import nonempty

pytestmark = pytest.mark.browser

LIBRARY = load_library()
CASES = case_notebooks()
VERDICT_TOKENS = ("not_indicated", "harmful", "acceptable")


def keys(case_id: str) -> list[StageKey]:
    case = LIBRARY.cases[case_id]
    return answer_key(LIBRARY.guideline_for(case), case)


def recommended(key: StageKey) -> list[str]:
    return [o.option for o in key.recommended][: key.max_choices]


def covering_cases() -> list[str]:
    """Per guideline, the case with the most kinds of stage (then the most stages)."""
    best: dict[str, str] = {}
    for case_id in CASES:  # in order: a tie keeps the first
        guideline = LIBRARY.cases[case_id].guideline.id
        if guideline not in best or variety(case_id) > variety(best[guideline]):
            best[guideline] = case_id
    return sorted(best.values())


def variety(case_id: str) -> tuple[int, int]:
    case = LIBRARY.cases[case_id]
    return len({s.select.mode for s in case.stages}), len(case.stages)


def first_harmful_cases() -> list[str]:
    """Per guideline, the first case with a harmful option (a few plays cover every guideline)."""
    found: dict[str, str] = {}
    for case_id in CASES:
        guideline = LIBRARY.cases[case_id].guideline.id
        if guideline not in found and any(o.verdict is Verdict.harmful
                                          for k in keys(case_id) for o in k.options):
            found[guideline] = case_id
    return sorted(found.values())


def answer(page: Page, stage: Stage, chosen: list[str], before_submit=lambda: None) -> None:
    """Wait for this stage's options, click the chosen ones, Submit, wait for the feedback."""
    options = page.locator(".cb-option")
    expect(options).to_have_text([re.compile(r"^\W*" + re.escape(o.text) + r"\s*$")
                                  for o in stage.options])
    for option in stage.options:
        if option.id in chosen:
            control = options.filter(has_text=re.compile(r"^\W*" + re.escape(option.text) + r"\s*$"))
            box = control.locator("input")  # a Checkbox: its box, not the blank beside a label
            (box if box.count() else control).click()
    before_submit()
    page.locator(".cb-submit").click()
    expect(page.locator(".cb-feedback")).to_contain_text("Points for this stage")


def play(page: Page, case_id: str, answers: dict[str, list[str]], before_first_submit=None):
    """Play the whole case; `before_first_submit` runs once, just before the first Submit."""
    stages = LIBRARY.cases[case_id].stages
    for number, stage in enumerate(stages):
        hook = before_first_submit if number == 0 and before_first_submit else (lambda: None)
        answer(page, stage, answers[stage.id], hook)
        yield stage, page.locator(".cb-feedback")
        page.locator(".cb-next").click()
    expect(page.locator(".cb-summary")).to_be_visible()


def encodings(text: str) -> set[str]:
    """The ways a text can travel: plain, HTML-escaped, inside a JSON string; a long prefix."""
    forms = {text, html.escape(text), html.escape(text, quote=False)}
    forms |= {json.dumps(f, ensure_ascii=a)[1:-1] for f in set(forms) for a in (True, False)}
    return {f[:60] for f in forms}


def rationales(case_id: str) -> set[str]:
    return {o.judgement.rationale for k in keys(case_id) for o in k.options}


@pytest.mark.parametrize("case_id", nonempty(covering_cases(), "no shipped case app to play"))
def test_recommended_choices_score_full_marks_and_no_key_before_submit(page, server, case_id):
    frames: list[str] = []
    seen: dict[str, list[str]] = {}
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(
        payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)))

    def snapshot():
        seen["frames"] = list(frames)
        seen["html"] = [page.content()]

    page.goto(server.render_url(f"cases/{case_id}.ipynb"))
    answers = {k.stage: recommended(k) for k in keys(case_id)}
    for _stage, feedback in play(page, case_id, answers, before_first_submit=snapshot):
        expect(feedback).to_contain_text("Points for this stage: 1.00 of 1.00")

    score = page.locator(".cb-score")
    expect(score.locator(".cb-score-value")).to_have_attribute("data-score", "1.000")
    expect(score).to_contain_text("Total score: 1.00 of 1.00 (100%)")

    needles = {n for r in rationales(case_id) for n in encodings(r)}
    before = seen["frames"] + seen["html"]
    assert len(seen["frames"]) > 0, "no websocket frame captured before Submit"
    leaks = [t for t in VERDICT_TOKENS if any(t in text for text in before)]
    leaks += [n for n in needles if any(n in text for text in before)]
    assert leaks == [], f"answer key on the page before Submit: {leaks[:5]}"
    # The check can see a rationale when one is there: after Submit the feedback carries one.
    assert any(n in text for n in needles for text in frames[len(seen["frames"]):])


@pytest.mark.parametrize("case_id", nonempty(first_harmful_cases(), "no shipped case has a harmful option"))
def test_harmful_choice_is_a_safety_event_scoring_zero(page, server, case_id):
    case_keys = keys(case_id)
    harmful_stage = next(k for k in case_keys if any(o.verdict is Verdict.harmful
                                                     for o in k.options))
    answers = {k.stage: recommended(k) for k in case_keys}
    answers[harmful_stage.stage] = [next(o.option for o in harmful_stage.options
                                         if o.verdict is Verdict.harmful)]
    page.goto(server.render_url(f"cases/{case_id}.ipynb"))
    for stage, feedback in play(page, case_id, answers):
        if stage.id == harmful_stage.stage:
            expect(feedback.locator(".cb-safety-event")).to_be_visible()
            expect(feedback).to_contain_text("Points for this stage: 0.00 of 1.00")

    case = LIBRARY.cases[case_id]
    expected = score_case(LIBRARY.guideline_for(case), case, answers)
    assert expected.score < 1
    expect(page.locator(".cb-summary .cb-safety-event")).to_be_visible()
    expect(page.locator(".cb-score .cb-score-value")).to_have_attribute(
        "data-score", f"{expected.score:.3f}")
