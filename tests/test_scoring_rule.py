"""Scoring rule "2" for multi-answer stages, proved as properties (hypothesis) over every shipped
stage and over generated ones: guessing never pays, the keyed set scores 1, harm scores 0."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebook.cli import main
from casebook.content.loading import SHIPPED_ROOT, load_library
from casebook.content.models import Verdict
from casebook.rules import measures
from casebook.rules.engine import ActionVerdict
from casebook.rules.scoring import OptionKey, StageKey, answer_key, score_stage
from conftest import VALID

LIBRARIES = [load_library(SHIPPED_ROOT), load_library(VALID)]
KEYS = [(case.id, key) for lib in LIBRARIES for case in lib.cases.values()
        for key in answer_key(lib.guideline_for(case), case)]
assert len(KEYS) > 20, "the shipped library must give stages to prove the rule on"
VERDICTS = list(Verdict)


def keyed_set(key: StageKey) -> list[str]:
    """The options the stage keys: its recommended ones, as many as it expects (R)."""
    return [o.option for o in key.recommended][: key.max_choices]


def points(key: StageKey, chosen: list[str]) -> float:
    return score_stage(key, chosen).points


def of(key: StageKey, verdict: Verdict) -> list[str]:
    return [o.option for o in key.options if o.verdict is verdict]


# --- generated stages: random verdict mixes and limits --------------------------------------


@st.composite
def stages(draw) -> StageKey:
    verdicts = draw(st.lists(st.sampled_from(VERDICTS), min_size=1, max_size=8))
    if Verdict.recommended not in verdicts:
        verdicts.append(Verdict.recommended)  # validation keeps at least one keyed option
    mode = draw(st.sampled_from(["one", "up_to", "all"]))
    limit = {"one": 1, "all": len(verdicts)}.get(mode) or draw(
        st.integers(min_value=2, max_value=len(verdicts) + 1))
    options = tuple(
        OptionKey(f"o{n}", f"option {n}", f"act{n}",
                  ActionVerdict(f"act{n}", v, None, "why", (1,), ()))
        for n, v in enumerate(verdicts))
    return StageKey("generated", "ctx", limit, options)


def shipped_or_generated():
    """A stage of the library (every one of them is drawn from) or a generated one."""
    return st.one_of(st.sampled_from([k for _, k in KEYS]), stages())


@st.composite
def stage_and_answer(draw) -> tuple[StageKey, list[str]]:
    key = draw(shipped_or_generated())
    ids = [o.option for o in key.options]
    size = min(key.max_choices, len(ids))
    return key, draw(st.lists(st.sampled_from(ids), unique=True, max_size=size))


# --- every shipped stage ---------------------------------------------------------------------


@pytest.mark.parametrize(("case", "key"), KEYS, ids=[f"{c}/{k.stage}" for c, k in KEYS])
def test_every_stage_keyed_set_scores_one_and_everything_scores_less(case, key):
    assert key.recommended, f"{case}/{key.stage} keys no option"
    assert points(key, keyed_set(key)) == 1.0
    everything = [o.option for o in key.options]
    if of(key, Verdict.not_indicated) or of(key, Verdict.harmful):
        assert points(key, everything) < 1.0
    if of(key, Verdict.harmful):
        result = score_stage(key, everything)
        assert result.points == 0.0 and result.safety_events


# --- properties over shipped and generated stages --------------------------------------------


@settings(max_examples=400, deadline=None)
@given(shipped_or_generated())
def test_the_keyed_set_scores_one(key):
    assert points(key, keyed_set(key)) == 1.0


@settings(max_examples=400, deadline=None)
@given(shipped_or_generated())
def test_selecting_everything_scores_below_the_keyed_set(key):
    if of(key, Verdict.not_indicated):
        assert points(key, [o.option for o in key.options]) < points(key, keyed_set(key))


@settings(max_examples=600, deadline=None)
@given(stage_and_answer(), st.data())
def test_a_not_indicated_pick_never_raises_and_lowers_a_positive_score(drawn, data):
    key, chosen = drawn
    extra = [o for o in of(key, Verdict.not_indicated) if o not in chosen]
    if not extra:
        return
    before = points(key, chosen)
    after = points(key, [*chosen, data.draw(st.sampled_from(extra))])
    assert after <= before
    if before > 0:
        assert after < before


@settings(max_examples=600, deadline=None)
@given(stage_and_answer(), st.data())
def test_an_acceptable_pick_within_the_limit_never_lowers_a_score(drawn, data):
    key, chosen = drawn
    extra = [o for o in of(key, Verdict.acceptable) if o not in chosen]
    if not extra or len(chosen) + 1 > key.max_choices:
        return  # past the limit every answer scores 0, which is the limit's own rule
    assert points(key, [*chosen, data.draw(st.sampled_from(extra))]) >= points(key, chosen)


@settings(max_examples=600, deadline=None)
@given(stage_and_answer(), st.data())
def test_a_harmful_pick_scores_zero_and_is_a_safety_event(drawn, data):
    key, chosen = drawn
    harmful = of(key, Verdict.harmful)
    if not harmful:
        return
    pick = data.draw(st.sampled_from(harmful))
    result = score_stage(key, [*chosen, pick] if pick not in chosen else chosen)
    assert result.points == 0.0 and pick in [o.option for o in result.safety_events]


@settings(max_examples=600, deadline=None)
@given(stage_and_answer())
def test_scores_are_in_0_1_and_deterministic(drawn):
    key, chosen = drawn
    first, again = score_stage(key, chosen), score_stage(key, list(chosen))
    assert first == again and 0.0 <= first.points <= 1.0
    assert points(key, list(reversed(chosen))) == first.points  # order does not matter


@settings(max_examples=300, deadline=None)
@given(shipped_or_generated())
def test_more_choices_than_allowed_score_zero(key):
    ids = [o.option for o in key.options]
    if len(ids) > key.max_choices:
        assert points(key, ids) == 0.0


def test_a_single_answer_stage_scores_as_before():
    for verdict, expected in [("recommended", 1.0), ("acceptable", 0.5),
                              ("not_indicated", 0.0), ("harmful", 0.0)]:
        assert measures.stage_points([verdict], 1, 1) == expected


def test_the_rule_in_worked_numbers():
    # R = 2 (two keyed of up to 3): keyed 1/2 each, acceptable 1/4 in place of a keyed one
    assert measures.stage_points(["recommended", "acceptable"], 3, 2) == 0.75
    assert measures.stage_points(["acceptable", "acceptable"], 3, 2) == 0.5
    assert measures.stage_points(["recommended", "recommended", "acceptable"], 3, 2) == 1.0
    # two acceptable no longer score the same as two not indicated (rule "1": both 0)
    assert measures.stage_points(["not_indicated", "not_indicated"], 3, 2) == 0.0
    assert measures.stage_points(["recommended", "not_indicated"], 2, 1) == 0.5


def test_the_rule_is_worded_for_the_learner():
    one, many = measures.scoring_rule_text(1), measures.scoring_rule_text(3)
    for text in (one, many):  # one plain sentence each
        assert text.endswith(".") and ". " not in text and "\n" not in text
    assert "0.5" in one and "harmful" in one
    assert "half a share" in many and "more than 3 choices" in many
    assert measures.SCORING_RULE == "2"


# --- the examples, on the command line -------------------------------------------------


def score(capsys, case: str, *answers: str) -> dict:
    argv = ["score", case, "--json"] + [a for ans in answers for a in ("--answers", ans)]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_an_extra_not_indicated_pick_is_no_longer_free(capsys):
    stages = {s["stage"]: s for s in score(capsys, "nmri-lbp-red-flags", "ten-weeks=a,d")["stages"]}
    assert stages["ten-weeks"]["points"] < 1.0


def test_ticking_every_option_of_rl_no_red_flags_scores_below_one(capsys):
    library = LIBRARIES[0]
    case = library.cases["rl-no-red-flags"]
    ticked = [s for s in case.stages if s.select.mode == "all_that_apply"]
    assert ticked, "rl-no-red-flags has a select-all-that-apply stage"
    answers = [f"{s.id}={','.join(o.id for o in s.options)}" for s in ticked]
    stages = {s["stage"]: s for s in score(capsys, "rl-no-red-flags", *answers)["stages"]}
    for stage in ticked:
        assert stages[stage.id]["points"] < 1.0
