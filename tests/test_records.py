"""Attempts and submissions as DataFrames, their filters, and `casebook export --format csv`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from casebook.cli import main
from casebook.records import database, store
from casebook.records import frames as records
from casebook.rules.play import Submission


def answer(stage, choices, verdicts, points, at, case="mini-case", safety=()):
    return Submission(case, "mini", "1.0.0", stage, tuple(choices), tuple(verdicts), points,
                      tuple(safety), "unsure", 20.0, at)


def march(day, hour=10, minute=0):
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def course(db_url, connect, mini, mini_case):
    """Ada's finished self-study (1 March), Bea at another case (2 March), and an anonymous
    participant 'owl' in session K7Q2 who voted for harm, then re-voted well (3 March)."""
    engine = connect(db_url)
    other = mini_case.model_copy(update={"id": "other-case"})
    ada = store.start_attempt(engine, store.ensure_learner(engine, "Ada"), mini_case, mini)
    store.record(engine, ada, answer("first-visit", ["rest"], ["recommended"], 1.0, march(1)))
    store.record(engine, ada, answer("six-weeks", ["surgeon", "contrast"],
                                     ["recommended", "recommended"], 1.0, march(1, 10, 5)))
    store.finish_attempt(engine, ada)
    bea = store.start_attempt(engine, store.ensure_learner(engine, "Bea"), other, mini)
    store.record(engine, bea, answer("first-visit", ["repeat"], ["not_indicated"], 0.0, march(2),
                                     case="other-case"))
    with engine.begin() as conn:
        conn.execute(database.teaching_sessions.insert().values(
            id="s1", join_code="K7Q2", instructor_key_hash="x", case_id="mini-case",
            phase="revealed", round=2, created_at=march(3), updated_at=march(3)))
        conn.execute(database.session_participants.insert().values(
            id="p1", session_id="s1", nickname="owl", joined_at=march(3)))
    owl = store.start_attempt(engine, None, mini_case, mini, session_id="s1", participant_id="p1")
    store.record(engine, owl, answer("first-visit", ["surgeon"], ["harmful"], 0.0, march(3),
                                     safety=["surgeon"]))
    store.record(engine, owl, answer("first-visit", ["rest"], ["recommended"], 1.0,
                                     march(3, 10, 2)), round=2)
    with engine.begin() as conn:
        for attempt, day in ((ada, 1), (bea, 2), (owl, 3)):
            conn.execute(database.attempts.update().where(database.attempts.c.id == attempt)
                         .values(started_at=march(day, 9)))
    return engine, {"ada": ada, "bea": bea, "owl": owl}


def test_submissions_are_one_row_per_answer_with_who_gave_it(course):
    engine, ids = course
    subs = records.submissions(engine)
    assert len(subs) == 5 and subs["submission_id"].is_unique
    assert list(subs["display_name"].fillna("-")) == ["Ada", "Ada", "Bea", "-", "-"]
    assert list(subs["nickname"].fillna("-")) == ["-", "-", "-", "owl", "owl"]
    assert subs.loc[1, "choices"] == ["surgeon", "contrast"]
    assert subs.loc[3, "safety_events"] == ["surgeon"] and list(subs["round"]) == [1, 1, 1, 1, 2]
    assert str(subs["submitted_at"].dt.tz) == "UTC" and subs.loc[0, "submitted_at"] == pd.Timestamp(
        march(1))
    assert set(subs["attempt_id"]) == set(ids.values())


FILTERED = [
    ({"case": "other-case"}, ["first-visit"]),
    ({"since": "2025-03-02"}, ["first-visit"] * 3),
    ({"until": "2025-03-01"}, ["first-visit", "six-weeks"]),  # a date: the whole day
    ({"until": march(1, 10, 0)}, ["first-visit"]),  # a time: up to and including it
    ({"since": "2025-03-01T10:01:00+00:00", "until": "2025-03-02"}, ["six-weeks", "first-visit"]),
    ({"session": "K7Q2"}, ["first-visit", "first-visit"]),
    ({"session": "s1", "case": "other-case"}, []),
]


def test_submissions_filter_by_case_date_and_session(course):
    engine, _ = course
    for filters, stages in FILTERED:
        assert list(records.submissions(engine, **filters)["stage_id"]) == stages, filters


def test_a_bad_date_is_named(course):
    with pytest.raises(store.StoreError, match="'March 1' is not a date"):
        records.submissions(course[0], since="March 1")


def test_attempts_count_the_latest_vote_of_each_stage(course):
    engine, ids = course
    frame = records.attempts(engine).set_index("attempt_id")
    assert list(frame.index) == [ids["ada"], ids["bea"], ids["owl"]]
    assert frame.loc[ids["ada"], ["stages_answered", "points", "safety_events"]].tolist() == [
        2, 2.0, 0]
    assert frame.loc[ids["owl"], ["stages_answered", "points", "safety_events"]].tolist() == [
        1, 1.0, 0]
    assert pd.notna(frame.loc[ids["ada"], "finished_at"])
    assert pd.isna(frame.loc[ids["owl"], "finished_at"])
    assert frame.loc[ids["owl"], "nickname"] == "owl" and pd.isna(
        frame.loc[ids["owl"], "learner_id"])
    assert list(records.attempts(engine, since="2025-03-02", until="2025-03-02")["case_id"]) == [
        "other-case"]
    assert list(records.attempts(engine, session="K7Q2").index) == [0]


def test_an_empty_store_gives_empty_frames_with_their_columns(db_url, connect):
    engine = connect(db_url)
    assert records.attempts(engine).empty and "points" in records.attempts(engine).columns
    assert records.submissions(engine).empty and "choices" in records.submissions(engine).columns


def test_export_csv_writes_both_tables(course, db_url, tmp_path, capsys):
    assert main(["export", "--db", db_url, "--out", str(tmp_path / "out"), "--case",
                 "mini-case"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "out" / n)
                                               for n in ("attempts.csv", "submissions.csv")]
    subs = pd.read_csv(tmp_path / "out" / "submissions.csv")
    assert len(subs) == 4 and json.loads(subs.loc[1, "choices"]) == ["surgeon", "contrast"]
    assert len(pd.read_csv(tmp_path / "out" / "attempts.csv")) == 2


def test_export_from_a_bad_database_is_one_line_and_loses_nothing(course, db_url, tmp_path,
                                                                  capsys, monkeypatch):
    monkeypatch.setenv("CASEBOOK_DB", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert main(["export", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("casebook: cannot open the database: "
                          "postgresql+psycopg://nobody@127.0.0.1:1/none: ")
    assert main(["export", "--db", "nonsense", "--out", str(tmp_path)]) == 1
    assert "database URL 'nonsense' is not a database URL" in capsys.readouterr().err
    with course[0].connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(database.submissions)) == 5
