"""A learner's progress, from a SQLite database filled through the store API: cases done, best
and last score, safety events, what can be resumed, and the what-next rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from widget_tree import one

from casebook.apps import home_app
from casebook.content.loading import SHIPPED_ROOT, load_library
from casebook.records import database, store
from casebook.records.progress import AttemptRecord, find_learner, learner_attempts
from casebook.rules.measures import playable
from casebook.rules.play import Play
from casebook.rules.validation import validate
from casebook.selfstudy.progress import (
    CaseProgress,
    case_order,
    case_progress,
    progress,
    what_next,
)

SMALL = Path(__file__).parent / "fixtures" / "small_library"
PERFECT = {"knee-simple": {"first-visit": ["rest"], "after-rest": ["xray", "refer"]},
           "knee-hot-joint": {"first-visit": ["rest"], "hot-knee": ["aspirate", "refer"]}}


@pytest.fixture(scope="module")
def library():
    return load_library(SMALL)


@pytest.fixture
def engine(tmp_path):
    engine = store.connect(f"sqlite:///{tmp_path / 'casebook.db'}")
    yield engine
    engine.dispose()


def play(engine, library, learner: str, case_id: str, answers: dict[str, list[str]],
         finish: bool = True) -> str:
    """One attempt through the store API, answering `answers` in stage order."""
    case = library.cases[case_id]
    guideline = library.guideline_for(case)
    attempt = store.start_attempt(engine, store.ensure_learner(engine, learner), case, guideline)
    run = Play(case, guideline, recorder=store.recorder(engine, attempt))
    for stage_id, chosen in answers.items():
        run.submit(stage_id, chosen, "unsure")
    if finish:
        store.finish_attempt(engine, attempt)
    return attempt


def mine(engine, library, name="Ana"):
    return progress(name, learner_attempts(engine, name), library, set(library.cases))


def test_a_new_learner_has_no_progress_and_is_sent_to_the_first_case(engine, library):
    assert find_learner(engine, "Ana") is None
    assert learner_attempts(engine, "Ana") == []
    p = mine(engine, library)
    assert p.done == 0 and p.safety_events == 0 and len(p.cases) == 2
    assert p.next.kind == "new" and p.next.case_id == "knee-hot-joint"  # listing order
    assert find_learner(engine, "Ana") is None  # reading registers nobody


def test_done_best_last_and_safety_events(engine, library):
    harmful = {"first-visit": ["opioid"], "after-rest": ["xray", "refer"]}
    play(engine, library, "Ana", "knee-simple", harmful)  # 0 + 1 -> 0.5, one safety event
    play(engine, library, "Ana", "knee-simple", PERFECT["knee-simple"])  # 1.0
    play(engine, library, "Ana", "knee-simple", {"first-visit": ["rest"],
                                                 "after-rest": ["refer"]})  # 1 + 0.5 -> 0.75
    got = mine(engine, library).cases["knee-simple"]
    assert (got.attempts, got.done, got.best, got.last) == (3, True, 1.0, 0.75)
    assert (got.safety_events, got.last_safety_events, got.answered) == (1, 0, None)


def test_the_last_attempt_decides_the_safety_events_that_count(engine, library):
    play(engine, library, "Ana", "knee-simple", PERFECT["knee-simple"])
    play(engine, library, "Ana", "knee-simple", {"first-visit": ["opioid"],
                                                 "after-rest": ["opioid", "rest"]})
    got = mine(engine, library).cases["knee-simple"]
    assert (got.best, got.last, got.last_safety_events, got.safety_events) == (1.0, 0.0, 2, 2)


def test_an_unfinished_attempt_is_in_progress_and_resumed_first(engine, library):
    play(engine, library, "Ana", "knee-simple", {"first-visit": ["opioid"],
                                                 "after-rest": ["rest"]})
    play(engine, library, "Ana", "knee-hot-joint", {"first-visit": ["rest"]}, finish=False)
    p = mine(engine, library)
    assert p.cases["knee-hot-joint"].answered == 1 and not p.cases["knee-hot-joint"].done
    assert p.next.kind == "resume" and p.next.case_id == "knee-hot-joint"
    assert "1 of 2 stages answered" in p.next.reason


def test_every_stage_answered_counts_as_done_even_if_the_finish_was_not_written(engine, library):
    play(engine, library, "Ana", "knee-simple", PERFECT["knee-simple"], finish=False)
    got = mine(engine, library).cases["knee-simple"]
    assert got.done and got.best == 1.0 and got.answered is None


def test_an_attempt_under_another_guideline_version_is_not_resumable(engine, library):
    case = library.cases["knee-simple"]
    old = library.guideline_for(case).model_copy(update={"version": "1.1.0"})
    attempt = store.start_attempt(engine, store.ensure_learner(engine, "Ana"), case, old)
    Play(case, old, recorder=store.recorder(engine, attempt)).submit("first-visit", ["rest"])
    got = mine(engine, library).cases["knee-simple"]
    assert got.attempts == 1 and got.answered is None and not got.done


def test_an_unfinished_session_attempt_is_not_offered_for_resuming(engine, library):
    case = library.cases["knee-simple"]
    guideline = library.guideline_for(case)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(database.teaching_sessions.insert().values(
            id="s1", join_code="K7Q2", instructor_key_hash="x", case_id=case.id,
            phase="voting", round=1, created_at=now, updated_at=now))
    learner = store.ensure_learner(engine, "Ana")
    attempt = store.start_attempt(engine, learner, case, guideline, session_id="s1")
    Play(case, guideline, recorder=store.recorder(engine, attempt)).submit(
        "first-visit", ["opioid"])
    got = mine(engine, library).cases["knee-simple"]
    assert got.attempts == 1 and got.answered is None and got.safety_events == 1
    assert mine(engine, library).next.kind == "new"


def test_a_re_vote_counts_instead_of_the_first_vote(engine, library):
    case = library.cases["knee-simple"]
    guideline = library.guideline_for(case)
    attempt = store.start_attempt(engine, store.ensure_learner(engine, "Ana"), case, guideline)
    first = Play(case, guideline, recorder=store.recorder(engine, attempt, round=1))
    first.submit("first-visit", ["opioid"])
    second = Play(case, guideline, recorder=store.recorder(engine, attempt, round=2))
    second.submit("first-visit", ["rest"])
    second.submit("after-rest", ["xray", "refer"])
    got = mine(engine, library).cases["knee-simple"]
    assert got.done and got.best == 1.0 and got.last_safety_events == 0
    assert got.safety_events == 0  # the harmful first vote was replaced


def test_only_this_learners_exact_name_counts(engine, library):
    play(engine, library, "ana", "knee-simple", PERFECT["knee-simple"])
    play(engine, library, "Bo", "knee-hot-joint", PERFECT["knee-hot-joint"])
    assert mine(engine, library).done == 0
    assert mine(engine, library, "ana").done == 1


def test_cases_that_cannot_be_played_are_left_out(engine, library):
    p = progress("Ana", [], library, {"knee-simple"})
    assert list(p.cases) == ["knee-simple"] and p.next.case_id == "knee-simple"


def test_the_listing_order_is_the_home_pages(monkeypatch):
    monkeypatch.setenv("CASEBOOK_CASES", str(SHIPPED_ROOT))
    monkeypatch.delenv("QUERY_STRING", raising=False)
    shipped = load_library(SHIPPED_ROOT)
    html = one(home_app(), "cb-home").value
    listed = [c for c in sorted(shipped.cases, key=lambda c: html.index(f'data-case="{c}"'))]
    cases = playable(shipped, validate(shipped))
    assert [c for _, c in case_order(shipped, cases)] == [c for c in listed if c in cases]


# --- the what-next rule, on the shipped library (two guidelines) -----------------------------


@pytest.fixture(scope="module")
def shipped():
    library = load_library(SHIPPED_ROOT)
    return library, case_order(library, playable(library, validate(library)))


def states(order, **changes: CaseProgress) -> dict[str, CaseProgress]:
    cases = {c: CaseProgress(c) for _, c in order}
    cases.update({k.replace("_", "-"): v for k, v in changes.items()})
    return cases


def first_of(order, guideline: str) -> list[str]:
    return [c for (g, _), c in order if g == guideline]


def done(case_id: str, best=1.0, last=1.0, events=0) -> CaseProgress:
    return CaseProgress(case_id, attempts=1, done=True, best=best, last=last,
                        last_safety_events=events, safety_events=events)


def test_rule_1_resume_the_case_started_most_recently(shipped):
    library, order = shipped
    a, b = first_of(order, "normal-mri")[:2]
    at = datetime(2025, 3, 1, tzinfo=UTC)
    cases = states(order)
    cases[a] = CaseProgress(a, 1, answered=1, resume_started=at)
    cases[b] = CaseProgress(b, 1, answered=1, resume_started=at + timedelta(hours=1))
    cases[first_of(order, "reversed-lordosis")[0]] = done("x", events=3)
    assert what_next(cases, order, library).kind == "resume"
    assert what_next(cases, order, library).case_id == b


def test_rule_2_retry_the_case_with_most_safety_events_in_its_last_attempt(shipped):
    library, order = shipped
    a, b, c = first_of(order, "reversed-lordosis")[:3]
    cases = states(order)
    cases[a] = done(a, last=0.5, events=1)
    cases[b] = done(b, last=0.5, events=2)
    cases[c] = done(c, last=0.0, events=2)  # as many events, lower score: first
    got = what_next(cases, order, library)
    assert (got.kind, got.case_id) == ("retry-safety", c)
    assert "2 safety events" in got.reason


def test_rule_3_first_new_case_of_the_guideline_least_done(shipped):
    library, order = shipped
    nmri, rl = first_of(order, "normal-mri"), first_of(order, "reversed-lordosis")
    cases = states(order)
    cases[nmri[0]] = done(nmri[0])
    got = what_next(cases, order, library)
    assert 1 / len(nmri) < 2 / len(rl)  # what the second pick below rests on
    assert (got.kind, got.case_id) == ("new", rl[0])  # none of rl done beats 1 of nmri
    for case_id in rl[:2]:
        cases[case_id] = done(case_id)
    got = what_next(cases, order, library)
    assert (got.kind, got.case_id) == ("new", nmri[1])  # 1/len(nmri) < 2/len(rl)
    assert f"1 of {len(nmri)} cases" in got.reason


def test_rule_4_then_5_once_everything_is_done(shipped):
    library, order = shipped
    cases = {c: done(c) for _, c in order}
    assert what_next(cases, order, library).kind == "all-done"
    weakest = order[5][1]
    cases[weakest] = done(weakest, best=0.5, last=0.5)
    got = what_next(cases, order, library)
    assert (got.kind, got.case_id) == ("retry-score", weakest)
    assert "50%" in got.reason


def test_case_progress_is_a_pure_function_of_the_records(library):
    at = datetime(2025, 3, 1, tzinfo=UTC)
    records = [
        AttemptRecord("a1", "knee-simple", "1.2.0", at, at, {"first-visit": 1.0,
                                                             "after-rest": 0.5}, 0),
        AttemptRecord("a2", "knee-simple", "1.2.0", at + timedelta(1), None,
                      {"first-visit": 0.0}, 1),
    ]
    got = case_progress(records, "knee-simple", 2, "1.2.0")
    assert (got.done, got.best, got.last, got.answered, got.safety_events) == (
        True, 0.75, 0.75, 1, 1)


def test_timestamps_come_back_aware(engine, library):
    play(engine, library, "Ana", "knee-simple", PERFECT["knee-simple"])
    (record,) = learner_attempts(engine, "Ana")
    assert record.started_at.tzinfo is not None and record.finished_at.tzinfo is not None
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(database.submissions)) == 2
