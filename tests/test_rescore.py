"""`casebook rescore`: recorded points change only when asked, never silently, and only against
the content the answer was given on."""

from __future__ import annotations

import sqlalchemy as sa
from test_migrations import at_0001

from casebook.cli import main
from casebook.records import database
from conftest import VALID


def rescore(capsys, url: str, *flags: str) -> str:
    assert main(["rescore", "--db", url, "--cases", str(VALID), *flags]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out


def recorded(url: str) -> dict[str, tuple[float, str]]:
    engine = database.engine_for(url)
    try:
        s = database.submissions.c
        with engine.connect() as conn:
            return {r.id: (r.points, r.scoring_rule)
                    for r in conn.execute(sa.select(s.id, s.points, s.scoring_rule))}
    finally:
        engine.dispose()


def add_old_rows(url: str) -> None:
    """Beside 0001's two rows: an answer under an older guideline version, and one whose
    recorded verdicts are not what the case gives now: both must be skipped."""
    engine = database.connect(url)
    try:
        when = database.now()
        with engine.begin() as conn:
            conn.execute(database.attempts.insert().values(
                id="A2", learner_id="L1", case_id="mini-case", guideline_id="mini",
                guideline_version="0.9.0", started_at=when))
            for sid, attempt, verdicts in [("S8", "A2", ["recommended", "acceptable"]),
                                           ("S9", "A1", ["recommended", "recommended"])]:
                stage = "six-weeks" if sid == "S8" else "fever"
                conn.execute(database.submissions.insert().values(
                    id=sid, attempt_id=attempt, stage_id=stage, round=1,
                    choices=["surgeon", "rest"] if sid == "S8" else ["contrast", "repeat"],
                    verdicts=verdicts, points=0.5, safety_events=[], seconds_on_stage=1.0,
                    submitted_at=when, recorded_at=when, scoring_rule="1"))
    finally:
        engine.dispose()


def test_a_dry_run_says_what_would_change_and_writes_nothing(capsys, db_url):
    at_0001(db_url)
    add_old_rows(db_url)
    before = recorded(db_url)
    out = rescore(capsys, db_url)
    assert "dry run: nothing written" in out
    assert "mini-case / six-weeks: 1 of 1 submission(s) would change: 0.50 -> 0.75 (x1)" in out
    assert "mini-case / first-visit: 0 of 1 submission(s) would change\n" in out
    assert ("skipped 1 submission(s) of mini-case: answered under mini@0.9.0; "
            "the case is now scored by mini@1.0.0") in out
    assert ("skipped 1 submission(s) of mini-case: the verdicts of stage 'fever' have "
            "changed under mini@1.0.0") in out
    assert "total: 1 of 2 re-scored submission(s) would change points" in out
    assert recorded(db_url) == before


def test_apply_writes_the_new_points_and_rule_and_says_so(capsys, db_url):
    at_0001(db_url)
    add_old_rows(db_url)
    out = rescore(capsys, db_url, "--apply")
    assert "dry run" not in out
    assert "mini-case / six-weeks: 1 of 1 submission(s) changed: 0.50 -> 0.75 (x1)" in out
    assert "wrote 2 submission(s), in one transaction" in out
    assert recorded(db_url) == {"S0": (1.0, "2"), "S1": (0.75, "2"),
                                "S8": (0.5, "1"), "S9": (0.5, "1")}  # skipped rows kept
    again = rescore(capsys, db_url)
    assert "mini-case / six-weeks" not in again and "total: 0 of 0" in again


def test_nothing_to_rescore_is_said(capsys, db_url):
    assert "nothing to re-score: every submission was scored by rule 2" in rescore(
        capsys, db_url, "--apply")
