"""No CSV the casebook writes or offers holds a cell a spreadsheet would run as a formula, while
the database and the xAPI export keep every name exactly as it was typed."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from casebook.cli import main
from casebook.content.loading import load_library
from casebook.records import database, store, xapi
from casebook.records import frames as records
from casebook.records.csvsafe import TRIGGERS, safe_cell
from casebook.rules.play import Submission
from casebook.sessions import machine as sessions
from casebook.sessions import report as session_report
from casebook.sessions import room

SMALL = Path(__file__).parent / "fixtures" / "small_library"
LIBRARY = load_library(SMALL)
CASE = LIBRARY.cases["knee-simple"]
GUIDELINE = LIBRARY.guideline_for(CASE)
KEY = "correct horse battery staple"
HOSTILE = ["-A1", "-1-1", "=HYPERLINK(\"http://x.example\",\"y\")", "@SUM(1)", "+1", "\tx", "\rx",
           "=1+2;3"]


@pytest.fixture
def hostile(tmp_path, connect):
    """Self-study learners and session participants named by every formula prefix; the names
    go straight into the database, as an older version or another client could have put them."""
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    engine = connect(url)
    at = datetime(2025, 3, 1, tzinfo=UTC)
    stage = CASE.stages[0]
    answer = Submission(CASE.id, GUIDELINE.id, GUIDELINE.version, stage.id,
                        (stage.options[0].id,), ("recommended",), 1.0, (), "unsure", 3.0, at)
    for name in HOSTILE:
        with engine.begin() as conn:
            conn.execute(database.learners.insert().values(
                id=str(uuid.uuid4()), display_name=name, created_at=at))
            learner = conn.scalar(sa.select(database.learners.c.id)
                                  .where(database.learners.c.display_name == name))
        store.record(engine, store.start_attempt(engine, learner, CASE, GUIDELINE), answer)
    session = sessions.advance(engine, sessions.create(engine, CASE, KEY), "open",
                               [s.id for s in CASE.stages])
    for name in HOSTILE:
        pid, attempt = str(uuid.uuid4()), None
        with engine.begin() as conn:
            conn.execute(database.session_participants.insert().values(
                id=pid, session_id=session.id, nickname=name, joined_at=at))
        attempt = store.start_attempt(engine, None, CASE, GUIDELINE, session_id=session.id,
                                      participant_id=pid)
        room.record_vote(engine, room.Participant(pid, session.id, name, attempt), answer, 1)
    return url, engine, session


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_neutral(text: str, where: str) -> None:
    found = cells(text)
    assert not [c for c in found if c.startswith(TRIGGERS)], where
    return found


def test_every_csv_neutralises_formulas_cell_by_cell(hostile, tmp_path, capsys):
    url, engine, session = hostile
    written = records.write_csv(engine, tmp_path / "export")
    assert main(["export", "--db", url, "--out", str(tmp_path / "cli")]) == 0
    report = session_report.build(engine, session.join_code, LIBRARY)
    written += session_report.write_csv(report, tmp_path / "report")
    assert main(["session", "report", session.join_code, "--db", url, "--cases", str(SMALL),
                 "--csv", str(tmp_path / "cli-report")]) == 0
    written += sorted((tmp_path / "cli").glob("*.csv")) + sorted(
        (tmp_path / "cli-report").glob("*.csv"))
    offered = session_report.csv_files(report)  # the console's download links
    assert len(written) == 10 and len(offered) == 3
    texts = {str(p): p.read_bytes().decode("utf-8") for p in written} | offered
    every = []
    for where, text in texts.items():
        every += assert_neutral(text, where)
    for name in HOSTILE:  # each name is there, shown as text
        assert every.count(safe_cell(name)) >= 3, name


def test_the_database_and_xapi_keep_the_names_exactly(hostile):
    _, engine, session = hostile
    with engine.connect() as conn:
        names = set(conn.scalars(sa.select(database.learners.c.display_name)))
        nicknames = set(conn.scalars(sa.select(database.session_participants.c.nickname)))
    assert names == nicknames == set(HOSTILE)
    actors = {s["actor"].get("name") for s in xapi.statements(engine)}
    assert set(HOSTILE) <= actors


@pytest.mark.parametrize(("value", "shown"), [
    ("-A1", "'-A1"), ("=1", "'=1"), ("+1", "'+1"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("A-1", "A-1"), ("", ""), (-0.5, -0.5), (3, 3), (None, None)])
def test_only_text_starting_a_formula_is_changed(value, shown):
    assert safe_cell(value) == shown
