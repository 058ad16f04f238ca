"""What learners did, as pandas DataFrames: one row per attempt, one row per submission.

Filters are the same for both: `case` (a case id), `since`/`until` (dates or datetimes; a bare
date as `until` includes that whole day; naive times are UTC), and `session` (a teaching
session's id or join code). Attempts are filtered on when they started, submissions on when
they were submitted. Timestamps come back as UTC pandas datetimes; choices, verdicts and safety
events as lists (as JSON text in CSV); each submission's `concordant` is `measures.concordant`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from casebook.records import database
from casebook.records.csvsafe import CRLF, safe_frame
from casebook.records.store import StoreError
from casebook.rules import measures

When = date | datetime | str | None
LISTS = ("choices", "verdicts", "safety_events")
_A, _S, _L, _P = database.attempts, database.submissions, database.learners, database.session_participants
_WHO = (_A.outerjoin(_L, _L.c.id == _A.c.learner_id)
        .outerjoin(_P, _P.c.id == _A.c.participant_id))
_ATTEMPT_COLUMNS = (
    _A.c.id.label("attempt_id"), _A.c.learner_id, _L.c.display_name, _A.c.participant_id,
    _P.c.nickname, _A.c.session_id, _A.c.case_id, _A.c.guideline_id, _A.c.guideline_version,
)


def _bound(value: When, end: bool = False) -> tuple[datetime | None, bool]:
    """A filter bound as an aware datetime, and whether it was a whole day (a bare date)."""
    if value is None:
        return None, False
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) <= 10 else datetime.fromisoformat(value)
        except ValueError:
            raise StoreError(f"{value!r} is not a date or time (use YYYY-MM-DD)") from None
    whole_day = not isinstance(value, datetime)
    if whole_day:
        value = datetime.combine(value + timedelta(days=1 if end else 0), time())
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value), whole_day


def _filtered(query: sa.Select, stamp: sa.Column, case: str | None, since: When, until: When,
              session: str | None) -> sa.Select:
    if case is not None:
        query = query.where(_A.c.case_id == case)
    start, _ = _bound(since)
    if start is not None:
        query = query.where(stamp >= start)
    stop, whole_day = _bound(until, end=True)
    if stop is not None:
        query = query.where(stamp < stop if whole_day else stamp <= stop)
    if session is not None:
        sessions = database.teaching_sessions.c
        ids = sa.select(sessions.id).where(
            sa.or_(sessions.id == session, sessions.join_code == session))
        query = query.where(_A.c.session_id.in_(ids))
    return query


def _frame(engine: Engine, query: sa.Select, stamps: tuple[str, ...]) -> pd.DataFrame:
    with database.guard(engine, "cannot read the records"), database.reading(engine) as conn:
        result = conn.execute(query)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for column in stamps:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def submissions(engine: Engine, case: str | None = None, since: When = None,
                until: When = None, session: str | None = None) -> pd.DataFrame:
    """One row per answered stage and round, with who answered it and in which attempt."""
    s = _S.c
    query = (sa.select(s.id.label("submission_id"), *_ATTEMPT_COLUMNS, s.stage_id, s.round,
                       s.choices, s.verdicts, s.points, s.safety_events, s.confidence,
                       s.seconds_on_stage, s.submitted_at, s.recorded_at)
             .select_from(_WHO.join(_S, s.attempt_id == _A.c.id))
             .order_by(s.submitted_at, s.id))
    query = _filtered(query, s.submitted_at, case, since, until, session)
    frame = _frame(engine, query, ("submitted_at", "recorded_at"))
    frame["concordant"] = pd.Series(
        [measures.concordant(p, v) for p, v in zip(frame["points"], frame["verdicts"],
                                                   strict=True)], index=frame.index, dtype=bool)
    return frame


def counted(subs: pd.DataFrame) -> pd.DataFrame:
    """The rows of `submissions` that count (`measures.counted`: per attempt and stage, a
    re-vote replaces the first vote), in their order."""
    return subs.loc[[row.Index for row in measures.counted(subs.itertuples())]]


def attempts(engine: Engine, case: str | None = None, since: When = None,
             until: When = None, session: str | None = None) -> pd.DataFrame:
    """One row per attempt, with the stages answered so far and their points.

    Of each stage, the answer that counts (`counted`). `points` is the sum over answered
    stages; the case score (`measures.case_score`) divides by the case's number of stages,
    which the content knows, not the store.
    """
    a = _A.c
    query = (sa.select(*_ATTEMPT_COLUMNS, a.started_at, a.finished_at).select_from(_WHO)
             .order_by(a.started_at, a.id))
    frame = _frame(engine, _filtered(query, a.started_at, case, since, until, session),
                   ("started_at", "finished_at"))
    latest = counted(submissions(engine, case=case, session=session))
    totals = latest.groupby("attempt_id").agg(
        stages_answered=("stage_id", "size"), points=("points", "sum"),
        safety_events=("safety_events", lambda events: sum(len(e) for e in events)))
    frame = frame.join(totals, on="attempt_id")
    frame[["stages_answered", "safety_events"]] = (
        frame[["stages_answered", "safety_events"]].fillna(0).astype(int))
    frame["points"] = frame["points"].fillna(0.0).astype(float)
    return frame


def write_csv(engine: Engine, out: str | Path, **filters: When) -> list[Path]:
    """Write attempts.csv and submissions.csv into `out` (created if missing)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    subs = submissions(engine, **filters)
    for column in LISTS:
        subs[column] = subs[column].map(json.dumps)
    paths = [folder / "attempts.csv", folder / "submissions.csv"]
    safe_frame(attempts(engine, **filters)).to_csv(paths[0], index=False, lineterminator=CRLF)
    safe_frame(subs).to_csv(paths[1], index=False, lineterminator=CRLF)
    return paths
