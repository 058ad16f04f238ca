"""Every defect fixture is reported with its file and field, all at once, never a traceback."""

import pytest

from casebook.content.loading import load_library
from casebook.rules.validation import validate
from conftest import BROKEN, VALID

MINI_GUIDELINE = VALID / "guidelines" / "mini.yaml"
MINI_CASE = VALID / "mini-case.yaml"


def problems_of(*paths):
    return [str(p) for p in validate(load_library(*paths))]


def test_the_valid_fixture_has_no_problems():
    assert problems_of(VALID) == []


GUIDELINE_DEFECTS = [
    ("unknown-finding", "rules[4].when: unknown finding 'temperature'"),
    ("missing-citation", "rules[1].references: cites [9], which the guideline does not list"),
    ("unknown-key", "recomended_by: unknown field"),
    ("wrong-type", "version: Input should be a valid string"),
    ("unknown-action", "rules[0].actions: unknown action 'acupuncture'"),
    ("conflicting-rules", "rules[1].verdict: conservative-first (recommended) and "
                          "late-rest-acceptable (acceptable) both judge ['rest'] in context pain"),
    ("red-flag-not-harmful", "contexts.pain: conservative-only 'rest' is not_indicated, not harmful"),
    ("approved-without-reviewers", "review.reviewers: approved content names its reviewers"),
    ("overlapping-contexts", "contexts: pain and numb both apply"),
    ("urgent-delay-not-harmful", "contexts.numb: 'wait_and_see' delays but is not_indicated, "
                                 "not harmful, in urgent context numb"),
    ("urgent-context-untaught", "contexts[1]: urgent context 'numb': no case stage in it offers "
                                "an option that delays"),
]


@pytest.mark.parametrize(("defect", "expected"), GUIDELINE_DEFECTS, ids=[d for d, _ in GUIDELINE_DEFECTS])
def test_guideline_defects_are_reported(defect, expected):
    path = BROKEN / "guidelines" / f"{defect}.yaml"
    problems = problems_of(path, MINI_CASE)
    assert any(p.startswith(f"{path}:") and expected in p for p in problems), problems


CASE_DEFECTS = [
    ("unknown-guideline-version", "guideline: no guideline mini 2.0.0; known: mini 1.0.0"),
    ("stage-without-recommended", "stages[0].options: no option is recommended by the guideline"),
    ("unknown-option-action", "stages[0].options[1].action: mini has no action 'traction'"),
    ("bad-reveal-value", "stages[1].reveal.weeks: cannot be 'three'"),
    ("too-few-stages", "stages: List should have at least 2 items"),
    ("yaml-syntax-error", "YAML syntax error at line 3"),
    ("python-tag", "YAML tag not allowed at line 2"),
    ("not-a-mapping", "must be a mapping of fields at the top level"),
    ("reveal-without-shown-by", "stages[2].shown_by.fever: the stage reveals this finding but "
                                "no sentence of the story shows it"),
    ("shown-by-not-in-story", "stages[1].shown_by.weeks: 'Six weeks of physiotherapy have not "
                              "helped.' is not in the vignette or the narratives up to this stage"),
    ("shown-by-not-revealed", "stages[1].shown_by.fever: the stage does not reveal this finding"),
    ("explain-missing-level", "stages[1].explain: no explanation for attending"),
    ("no-levels", "levels: name the levels the case suits, from student, resident, attending"),
]


@pytest.mark.parametrize(("defect", "expected"), CASE_DEFECTS, ids=[d for d, _ in CASE_DEFECTS])
def test_case_defects_are_reported(defect, expected):
    path = BROKEN / f"{defect}.yaml"
    problems = problems_of(MINI_GUIDELINE, path)
    assert any(p.startswith(f"{path}:") and expected in p for p in problems), problems


def test_an_unexercised_rule_is_reported_against_the_guideline():
    problems = problems_of(MINI_GUIDELINE, BROKEN / "unexercised-rule.yaml")
    assert problems == [
        f"{MINI_GUIDELINE}:rules[0]: rule 'red-flags-end-conservative-care' is exercised by no case stage",
        f"{MINI_GUIDELINE}:rules[4]: rule 'fever-needs-contrast' is exercised by no case stage",
    ]


def test_every_problem_in_a_file_is_reported_at_once():
    path = BROKEN / "several-defects.yaml"
    problems = [p for p in problems_of(MINI_GUIDELINE, MINI_CASE, path) if p.startswith(str(path))]
    assert [p.split(":", 1)[1] for p in problems] == [
        "related[0]: no other case 'no-such-case'",
        "stages[0].options[1].action: mini has no action 'traction'",
        "stages[1].reveal.weeks: cannot be 'three'; allowed: ['lt6', 'ge6']",
    ]


def test_the_urgency_proof_holds_only_where_every_delay_is_harmful():
    """The untaught fixture makes its delay harmful: the proof itself finds nothing there."""
    path = BROKEN / "guidelines" / "urgent-context-untaught.yaml"
    problems = [p for p in problems_of(path, MINI_CASE) if "delays but is" in p]
    assert problems == []
