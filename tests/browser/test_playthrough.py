"""Playing cases in Chromium against the guideline's answer key, taken from the package.

Choosing the recommended options scores full marks; a harmful choice shows the safety event
and scores its stage 0; and until the first Submit nothing the page receives (its HTML, every
websocket frame) carries a verdict or a rationale of the case, nor a finding's name or label,
a finding value's label or a context (diagnosis) label: recognising them in the story is the
learner's part. Every case page is checked so up to its first Submit, after which the feedback
lists every option of the stage. A whole play takes ~15 s, so a few cases cover every guideline
and every kind of stage (one answer, up to n, all that apply); test_pages.py loads every case,
and nbval checks every case's recommended play scores 1. The feedback fits a phone (360x640).
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

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
VERDICT_TOKENS = ("not_indicated", "not indicated", "harmful", "acceptable", "recommended")
IDENTIFIER = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)+")  # a finding's name, not a plain word
PHONE = {"width": 360, "height": 640}


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


def story(case_id: str) -> str:
    """What the case itself shows before an answer (titles, vignette, narratives, questions,
    options), lower-cased: a word the story says is the story's, not a leak of the key."""
    case = LIBRARY.cases[case_id]
    guideline = LIBRARY.guideline_for(case)
    texts = [case.title, case.question, case.vignette, guideline.title, guideline.source.title]
    for stage in case.stages:
        texts += [stage.title, stage.narrative, stage.question, *(o.text for o in stage.options)]
    return " ".join(texts).lower()


def recognition(case_id: str) -> set[str]:
    """The guideline's words for what the learner must recognise: finding names (those that
    are ids, not plain words) and labels, value labels, context titles; those the story does
    not say itself (`story`)."""
    guideline = LIBRARY.guideline_for(LIBRARY.cases[case_id])
    words = {f.name for f in guideline.findings if IDENTIFIER.fullmatch(f.name)}
    words |= {f.label for f in guideline.findings}
    words |= {label for f in guideline.findings for label in f.values.values()}
    words |= {c.title for c in guideline.contexts}
    told = story(case_id)
    return {w for w in words if w.lower() not in told}


def leaks(case_id: str, texts: list[str]) -> list[str]:
    """What of the answer key (verdict words, rationales) or of the guideline's findings
    (`recognition`) is in `texts`, in any of the ways a text travels (`encodings`)."""
    told = story(case_id)
    found = [t for t in VERDICT_TOKENS if t not in told and any(t in x.lower() for x in texts)]
    needles = {n for r in rationales(case_id) | recognition(case_id) for n in encodings(r)}
    return found + sorted(n for n in needles if any(n in x for x in texts))


def record_frames(page: Page) -> list[str]:
    """Every websocket frame the page receives from now on, as text."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(
        payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)))
    return frames


@pytest.mark.parametrize("case_id", nonempty(covering_cases(), "no shipped case app to play"))
def test_recommended_choices_score_full_marks_and_no_key_before_submit(page, server, case_id):
    frames = record_frames(page)
    seen: dict[str, list[str]] = {}

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
    found = leaks(case_id, before)
    assert found == [], f"answer key on the page before Submit: {found[:5]}"
    # The check can see a rationale when one is there: after Submit the feedback carries one.
    assert any(n in text for n in needles for text in frames[len(seen["frames"]):])


@pytest.mark.parametrize("case_id", CASES)
def test_no_finding_or_verdict_before_submit_and_every_option_after(page, server, case_id):
    """Every case page, to its first Submit: nothing of the key or the findings before it;
    after it, the feedback names every option of the stage with its verdict."""
    frames = record_frames(page)
    seen: list[str] = []
    stage_key = keys(case_id)[0]
    stage = LIBRARY.cases[case_id].stages[0]
    page.goto(server.render_url(f"cases/{case_id}.ipynb"))
    answer(page, stage, recommended(stage_key),
           before_submit=lambda: seen.extend([*frames, page.content()]))
    assert len(seen) > 1, "no websocket frame captured before Submit"
    found = leaks(case_id, seen)
    assert found == [], f"{case_id}: key or findings on the page before Submit: {found[:5]}"
    items = page.locator(".cb-feedback .cb-option-feedback")
    expect(items).to_have_count(len(stage.options))
    for n, option in enumerate(stage_key.options):
        expect(items.nth(n)).to_contain_text(option.text)
        expect(items.nth(n)).to_contain_text(option.verdict.label.capitalize())
        expect(items.nth(n)).to_contain_text("you chose this" if option.option in
                                             recommended(stage_key) else "not chosen")
    # The check can see the findings when they are there: the feedback names what was revealed.
    revealed = [f.label for f in LIBRARY.guideline_for(LIBRARY.cases[case_id]).findings
                if f.name in stage.reveal]
    for label in revealed:
        expect(page.locator(".cb-feedback .cb-findings")).to_contain_text(label)


def test_the_feedback_fits_a_phone_screen(browser, server, tmp_path):
    """At 360x640 the page after Submit scrolls only down, never sideways; the screenshot
    goes to CASEBOOK_SCREENSHOTS (a folder) if set, for a person to look at."""
    case_id = covering_cases()[0]
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(server.render_url(f"cases/{case_id}.ipynb"))
        stage_key = keys(case_id)[0]
        answer(page, LIBRARY.cases[case_id].stages[0], recommended(stage_key))
        feedback = page.locator(".cb-feedback")
        feedback.evaluate("e => e.scrollIntoView({block: 'start'})")  # the feedback's top
        page.screenshot(path=str(Path(os.environ.get("CASEBOOK_SCREENSHOTS", tmp_path))
                                 / f"feedback-{case_id}-360.png"))
        width = page.evaluate("() => document.documentElement.scrollWidth")
        right = feedback.evaluate("e => Math.max(...[e, ...e.querySelectorAll('*')].map("
                                  "x => x.getBoundingClientRect().right))")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width}px wide"
        assert right <= PHONE["width"], f"the feedback runs {right - PHONE['width']}px off screen"
    finally:
        page.goto("about:blank")
        context.close()


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
