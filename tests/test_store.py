"""The store on SQLite and on a real PostgreSQL: schema, learners, attempts, submissions."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from casebook.records import database, store
from casebook.rules.play import Play, Submission


def make_submission(stage="first-visit", choices=("rest",), case="mini-case", **kw) -> Submission:
    fields = dict(case_id=case, guideline_id="mini", guideline_version="1.0.0", stage_id=stage,
                  choices=tuple(choices), verdicts=("recommended",) * len(choices), points=1.0,
                  safety_events=(), confidence="certain", seconds_on_stage=3.5,
                  submitted_at=datetime.now(UTC))
    return Submission(**{**fields, **kw})


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


@pytest.fixture
def engine(db_url, connect):
    return connect(db_url)


@pytest.fixture
def attempt(engine, mini, mini_case):
    learner = store.ensure_learner(engine, "Dr Ada")
    return store.start_attempt(engine, learner, mini_case, mini)


# --- schema -------------------------------------------------------------------------------


def test_fresh_database_upgrades_to_head_and_matches_the_tables(engine):
    head = ScriptDirectory.from_config(database.alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head == "0003"
        assert compare_metadata(MigrationContext.configure(conn), database.metadata) == []
        assert set(sa.inspect(conn).get_table_names()) >= {
            "learners", "attempts", "submissions", "teaching_sessions", "session_participants"}


def test_connecting_again_changes_nothing(db_url, connect, engine, attempt):
    store.record(engine, attempt, make_submission())
    again = connect(db_url)
    with again.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [("0003",)]
    assert count(again, database.submissions) == 1


def test_a_database_newer_than_the_package_is_refused_not_touched(db_url, engine):
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(store.StoreError, match="revision '9999'.*upgrade casebook"):
        store.connect(db_url)


def test_sqlite_is_durable_and_waits_for_other_writers(tmp_path, connect):
    engine = connect(f"sqlite:///{tmp_path / 'new' / 'casebook.db'}")
    with engine.connect() as conn:
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                   for p in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 30000,
                       "foreign_keys": 1}


def test_default_database_is_sqlite_in_the_data_folder(monkeypatch):
    monkeypatch.delenv("CASEBOOK_DB", raising=False)
    url = database.database_url()
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(database.DEFAULT_PATH) and database.DEFAULT_PATH.parent.name == "data"
    monkeypatch.setenv("CASEBOOK_DB", "postgresql://teacher@db.example/casebook")
    assert database.database_url().drivername == "postgresql+psycopg"


# --- bad input: one clear line, never a traceback -----------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("url, says", [
    ("casebook.db", "'casebook.db' is not a database URL"),
    ("mysqlx://u@h/db", "no database driver 'mysqlx'"),
    ("postgresql+psycopg://u:secret@127.0.0.1:{port}/x", "cannot open the database: "
     "postgresql\\+psycopg://u:\\*\\*\\*@127.0.0.1:{port}/x: .*refused"),
])
def test_a_bad_database_url_is_one_line_naming_what_is_wrong(url, says):
    port = closed_port()
    with pytest.raises(store.StoreError, match=says.format(port=port)) as caught:
        store.connect(url.format(port=port))
    assert "\n" not in str(caught.value) and "secret" not in str(caught.value)


def test_a_bad_casebook_db_is_named(monkeypatch):
    monkeypatch.setenv("CASEBOOK_DB", "not a url")
    with pytest.raises(store.StoreError, match="^CASEBOOK_DB 'not a url' is not a database URL"):
        store.connect()


def test_an_unusable_data_folder_is_named(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(store.StoreError, match="cannot create the data folder .*file"):
        store.connect(f"sqlite:///{tmp_path / 'file' / 'sub' / 'casebook.db'}")


# --- learners and attempts ----------------------------------------------------------------


def test_a_display_name_is_one_learner(engine):
    ada = store.ensure_learner(engine, "Dr Ada")
    assert store.ensure_learner(engine, "  Dr   Ada ") == ada
    assert store.ensure_learner(engine, "Dr Bea") != ada
    with pytest.raises(store.StoreError, match="1 to 80 characters"):
        store.ensure_learner(engine, "   ")


def test_a_half_done_attempt_is_resumed_with_its_answers(engine, mini, mini_case):
    learner = store.ensure_learner(engine, "Dr Ada")
    attempt = store.start_attempt(engine, learner, mini_case, mini)
    play = Play(mini_case, mini, recorder=store.recorder(engine, attempt))
    play.shown()
    play.submit("first-visit", ["rest"], "certain")
    play.submit("six-weeks", ["surgeon", "contrast"], "unsure")

    resumed = store.open_attempt(engine, learner, mini_case, mini)
    assert resumed == attempt
    again = Play(mini_case, mini)
    again.restore(store.answers(engine, resumed))
    assert again.current.id == "fever" and again.result() == play.result()
    assert again.confidence == {"first-visit": "certain", "six-weeks": "unsure"}

    store.finish_attempt(engine, attempt)
    store.finish_attempt(engine, attempt)
    assert store.open_attempt(engine, learner, mini_case, mini) is None
    newer = store.start_attempt(engine, learner, mini_case, mini)
    assert newer != attempt and store.answers(engine, newer) == {}
    assert count(engine, database.attempts) == 2


def test_an_attempt_under_another_guideline_version_is_not_resumed(engine, mini, mini_case):
    learner = store.ensure_learner(engine, "Dr Ada")
    store.start_attempt(engine, learner, mini_case, mini)
    revised = mini.model_copy(update={"version": "1.1.0"})
    assert store.open_attempt(engine, learner, mini_case, revised) is None


def test_unknown_attempt_or_learner_is_a_clear_error(engine, mini, mini_case):
    with pytest.raises(store.StoreError, match="no attempt 'nope'"):
        store.recorder(engine, "nope")
    with pytest.raises(store.StoreError, match="no attempt 'nope'"):
        store.record(engine, "nope", make_submission())
    with pytest.raises(store.StoreError, match="no attempt 'nope'"):
        store.finish_attempt(engine, "nope")
    with pytest.raises(store.StoreError, match="no such learner"):
        store.start_attempt(engine, "ghost", mini_case, mini)


# --- submissions --------------------------------------------------------------------------


def test_a_submission_keeps_everything_the_learner_did(engine, attempt):
    sub = make_submission(choices=("rest", "surgeon"), verdicts=("recommended", "harmful"),
                          points=0.0, safety_events=("surgeon",), confidence="guessing",
                          seconds_on_stage=41.25)
    sid = store.record(engine, attempt, sub)
    with engine.connect() as conn:
        row = conn.execute(sa.select(database.submissions)).one()._asdict()
    assert row["id"] == sid == store.submission_id(attempt, 1, sub)
    assert (row["attempt_id"], row["stage_id"], row["round"]) == (attempt, "first-visit", 1)
    assert (row["choices"], row["verdicts"], row["safety_events"]) == (
        ["rest", "surgeon"], ["recommended", "harmful"], ["surgeon"])
    assert (row["points"], row["confidence"], row["seconds_on_stage"]) == (0.0, "guessing", 41.25)
    assert row["submitted_at"] == sub.submitted_at and row["recorded_at"] >= sub.submitted_at


def test_a_replayed_submission_is_recorded_once(engine, attempt):
    sub = make_submission()
    ids = {store.record(engine, attempt, sub) for _ in range(3)}
    # the write committed but its acknowledgement was lost: the learner submits the same again
    later = replace(sub, submitted_at=datetime.now(UTC), seconds_on_stage=9.0)
    ids.add(store.record(engine, attempt, later))
    assert len(ids) == 1 and count(engine, database.submissions) == 1


def test_a_different_answer_to_an_answered_stage_is_refused(engine, attempt):
    store.record(engine, attempt, make_submission(choices=("rest",)))
    with pytest.raises(store.SubmissionConflict, match="already answered .* with rest"):
        store.record(engine, attempt, make_submission(choices=("surgeon",)))
    assert store.answers(engine, attempt) == {"first-visit": (["rest"], "certain")}


def test_a_revote_is_kept_beside_the_first_vote(engine, attempt):
    store.recorder(engine, attempt)(make_submission(choices=("rest",)))
    store.recorder(engine, attempt, round=2)(make_submission(choices=("surgeon",)))
    assert count(engine, database.submissions) == 2
    assert store.answers(engine, attempt) == {"first-visit": (["surgeon"], "certain")}
    assert store.answers(engine, attempt, round=1) == {"first-visit": (["rest"], "certain")}
    with pytest.raises(store.StoreError, match="round is 1 .* or 2"):
        store.record(engine, attempt, make_submission(), round=3)


def test_a_submission_for_another_case_is_refused(engine, attempt):
    with pytest.raises(store.StoreError, match="is at case 'mini-case', not 'other'"):
        store.record(engine, attempt, make_submission(case="other"))
    assert count(engine, database.submissions) == 0


def test_a_failed_write_withholds_feedback(tmp_path, connect, mini, mini_case):
    engine = connect(f"sqlite:///{tmp_path / 'casebook.db'}")
    attempt = store.start_attempt(engine, store.ensure_learner(engine, "Ada"), mini_case, mini)
    play = Play(mini_case, mini, recorder=store.recorder(engine, attempt))
    with engine.begin() as conn:  # a database that now refuses writes
        conn.exec_driver_sql("CREATE TRIGGER no BEFORE INSERT ON submissions "
                             "BEGIN SELECT RAISE(ABORT, 'disk is full'); END")
    with pytest.raises(store.StoreError, match="'first-visit' was not recorded: .*disk is full"):
        play.submit("first-visit", ["rest"])
    assert not play.results


# --- teaching sessions: tables for the session logic to build on --------------------------


def test_sessions_hold_anonymous_participants_and_their_attempts(engine, mini, mini_case):
    now = datetime.now(UTC)
    session = dict(id="s1", join_code="K7Q2", instructor_key_hash="scrypt$...", case_id="mini-case",
                   current_stage="first-visit", phase="voting", round=1, created_at=now,
                   updated_at=now)
    with engine.begin() as conn:
        conn.execute(database.teaching_sessions.insert().values(**session))
        conn.execute(database.session_participants.insert().values(
            id="p1", session_id="s1", nickname="owl", joined_at=now))
    attempt = store.start_attempt(engine, None, mini_case, mini, session_id="s1",
                                  participant_id="p1")
    store.record(engine, attempt, make_submission())
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(database.teaching_sessions.insert().values(**{**session, "id": "s2"}))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(database.teaching_sessions.update().values(phase="paused"))
    with pytest.raises(store.StoreError, match="a learner or a session participant"):
        store.start_attempt(engine, None, mini_case, mini, session_id="s1")
    with engine.begin() as conn:
        conn.execute(database.teaching_sessions.insert().values(
            id="s3", join_code="ZZ99", instructor_key_hash="x", case_id="mini-case",
            created_at=now, updated_at=now))
        assert conn.execute(sa.select(database.teaching_sessions.c.phase, database.teaching_sessions.c
                                      .round).where(database.teaching_sessions.c.id == "s3")
                            ).one() == ("waiting", 1)


def test_an_installed_package_keeps_records_in_jupyters_data_folder(tmp_path, monkeypatch):
    """A wheel install has no checkout beside it: records must not land in site-packages."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    installed = tmp_path / "site-packages" / "casebook"
    (installed / "_content").mkdir(parents=True)
    assert database.default_path(installed) == tmp_path / "jupyter-data" / "casebook" / "casebook.db"
    assert database.default_path() == database.DEFAULT_PATH  # this checkout: data/casebook.db
