"""Key-feature scoring, worked through on the mini case."""

import pytest

from casebook.content.models import Verdict
from casebook.errors import ScoringError
from casebook.rules.scoring import answer_key, score_case, stage_findings


def stage_points(mini, mini_case, **answers):
    result = score_case(mini, mini_case, {k.replace("_", "-"): v for k, v in answers.items()})
    return [round(s.points, 3) for s in result.stages], result


def test_findings_accumulate_over_stages(mini_case):
    assert stage_findings(mini_case, "first-visit") == {"context": "pain"}
    assert stage_findings(mini_case, "fever") == {"context": "pain", "weeks": "ge6", "fever": True}


def test_answer_key_derives_every_verdict(mini, mini_case):
    key = {(k.stage, o.option): o.verdict for k in answer_key(mini, mini_case) for o in k.options}
    assert key[("first-visit", "rest")] is Verdict.recommended
    assert key[("six-weeks", "rest")] is Verdict.acceptable
    assert key[("fever", "rest")] is Verdict.harmful
    assert key[("fever", "repeat")] is Verdict.not_indicated


def test_single_answer_scores_one_half_zero(mini, mini_case):
    for option, points in [("rest", 1.0), ("repeat", 0.0), ("surgeon", 0.0)]:
        assert stage_points(mini, mini_case, first_visit=[option])[0][0] == points


def test_acceptable_single_answer_scores_half(mini, mini_case):
    key = answer_key(mini, mini_case)[1]
    from casebook.rules.scoring import StageKey, score_stage

    single = StageKey(key.stage, key.context, 1, key.options)
    assert score_stage(single, ["rest"]).points == 0.5


def test_multi_answer_credits_keyed_and_half_credits_acceptable(mini, mini_case):
    # six-weeks, up to 2: surgeon and contrast recommended (R = 2), rest acceptable
    assert stage_points(mini, mini_case, six_weeks=["surgeon"])[0][1] == 0.5
    assert stage_points(mini, mini_case, six_weeks=["surgeon", "contrast"])[0][1] == 1.0
    assert stage_points(mini, mini_case, six_weeks=["surgeon", "rest"])[0][1] == 0.75  # rule 1: 0.5


def test_multi_answer_deducts_a_not_indicated_pick(mini, mini_case):
    # fever, all that apply: contrast recommended, repeat not indicated (R = 1)
    assert stage_points(mini, mini_case, fever=["contrast"])[0][2] == 1.0
    assert stage_points(mini, mini_case, fever=["contrast", "repeat"])[0][2] == 0.5  # rule 1: 1.0
    assert stage_points(mini, mini_case, fever=["repeat"])[0][2] == 0.0


def test_more_choices_than_allowed_score_zero(mini, mini_case):
    points, result = stage_points(mini, mini_case, six_weeks=["surgeon", "contrast", "rest"])
    assert points[1] == 0.0 and result.stages[1].too_many


def test_harmful_choice_zeroes_the_stage_and_counts_a_safety_event(mini, mini_case):
    points, result = stage_points(mini, mini_case, fever=["contrast", "rest"])
    assert points[2] == 0.0
    assert [(s, o.option) for s, o in result.safety_events] == [("fever", "rest")]


def test_case_score_is_the_mean_of_its_stages(mini, mini_case):
    points, result = stage_points(
        mini, mini_case, first_visit=["rest"], six_weeks=["surgeon"], fever=["contrast"]
    )
    assert points == [1.0, 0.5, 1.0]
    assert result.score == pytest.approx(2.5 / 3)
    assert stage_points(mini, mini_case)[1].score == 0.0


def test_repeated_choice_counts_once(mini, mini_case):
    assert stage_points(mini, mini_case, six_weeks=["surgeon", "surgeon"])[0][1] == 0.5


@pytest.mark.parametrize("answers", [{"nope": ["rest"]}, {"first-visit": ["nope"]}])
def test_unknown_stage_or_option_is_an_error(mini, mini_case, answers):
    with pytest.raises(ScoringError, match="no (stage|option) 'nope'"):
        score_case(mini, mini_case, answers)
