"""The case player, headless: build it, set values, click, and assert on widget state.

Runs against the small fixture library (tests/fixtures/small_library: a made-up knee
guideline with a red flag, a harmful step, an up-to-2 and an all-that-apply stage, and an
unlisted reference) and against every case shipped under cases/, whatever exists.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import ipywidgets as w
import pytest
from widget_tree import by_class, one, synced_state, visible

from casebook.apps import case_app
from casebook.content.loading import SHIPPED_ROOT, case_ids, load_library
from casebook.errors import CasebookError
from casebook.rules.play import CONFIDENCE, Play
from casebook.rules.validation import validate
from casebook.ui.player import CasePlayer, ErrorScreen
from conftest import nonempty

SMALL = Path(__file__).parent / "fixtures" / "small_library"
SHIPPED_CASES = nonempty(sorted(case_ids(SHIPPED_ROOT)), f"no case under {SHIPPED_ROOT}")
VERDICT_TOKENS = ("recommended", "not_indicated", "not indicated", "acceptable", "harmful")


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    return SMALL


@pytest.fixture
def shipped(monkeypatch):
    monkeypatch.setenv("CASEBOOK_CASES", str(SHIPPED_ROOT))
    return SHIPPED_ROOT


def options(player: CasePlayer) -> dict[str, w.Widget]:
    """The current stage's option controls by option id."""
    controls = by_class(player, "cb-option")
    stage = player.play.current
    assert len(controls) == len(stage.options)
    return {o.id: c for o, c in zip(stage.options, controls, strict=True)}


def answer(player: CasePlayer, chosen: list[str], confidence: str | None = None) -> None:
    for option_id in chosen:
        options(player)[option_id].value = True
    if confidence is not None:
        one(player, "cb-confidence").value = confidence
    one(player, "cb-submit").click()


def recommended(player: CasePlayer) -> list[str]:
    key = player.play.key(player.play.current.id)
    return [o.option for o in key.recommended][: key.max_choices]


def play_recommended(player: CasePlayer) -> None:
    while player.play.current is not None:
        answer(player, recommended(player), CONFIDENCE[-1])
        assert visible(one(player, "cb-feedback"))
        one(player, "cb-next").click()


def rationales(player: CasePlayer) -> set[str]:
    g = player.play.guideline
    texts = {r.rationale for r in g.rules} | {c.default.rationale for c in g.contexts}
    texts |= {e.text for r in g.rules for e in r.evidence}
    texts |= {e.text for c in g.contexts for e in c.default.evidence}
    return texts


def assert_no_key_in_state(player: CasePlayer, public: str = "") -> None:
    """Nothing the page has been sent names a verdict or quotes a rationale."""
    state = synced_state(player).lower()
    for token in VERDICT_TOKENS:
        if token not in public.lower():
            assert token not in state, f"{token!r} reached the browser before a submission"
    for text in rationales(player):
        if text.lower() not in public.lower():
            assert text.lower() not in state, f"a rationale reached the browser: {text[:60]}"


def public_text(player: CasePlayer) -> str:
    """What the content itself shows before any answer (case text, guideline labels)."""
    g = player.play.guideline
    return " ".join([player.play.case.model_dump_json(), g.title, g.source.title,
                     *(f.model_dump_json() for f in g.findings)])


# --- the small fixture case -------------------------------------------------------------


def test_header_shows_title_guideline_version_review_status_and_notice(small):
    player = case_app("knee-simple")
    assert isinstance(player, CasePlayer)
    html = " ".join(x.value for x in walk_html(player))
    assert "A sore knee &lt;that settles&gt;" in html  # escaped, not markup
    assert "A sore knee in clinic (test fixture), version 1.2.0" in html
    assert "last updated 2026-01-15" in html
    notice = one(player, "cb-notice").value
    assert "Educational use only, not clinical advice" in notice
    assert "case draft" in notice and "guideline draft" in notice
    assert "A 40-year-old runner" in html


def walk_html(player: CasePlayer) -> list[w.HTML]:
    from widget_tree import walk

    return [x for x in walk(player) if isinstance(x, w.HTML)]


