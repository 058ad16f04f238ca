"""Worked examples of the guideline engine on the mini guideline."""

import pytest

from casebook.content.models import All, Any_, In, Is, None_, RedFlags, Verdict
from casebook.errors import EvaluationError
from casebook.rules.engine import evaluate, holds


def verdicts(guideline, **findings):
    return {a: v.verdict for a, v in evaluate(guideline, findings).verdicts.items()}


def test_first_visit_recommends_conservative_care_and_defaults_the_rest(mini):
    result = evaluate(mini, {"context": "pain"})
    assert result.context == "pain"
    assert result.verdicts["rest"].verdict is Verdict.recommended
    assert result.verdicts["rest"].rule == "conservative-first"
    assert result.verdicts["rest"].evidence[0].text == "Observe for 4-6 weeks."
    repeat = result.verdicts["repeat_mri"]
    assert (repeat.verdict, repeat.rule, repeat.references) == (Verdict.not_indicated, None, (1,))


def test_after_six_weeks_surgeon_is_recommended_and_rest_acceptable(mini):
    v = verdicts(mini, context="pain", weeks="ge6")
    assert v["surgeon"] is Verdict.recommended
    assert v["contrast_mri"] is Verdict.recommended
    assert v["rest"] is Verdict.acceptable


def test_any_red_flag_makes_conservative_care_harmful(mini):
    for flag in ("fever", "weakness"):
        assert verdicts(mini, context="pain", **{flag: True})["rest"] is Verdict.harmful
    assert verdicts(mini, context="numb", weakness=True)["rest"] is Verdict.harmful


def test_global_rule_applies_in_every_context(mini):
    assert verdicts(mini, context="numb", fever=True)["contrast_mri"] is Verdict.recommended
    assert verdicts(mini, context="numb")["contrast_mri"] is Verdict.not_indicated


def test_evaluation_records_completed_findings(mini):
    result = evaluate(mini, {"context": "numb"})
    assert result.findings == {"context": "numb", "weeks": "lt6", "fever": False, "weakness": False}
    assert result.recommended() == []


@pytest.mark.parametrize(
    ("findings", "message"),
    [
        ({"context": "pain", "temperature": 39}, "unknown finding 'temperature'"),
        ({"context": "back"}, "cannot be 'back'"),
        ({"context": "pain", "fever": "yes"}, "cannot be 'yes'"),
        ({"context": "pain", "fever": 1}, "cannot be 1"),
        ({}, "'context' is not known yet"),
    ],
)
def test_bad_findings_are_named(mini, findings, message):
    with pytest.raises(EvaluationError, match=message):
        evaluate(mini, findings)


def test_conditions_interpret_the_whole_vocabulary():
    findings = {"a": "x", "b": True, "flag": False}
    flags = frozenset({"flag"})
    assert holds(Is(finding="a", equals="x"), findings, flags)
    assert not holds(Is(finding="b", equals=False), findings, flags)
    assert holds(In(finding="a", one_of=["y", "x"]), findings, flags)
    assert holds(RedFlags(red_flags="absent"), findings, flags)
    assert not holds(RedFlags(red_flags="present"), findings, flags)
    assert holds(RedFlags(red_flags="present"), {**findings, "flag": True}, flags)
    yes, no = Is(finding="b", equals=True), Is(finding="a", equals="z")
    assert holds(All(all=[yes, yes]), findings, flags) and not holds(All(all=[yes, no]), findings, flags)
    assert holds(Any_(any=[no, yes]), findings, flags) and not holds(Any_(any=[no]), findings, flags)
    assert holds(None_(none=[no]), findings, flags) and not holds(None_(none=[no, yes]), findings, flags)


def test_each_verdict_names_the_findings_that_decided_it():
    """Read off the rule's condition (or the context's, for its default): what the feedback
    shows a learner they should have recognised."""
    from pathlib import Path

    from casebook.content.loading import load_library

    library = load_library(Path(__file__).parent / "fixtures" / "small_library")
    knee = library.guidelines[("sore-knee", "1.2.0")]
    hot = evaluate(knee, {"setting": "clinic", "weeks_rest": "gte_4", "hot_swollen": True})
    assert hot.verdicts["rest_and_exercise"].deciding == (("hot_swollen", True),)
    assert hot.verdicts["knee_xray"].deciding == (("setting", "clinic"),)  # the default
    assert hot.verdicts["strong_opioid"].deciding == ()  # a rule for every context, no condition
    cool = evaluate(knee, {"setting": "clinic", "weeks_rest": "none"})
    assert cool.verdicts["rest_and_exercise"].deciding == (("weeks_rest", "none"),
                                                           ("hot_swollen", False))
