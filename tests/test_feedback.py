"""The feedback after Submit, headless: every option of the stage with its verdict, reason,
deciding findings and citations as the seed lists them; what the story showed; the stage's
teaching worded for the learner's level; how the stage was scored; and no internal id.

Runs against the small fixture library (tests/fixtures/small_library, whose cases carry
`shown_by`, `explain` and `levels`) and, for the ids, against every shipped case.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from widget_tree import by_class, one, synced_state

from casebook.content.loading import SHIPPED_ROOT, case_ids, load_library
from casebook.rules.measures import scoring_rule_text
from casebook.rules.play import Play
from casebook.ui.player import CasePlayer
from conftest import nonempty

SMALL = Path(__file__).parent / "fixtures" / "small_library"
SEED = "A sore knee: a fixture article"
SHIPPED_CASES = nonempty(sorted(case_ids(SHIPPED_ROOT)), f"no case under {SHIPPED_ROOT}")
IDENTIFIER = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)+")  # an id, not a word a sentence uses


def player_for(case_id: str, level: str | None = None, root: Path = SMALL) -> CasePlayer:
    library = load_library(root)
    case = library.cases[case_id]
    play = Play(case, library.guideline_for(case))
    return CasePlayer(play) if level is None else CasePlayer(play, level=level)


def submit(player: CasePlayer, chosen: list[str]) -> str:
    """Answer the current stage with `chosen`; the feedback shown."""
    ids = [o.id for o in player.play.current.options]
    for control, option_id in zip(by_class(player, "cb-option"), ids, strict=True):
        control.value = option_id in chosen
    one(player, "cb-submit").click()
    return one(player, "cb-feedback").value


def recommended(player: CasePlayer) -> list[str]:
    key = player.play.key(player.play.current.id)
    return [o.option for o in key.recommended][: key.max_choices]


def test_feedback_lists_every_option_not_only_the_chosen_one():
    player = player_for("knee-simple")
    feedback = submit(player, ["rest"])
    items = re.findall(r'<li class="cb-option-feedback.*?</ul></li>', feedback, re.DOTALL)
    assert len(items) == 3  # rest, X-ray and opioid, though only rest was chosen
    rest, xray, opioid = items
    assert "Advise rest and exercises</strong> (you chose this): <strong>Recommended" in rest
    assert "Order a knee X-ray</strong> (not chosen): <strong>Not indicated" in xray
    assert "Prescribe a strong opioid</strong> (not chosen): <strong>Harmful" in opioid
    assert "Fixture rationale ALPHA" in rest and "Fixture rationale FOXTROT" in opioid
    assert "Nothing in the fixture supports this step here." in xray  # the default's reason


def test_each_option_shows_the_findings_that_decided_it():
    player = player_for("knee-simple")
    feedback = submit(player, ["xray"])
    assert "Decided by: Rest so far: No rest yet; Hot swollen joint: no" in feedback  # a rule
    assert "Decided by: Where seen: Seen in clinic" in feedback  # the context's default
    player = player_for("knee-hot-joint")
    submit(player, ["rest"])
    one(player, "cb-next").click()
    assert "Decided by: Hot swollen joint: yes" in submit(player, ["aspirate"])


def test_citations_name_the_reference_as_the_seed_lists_it_and_the_seed():
    feedback = submit(player_for("knee-simple"), ["opioid"])
    assert f"[1] Rest first for knee pain. Fixture J. 2020 (cited in {SEED})" in feedback
    assert (f"[3] cited in {SEED}, which does not list it among its references") in feedback
    assert "[3] Rest" not in feedback  # an unlisted reference is never given a title


def test_feedback_shows_what_the_story_showed_after_the_answer():
    player = player_for("knee-hot-joint")
    submit(player, ["rest"])
    one(player, "cb-next").click()
    assert "Hot swollen joint" not in synced_state(player)  # not before the answer
    feedback = submit(player, ["aspirate", "refer"])
    assert ("<strong>Hot swollen joint:</strong> yes. The story said: “The knee is now hot and "
            "swollen.”") in feedback
    assert "What to recognise in the story" in feedback


def test_feedback_says_how_the_stage_was_scored():
    player = player_for("knee-simple")
    assert scoring_rule_text(1) in submit(player, ["rest"])
    one(player, "cb-next").click()
    assert scoring_rule_text(2) in submit(player, ["xray", "refer"])


def test_a_resident_reads_the_resident_explanation_by_default():
    feedback = submit(player_for("knee-simple"), ["rest"])
    assert "RESIDENT-WORDING rest and exercise come first" in feedback
    assert "STUDENT-WORDING" not in feedback and "ATTENDING-WORDING" not in feedback


def test_a_student_and_an_attending_read_different_wording_on_the_same_stage():
    student = submit(player_for("knee-simple", "student"), ["rest"])
    attending = submit(player_for("knee-simple", "attending"), ["rest"])
    assert "In plain words: with no warning sign (a red flag, such as a hot swollen joint)" in student
    assert "ATTENDING-WORDING" not in student and "STUDENT-WORDING" not in attending
    assert "ATTENDING-WORDING 80% of fixture patients improved" in attending
    evidence = "Evidence: 80% of fixture patients improved by four weeks [2]"
    assert evidence in attending and evidence not in student  # the figures, for attendings
    for text in (student, attending):  # both still learn every option and its citation
        assert text.count('class="cb-option-feedback') == 3 and f"(cited in {SEED})" in text


def test_a_stage_with_no_explain_or_shown_by_shows_nothing_for_them(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(SMALL, root)
    path = root / "knee-hot-joint.yaml"
    content = yaml.safe_load(path.read_text())
    for stage in content["stages"]:
        del stage["shown_by"], stage["explain"]
    path.write_text(yaml.safe_dump(content))
    player = player_for("knee-hot-joint", "student", root)
    feedback = submit(player, ["rest"])
    assert "The story said" not in feedback and "cb-explain" not in feedback
    assert "<strong>Where seen:</strong> Seen in clinic</li>" in feedback  # still named
    assert feedback.count('class="cb-option-feedback') == 2


def internal_ids(player: CasePlayer) -> set[str]:
    """The rule, action, finding, context and case ids a learner must never read."""
    g, case = player.play.guideline, player.play.case
    ids = ({r.id for r in g.rules} | {a.id for a in g.actions} | {f.name for f in g.findings}
           | {c.id for c in g.contexts} | {case.id, *case.related, g.id})
    return {i for i in ids if IDENTIFIER.fullmatch(i)}


def shown_text(markup: str) -> str:
    """What a learner reads: the text, and attributes other than links and data hooks."""
    markup = re.sub(r'\s(?:href|class|data-[a-z]+|id|aria-labelledby|marker-end)="[^"]*"', "",
                    markup)
    return markup


@pytest.mark.parametrize("root,case_id", [(SMALL, c) for c in ("knee-simple", "knee-hot-joint")]
                         + [(SHIPPED_ROOT, c) for c in SHIPPED_CASES])
def test_no_internal_id_in_the_feedback_or_summary(root, case_id):
    player = player_for(case_id, "attending", root)  # the fullest feedback
    ids = internal_ids(player)
    assert len(ids) >= 5  # the check has ids to look for
    screens = []
    while player.play.current is not None:
        screens.append(submit(player, recommended(player)))
        one(player, "cb-next").click()
    screens += [one(player, "cb-summary").value, one(player, "cb-path").value]
    found = {i for i in ids for s in screens if re.search(rf"\b{re.escape(i)}\b", shown_text(s))}
    assert found == set(), f"{case_id}: internal ids on a learner screen: {sorted(found)}"