def test_stage_shows_its_story_and_question_but_not_the_guideline_findings(small):
    player = case_app("knee-simple")
    html = " ".join(x.value for x in walk_html(player))
    assert "She is seen in clinic today. The knee is not hot or swollen." in html
    assert "What is the next step?" in html and "Choose one." in html
    for named in ("Where seen", "Seen in clinic", "Rest so far", "No rest yet"):
        assert named not in synced_state(player)  # recognising them is the learner's part


def test_submit_disabled_until_one_option_is_chosen(small):
    player = case_app("knee-simple")
    submit = one(player, "cb-submit")
    assert submit.disabled
    controls = options(player)
    assert all(isinstance(c, w.ToggleButton) for c in controls.values())
    controls["xray"].value = True
    assert not submit.disabled
    controls["xray"].value = False
    assert submit.disabled


def test_single_answer_options_are_exclusive(small):
    player = case_app("knee-simple")
    controls = options(player)
    controls["rest"].value = True
    controls["opioid"].value = True
    assert [k for k, c in controls.items() if c.value] == ["opioid"]


def test_multi_select_shows_and_enforces_its_limit(small):
    player = case_app("knee-simple")
    answer(player, ["rest"])
    one(player, "cb-next").click()
    assert "Choose up to 2." in " ".join(x.value for x in walk_html(player))
    controls = options(player)
    assert all(isinstance(c, w.Checkbox) for c in controls.values())
    submit = one(player, "cb-submit")
    controls["xray"].value = True
    controls["refer"].value = True
    assert not submit.disabled
    controls["rest"].value = True  # a third: refused
    assert controls["rest"].value is False
    assert [k for k, c in controls.items() if c.value] == ["xray", "refer"]
    assert "You can choose up to 2" in " ".join(x.value for x in walk_html(player))
    assert not submit.disabled


def test_feedback_shows_verdicts_rationale_evidence_and_citations(small):
    player = case_app("knee-simple")
    assert not visible(one(player, "cb-feedback"))
    answer(player, ["rest"], "fairly sure")
    feedback = one(player, "cb-feedback")
    assert visible(feedback)
    assert "Recommended" in feedback.value
    assert "Fixture rationale ALPHA" in feedback.value
    assert "80% of fixture patients improved by four weeks [2]" in feedback.value
    assert "[1] Rest first for knee pain. Fixture J. 2020" in feedback.value
    assert "[2] A trial of knee exercise" in feedback.value
    assert "The guideline recommends" in feedback.value
    assert "Safety event" not in feedback.value
    assert all(c.disabled for c in by_class(player, "cb-option"))  # the answer is frozen
    assert one(player, "cb-submit").disabled


def test_harmful_choice_is_a_safety_event_and_scores_zero(small):
    player = case_app("knee-simple")
    answer(player, ["opioid"])
    feedback = one(player, "cb-feedback").value
    assert "Safety event" in feedback and 'role="alert"' in feedback
    assert "Harmful" in feedback and "Fixture rationale FOXTROT" in feedback
    assert ("[3] cited in A sore knee: a fixture article, which does not list it among its "
            "references") in feedback
    assert "Advise rest and exercises" in feedback.split("The guideline recommends")[1]
    assert player.play.results["first-visit"].points == 0.0
    assert 'data-score="0.000"' in one(player, "cb-score").value


def test_unlisted_reference_is_never_given_a_title(small):
    player = case_app("knee-hot-joint")
    answer(player, ["rest"])
    one(player, "cb-next").click()
    answer(player, ["rest"])  # all that apply; rest is harmful with a hot joint
    feedback = one(player, "cb-feedback").value
    assert "Safety event" in feedback
    assert "[3] cited in A sore knee: a fixture article, which does not list" in feedback
    assert "[3] Rest" not in feedback and "[3] A " not in feedback


@pytest.mark.parametrize("case_id", ["knee-simple", "knee-hot-joint"])
def test_recommended_path_ends_with_full_marks_and_summary(small, case_id):
    player = case_app(case_id)
    play_recommended(player)
    score = one(player, "cb-score")
    assert visible(score) and 'data-score="1.000"' in score.value and "Total score" in score.value
    summary = one(player, "cb-summary")
    assert visible(summary) and "Safety events: none." in summary.value
    assert summary.value.count("<tr>") == 1 + len(player.play.case.stages)
    assert "certain" in summary.value  # the confidence given
    assert "Key teaching points" in summary.value
    path = one(player, "cb-path").value
    assert path.count("✔ your choice") == sum(len(r.chosen) for r in player.play.results.values())
    assert visible(one(player, "cb-retry"))
    assert not visible(one(player, "cb-next"))


