"""xAPI statements: one per decision, Virtual Patient profile IRIs, verdict and score in result."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import pytest

from casebook.cli import main
from casebook.records import database, store, xapi
from casebook.rules.play import Submission

BASE = "https://casebook.hospital.example"


def answer(stage, choices, verdicts, points, confidence="fairly sure", safety=(), minute=0):
    return Submission("mini-case", "mini", "1.0.0", stage, tuple(choices), tuple(verdicts),
                      points, tuple(safety), confidence, 12.345,
                      datetime(2025, 3, 1, 10, minute, 0, 123456, tzinfo=UTC))


@pytest.fixture
def recorded(tmp_path, connect, mini, mini_case):
    """Ada answered two stages on her own; 'owl' voted anonymously in a session, then re-voted."""
    engine = connect(f"sqlite:///{tmp_path / 'casebook.db'}")
    ada = store.start_attempt(engine, store.ensure_learner(engine, "Ada"), mini_case, mini)
    store.record(engine, ada, answer("first-visit", ["rest"], ["recommended"], 1.0))
    store.record(engine, ada, answer("six-weeks", ["surgeon", "repeat"],
                                     ["recommended", "harmful"], 0.0, None, ["repeat"], 1))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(database.teaching_sessions.insert().values(
            id="s1", join_code="K7Q2", instructor_key_hash="x", case_id="mini-case",
            phase="voting", round=2, created_at=now, updated_at=now))
        conn.execute(database.session_participants.insert().values(
            id="p1", session_id="s1", nickname="owl", joined_at=now))
    owl = store.start_attempt(engine, None, mini_case, mini, session_id="s1", participant_id="p1")
    store.record(engine, owl, answer("first-visit", ["rest"], ["recommended"], 1.0, minute=2),
                 round=2)
    return engine, ada, owl


def test_one_statement_per_decision_with_verdict_and_score_in_result(recorded):
    engine, ada, _ = recorded
    first, second, _ = xapi.statements(engine, BASE)
    assert first["verb"] == {"id": "http://adlnet.gov/expapi/verbs/responded",
                             "display": {"en-US": "responded"}}
    assert first["actor"] == {"objectType": "Agent", "name": "Ada", "account": {
        "homePage": BASE, "name": first["actor"]["account"]["name"]}}
    assert second["object"]["id"] == f"{BASE}/cases/mini-case/stages/six-weeks"
    assert second["object"]["definition"]["type"] == xapi.INTERACTION
    assert second["object"]["definition"]["interactionType"] == "choice"
    result = second["result"]
    assert result["response"] == "surgeon[,]repeat" and first["result"]["response"] == "rest"
    assert result["score"] == {"scaled": 0.0, "raw": 0.0, "min": 0, "max": 1}
    assert first["result"]["score"]["scaled"] == 1.0
    assert result["duration"] == "PT12.35S"
    ext = f"{BASE}/xapi/extensions"
    assert result["extensions"] == {f"{ext}/verdicts": {"surgeon": "recommended",
                                                        "repeat": "harmful"},
                                    f"{ext}/safety-events": ["repeat"]}
    assert first["result"]["extensions"][f"{ext}/confidence"] == "fairly sure"
    context = first["context"]
    assert context["registration"] == ada
    assert context["contextActivities"]["parent"][0]["id"] == f"{BASE}/cases/mini-case"
    assert context["contextActivities"]["parent"][0]["definition"]["type"] == (
        "http://adlnet.gov/expapi/activities/simulation")
    assert context["contextActivities"]["category"] == [
        {"objectType": "Activity", "id": "https://w3id.org/xapi/virtual-patient"}]
    assert context["contextActivities"]["grouping"][0]["id"] == f"{BASE}/guidelines/mini/1.0.0"
    assert first["timestamp"] == "2025-03-01T10:00:00.123Z"


def test_an_anonymous_participant_is_an_account_without_a_name(recorded):
    engine, _, owl = recorded
    [statement] = xapi.statements(engine, BASE, session="K7Q2")
    assert statement["actor"] == {"objectType": "Agent",
                                  "account": {"homePage": BASE, "name": "participant/p1"}}
    assert statement["context"]["registration"] == owl
    assert statement["context"]["extensions"] == {f"{BASE}/xapi/extensions/round": 2,
                                                  f"{BASE}/xapi/extensions/session": "s1"}


def test_statement_ids_are_the_submission_ids_and_stable(recorded):
    engine = recorded[0]
    ids = [s["id"] for s in xapi.statements(engine, BASE)]
    assert ids == [s["id"] for s in xapi.statements(engine, BASE)] and len(set(ids)) == 3
    assert all(uuid.UUID(i) and uuid.UUID(s["context"]["registration"])
               for i, s in zip(ids, xapi.statements(engine, BASE), strict=True))


def iris(statement):
    activities = statement["context"]["contextActivities"]
    yield statement["verb"]["id"]
    yield statement["object"]["id"]
    yield statement["object"]["definition"]["type"]
    yield from (a["id"] for group in activities.values() for a in group)
    yield from statement["result"]["extensions"]
    yield from statement["context"]["extensions"]


def test_every_iri_is_absolute_and_the_profile_iris_are_sourced(recorded):
    for statement in xapi.statements(recorded[0], BASE):
        for iri in iris(statement):
            assert re.match(r"^https?://[^/\s]+/\S*$", iri), iri
    for constant in (xapi.RESPONDED, xapi.SIMULATION, xapi.VIRTUAL_PATIENT_PROFILE,
                     xapi.INTERACTION):
        assert f"`{constant}`" in xapi.__doc__


def test_export_xapi_writes_the_statements(recorded, tmp_path, capsys):
    engine = recorded[0]
    out = tmp_path / "lrs"
    assert main(["export", "--format", "xapi", "--db", str(engine.url), "--out", str(out),
                 "--base-url", BASE + "/", "--until", "2025-03-01"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "statements.json")
    assert json.loads((out / "statements.json").read_text()) == xapi.statements(engine, BASE)
