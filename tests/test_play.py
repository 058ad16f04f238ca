"""A play-through records each submission before its feedback is returned."""

import pytest

from casebook.errors import ScoringError
from casebook.rules.play import Play


def test_submission_is_recorded_before_feedback(mini, mini_case):
    recorded = []
    ticks = iter([0.0, 12.5])
    play = Play(mini_case, mini, recorder=recorded.append, clock=lambda: next(ticks))
    play.shown()
    result = play.submit("first-visit", ["rest"], "certain")
    [sub] = recorded
    assert (sub.stage_id, sub.choices, sub.verdicts, sub.points) == (
        "first-visit", ("rest",), ("recommended",), 1.0)
    assert (sub.confidence, sub.seconds_on_stage, sub.guideline_version) == ("certain", 12.5, "1.0.0")
    assert result.points == 1.0 and play.current.id == "six-weeks"


def test_a_failing_recorder_withholds_feedback(mini, mini_case):
    def broken(_):
        raise OSError("disk full")

    play = Play(mini_case, mini, recorder=broken)
    with pytest.raises(OSError):
        play.submit("first-visit", ["rest"])
    assert play.current.id == "first-visit" and not play.results


def test_stages_are_answered_in_order_once(mini, mini_case):
    play = Play(mini_case, mini)
    with pytest.raises(ScoringError, match="not the one being answered"):
        play.submit("fever", ["contrast"])
    play.submit("first-visit", ["rest"])
    with pytest.raises(ScoringError):
        play.submit("first-visit", ["rest"])


def test_restore_resumes_and_restart_clears(mini, mini_case):
    play = Play(mini_case, mini)
    play.restore({"first-visit": (["rest"], "unsure"), "fever": (["contrast"], None)})
    assert list(play.results) == ["first-visit"] and play.current.id == "six-weeks"
    play.submit("six-weeks", ["surgeon", "contrast"])
    play.submit("fever", ["rest"])
    assert play.done and play.result().score == pytest.approx(2 / 3)
    play.restart()
    assert play.current.id == "first-visit" and not play.results


def test_confidence_must_be_one_of_the_offered_words(mini, mini_case):
    with pytest.raises(ScoringError, match="confidence"):
        Play(mini_case, mini).submit("first-visit", ["rest"], "100%")
