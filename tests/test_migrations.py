"""Migration 0002 on SQLite and a real PostgreSQL: a database made at 0001, with records in it,
upgrades at connect; its submissions keep their points under rule "1", new ones say rule "2"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from test_store import make_submission

from casebook.records import database, store
from casebook.rules import measures

WHEN = datetime(2025, 11, 24, 9, 30, tzinfo=UTC)


def at_0001(url: str) -> None:
    """A database as casebook made it before 0002: schema 0001, one learner's half-done
    attempt at mini-case, two submissions scored by rule "1"."""
    engine = database.engine_for(url)
    try:
        config = database.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
        old = sa.MetaData()
        tables = {t: sa.Table(t, old, autoload_with=engine)
                  for t in ("learners", "attempts", "submissions")}
        assert "scoring_rule" not in tables["submissions"].c
        with engine.begin() as conn:
            conn.execute(tables["learners"].insert().values(
                id="L1", display_name="Dr Old", created_at=WHEN))
            conn.execute(tables["attempts"].insert().values(
                id="A1", learner_id="L1", case_id="mini-case", guideline_id="mini",
                guideline_version="1.0.0", started_at=WHEN))
            for n, (stage, choices, verdicts, points) in enumerate([
                    ("first-visit", ["rest"], ["recommended"], 1.0),
                    ("six-weeks", ["surgeon", "rest"], ["recommended", "acceptable"], 0.5)]):
                conn.execute(tables["submissions"].insert().values(
                    id=f"S{n}", attempt_id="A1", stage_id=stage, round=1, choices=choices,
                    verdicts=verdicts, points=points, safety_events=[], confidence="certain",
                    seconds_on_stage=4.0, submitted_at=WHEN, recorded_at=WHEN))
    finally:
        engine.dispose()


def test_upgrading_from_0001_keeps_every_record_and_its_rule(db_url, connect, mini, mini_case):
    at_0001(db_url)
    engine = connect(db_url)  # connect upgrades to head
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0003"
        assert compare_metadata(MigrationContext.configure(conn), database.metadata) == []
        s = database.submissions.c
        rows = conn.execute(sa.select(s.id, s.points, s.scoring_rule, s.choices)
                            .order_by(s.id)).all()
    assert [tuple(r) for r in rows] == [("S0", 1.0, "1", ["rest"]),
                                        ("S1", 0.5, "1", ["surgeon", "rest"])]
    assert store.audience(engine, "Dr Old") is None
    assert store.answers(engine, "A1") == {"first-visit": (["rest"], "certain"),
                                          "six-weeks": (["surgeon", "rest"], "certain")}

    new = store.start_attempt(engine, "L1", mini_case, mini)
    store.record(engine, new, make_submission())
    with engine.connect() as conn:
        rules = conn.execute(sa.select(s.scoring_rule).where(s.attempt_id == new)).scalars()
        assert list(rules) == [measures.SCORING_RULE] == ["2"]


def test_a_submission_must_say_its_rule(db_url, connect, mini, mini_case):
    """The default that filled the old rows is gone: a row that forgot its rule is refused."""
    engine = connect(db_url)
    attempt = store.start_attempt(engine, store.ensure_learner(engine, "Dr New"), mini_case, mini)
    row = store.submission_row(attempt, make_submission(), 1)
    del row["scoring_rule"]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(database.submissions.insert().values(**row))


def test_the_audience_is_kept_with_the_learner(db_url, connect):
    engine = connect(db_url)
    learner = store.ensure_learner(engine, "Dr Ada")
    assert store.audience(engine, learner) is None
    store.set_audience(engine, "Dr  Ada", "student")  # by display name, spaced as typed
    assert store.audience(engine, learner) == store.audience(engine, "Dr Ada") == "student"
    store.set_audience(engine, learner, "attending")  # by id
    assert store.audience(engine, "Dr Ada") == "attending"
    with pytest.raises(store.StoreError, match="'professor' is not one of student, resident"):
        store.set_audience(engine, learner, "professor")
    with pytest.raises(store.StoreError, match="no learner 'Dr Nobody'"):
        store.set_audience(engine, "Dr Nobody", "resident")
    assert store.audience(engine, "Dr Nobody") is None