def test_summary_links_related_cases_and_cites_teaching_points(small):
    player = case_app("knee-simple")
    play_recommended(player)
    summary = one(player, "cb-summary").value
    assert '<a href="./knee-hot-joint.ipynb">A knee that turns hot</a>' in summary
    assert "Rest comes first when there are no red flags. [1, 2]" in summary
    assert "[3] cited by the source article, not listed in it" in summary


def test_summary_lists_safety_events_and_partial_score(small):
    player = case_app("knee-simple")
    answer(player, ["opioid"])
    one(player, "cb-next").click()
    answer(player, ["xray"])
    one(player, "cb-next").click()
    assert 'data-score="0.250"' in one(player, "cb-score").value
    summary = one(player, "cb-summary").value
    assert "Safety events:<ul><li>First visit: Prescribe a strong opioid" in summary


def test_no_verdict_or_rationale_reaches_the_browser_before_submit(small):
    player = case_app("knee-simple")
    assert_no_key_in_state(player)
    options(player)["opioid"].value = True
    assert_no_key_in_state(player)
    one(player, "cb-submit").click()
    assert "fixture rationale foxtrot" in synced_state(player).lower()  # the check can fail
    one(player, "cb-next").click()
    assert_no_key_in_state(player)


def test_try_again_resets_the_play(small):
    player = case_app("knee-simple")
    play_recommended(player)
    one(player, "cb-retry").click()
    assert player.play.results == {} and player.play.current.id == "first-visit"
    assert not visible(one(player, "cb-summary")) and not visible(one(player, "cb-retry"))
    assert not visible(one(player, "cb-score"))
    assert one(player, "cb-submit").disabled
    assert not any(c.value for c in options(player).values())
    assert_no_key_in_state(player)


def test_every_control_has_an_accessible_name(small):
    player = case_app("knee-simple")
    for _stage in range(2):
        for control in by_class(player, "cb-option"):
            assert control.description.strip()
        assert one(player, "cb-confidence").description == "How sure are you?"
        assert list(one(player, "cb-confidence").options) == list(CONFIDENCE)
        answer(player, recommended(player))
        assert one(player, "cb-submit").description == "Submit"
        assert one(player, "cb-next").description
        one(player, "cb-next").click()
    assert one(player, "cb-retry").description == "Try again"


def test_recorder_receives_each_submission(small):
    records = []
    player = case_app("knee-simple", recorder=records.append)
    answer(player, ["rest"], "unsure")
    assert [(r.stage_id, r.choices, r.confidence) for r in records] == [
        ("first-visit", ("rest",), "unsure")]


def test_a_failing_submission_shows_cb_error_and_no_feedback(small):
    def refuse(_submission):
        raise CasebookError("the records store is unavailable")

    player = case_app("knee-simple", recorder=refuse)
    answer(player, ["rest"])
    error = one(player, "cb-error")
    assert visible(error) and "the records store is unavailable" in error.value
    assert not visible(one(player, "cb-feedback"))
    assert one(player, "cb-feedback").value == ""


def test_player_is_built_from_a_handed_in_play_and_does_not_display_itself(small):
    library = load_library(SMALL)
    case = library.cases["knee-simple"]
    play = Play(case, library.guideline_for(case))
    play.restore({"first-visit": (["rest"], "certain")})
    player = CasePlayer(play)
    assert player.play is play and player.play.current.id == "after-rest"
    assert "Score so far (1 of 2 stages)" in one(player, "cb-score").value


# --- errors ----------------------------------------------------------------------------------


def test_unknown_case_id_shows_cb_error(small):
    screen = case_app("no-such-case")
    assert isinstance(screen, ErrorScreen)
    error = one(screen, "cb-error").value
    assert "There is no case &#39;no-such-case&#39;" in error
    assert "knee-hot-joint, knee-simple" in error
    assert "Educational use only" in one(screen, "cb-notice").value
    assert "Traceback" not in error


