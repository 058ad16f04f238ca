"""Properties over every shipped case (and the mini fixture), checked with hypothesis."""

from hypothesis import given, settings
from hypothesis import strategies as st

from casebook.content.loading import SHIPPED_ROOT, load_library
from casebook.content.models import Verdict
from casebook.rules.engine import evaluate
from casebook.rules.scoring import score_case, stage_findings
from conftest import VALID, nonempty

LIBRARIES = [load_library(SHIPPED_ROOT), load_library(VALID)]
nonempty(LIBRARIES[0].cases, f"no case loads from {SHIPPED_ROOT}")  # not the mini fixture alone
PAIRS = [(lib.guideline_for(c), c) for lib in LIBRARIES for c in lib.cases.values()]
GUIDELINES = [g for lib in LIBRARIES for g in lib.guidelines.values()]


@st.composite
def play_throughs(draw):
    guideline, case = draw(st.sampled_from(PAIRS))
    answers = {
        stage.id: draw(st.lists(st.sampled_from([o.id for o in stage.options]), max_size=5))
        for stage in case.stages
        if draw(st.booleans())  # a play may stop before a stage: scoring stays total
    }
    return guideline, case, answers


@settings(max_examples=300, deadline=None)
@given(play_throughs())
def test_scoring_is_deterministic_and_total(play):
    guideline, case, answers = play
    first, again = score_case(guideline, case, answers), score_case(guideline, case, answers)
    assert first == again
    assert 0.0 <= first.score <= 1.0
    for stage in first.stages:
        assert 0.0 <= stage.points <= 1.0
        if stage.safety_events or stage.too_many:
            assert stage.points == 0.0


@st.composite
def findings_of(draw):
    guideline = draw(st.sampled_from(GUIDELINES))
    findings = {}
    for f in guideline.findings:
        domain = list(f.values) if f.type == "choice" else [False, True]
        findings[f.name] = draw(st.sampled_from(domain))
    return guideline, findings


@settings(max_examples=300, deadline=None)
@given(findings_of())
def test_every_verdict_carries_a_citation_the_guideline_lists(drawn):
    guideline, findings = drawn
    for verdict in evaluate(guideline, findings).verdicts.values():
        assert verdict.references and verdict.rationale
        assert all(guideline.reference(n) is not None for n in verdict.references)


@st.composite
def stage_with_red_flag(draw):
    guideline, case = draw(st.sampled_from(PAIRS))
    stage = draw(st.sampled_from(case.stages))
    flag = draw(st.sampled_from([f.name for f in guideline.findings if f.red_flag]))
    return guideline, stage_findings(case, stage.id), flag


@settings(max_examples=300, deadline=None)
@given(stage_with_red_flag())
def test_a_red_flag_never_raises_conservative_only_care(drawn):
    guideline, findings, flag = drawn
    before = evaluate(guideline, findings).verdicts
    after = evaluate(guideline, {**findings, flag: True}).verdicts
    for action in (a.id for a in guideline.actions if a.conservative_only):
        assert after[action].verdict.rank <= before[action].verdict.rank
        assert after[action].verdict is Verdict.harmful