@pytest.mark.parametrize(
    ("defect", "expected"),
    [
        (("action: knee_xray, text: Order", "action: knee_scan, text: Order"),
         "knee-simple.yaml:stages[0].options[1].action: sore-knee has no action"),
        (("question: What do you do", "questoin: What do you do"),
         "knee-simple.yaml:questoin: unknown field"),
        (("version: 1.2.0}", "version: 9.9.9}"), "no guideline sore-knee 9.9.9"),
        (("stages:\n", "stages: [\n"), "YAML syntax error"),
    ],
    ids=["unknown-action", "misspelt-field", "missing-guideline", "yaml-syntax"],
)
def test_case_failing_validation_shows_cb_error(tmp_path, monkeypatch, defect, expected):
    root = tmp_path / "content"
    shutil.copytree(SMALL, root)
    path = root / "knee-simple.yaml"
    old, new = defect
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    monkeypatch.setenv("CASEBOOK_CASES", str(root))
    screen = case_app("knee-simple")
    assert isinstance(screen, ErrorScreen)
    error = one(screen, "cb-error").value
    assert "fails validation" in error
    assert expected.replace("'", "&#39;") in error
    assert "/content/" not in error  # paths shown relative to the content folder


def test_a_guideline_failing_its_graph_checks_shows_cb_error(tmp_path, monkeypatch):
    root = tmp_path / "content"
    shutil.copytree(SMALL, root)
    path = root / "guidelines" / "sore-knee.yaml"
    text = path.read_text()
    path.write_text(re.sub(r"verdict: harmful\n    actions: \[rest_and_exercise\]",
                           "verdict: acceptable\n    actions: [rest_and_exercise]", text))
    monkeypatch.setenv("CASEBOOK_CASES", str(root))
    screen = case_app("knee-simple")
    assert isinstance(screen, ErrorScreen)
    assert "not harmful, when red flags are present" in one(screen, "cb-error").value


# --- every shipped case -----------------------------------------------------------------------


def _blocking_problems(case_id: str) -> list[str]:
    """Problems full validation finds in a case's own file or its guideline's (not coverage)."""
    library = load_library(SHIPPED_ROOT)
    case = library.cases.get(case_id)
    if case is None:
        return [f"{case_id} does not load"]
    guideline = library.guideline_for(case)
    paths = {library.path_of(case)} | ({library.path_of(guideline)} if guideline else set())
    return [str(p) for p in validate(library) if p.path in paths
            and "is exercised by no case stage" not in p.message] or (
        ["no guideline"] if guideline is None else [])


def assert_not_an_error_screen(player, case_id: str) -> None:
    """A shipped case must open as its case: an error screen, whatever it says, is a failure."""
    if isinstance(player, ErrorScreen):
        markup = one(player, "cb-error").value
        shown = html.unescape(re.sub(r"<style.*?</style>|<[^>]+>", " ", markup, flags=re.DOTALL))
        pytest.fail(f"{case_id} opens on an error screen: {' '.join(shown.split())}\n"
                    f"problems validation finds: {_blocking_problems(case_id)}", pytrace=False)
    assert isinstance(player, CasePlayer)


@pytest.mark.parametrize("case_id", SHIPPED_CASES)
def test_shipped_case_plays_to_full_marks(shipped, case_id):
    player = case_app(case_id)
    assert_not_an_error_screen(player, case_id)
    assert_no_key_in_state(player, public_text(player))
    play_recommended(player)
    assert 'data-score="1.000"' in one(player, "cb-score").value
    assert "<svg" in one(player, "cb-path").value
    for related in player.play.case.related:
        assert f'href="./{related}.ipynb"' in one(player, "cb-summary").value


@pytest.mark.parametrize("case_id", SHIPPED_CASES)
def test_shipped_case_keeps_its_key_out_of_the_browser_at_every_stage(shipped, case_id):
    player = case_app(case_id)
    assert_not_an_error_screen(player, case_id)
    while player.play.current is not None:
        assert_no_key_in_state(player, public_text(player))
        answer(player, recommended(player))
        one(player, "cb-next").click()


def test_the_start_up_path_imports_no_heavy_libraries():
    """`case_app` imports only what a play needs (see `python -X importtime`)."""
    code = ("import sys; from casebook.apps import case_app; "
            "assert type(case_app('knee-simple')).__name__ == 'CasePlayer'; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pandas', 'numpy', 'matplotlib', 'sqlalchemy', 'alembic', 'nbformat', 'nbclient'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "CASEBOOK_CASES": str(SMALL)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
