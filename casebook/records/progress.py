"""A learner's attempts as their progress needs them (`casebook.selfstudy.progress`).

The home page is a learner's start-up path, so these are plain queries and dataclasses: no
pandas. Of each stage's answers, the one that counts is `measures.counted`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from casebook.records import database
from casebook.records.database import Engine
from casebook.rules import measures


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt: stage -> points of the answer that counts, and its safety events."""

    attempt_id: str
    case_id: str
    guideline_version: str
    started_at: datetime
    finished_at: datetime | None
    points: Mapping[str, float] = field(default_factory=dict)
    safety_events: int = 0
    session_id: str | None = None


def find_learner(engine: Engine, name: str) -> str | None:
    """The id of the learner with this display name, or None: reading registers nobody."""
    query = sa.select(database.learners.c.id).where(database.learners.c.display_name == name)
    with database.guard(engine, "cannot look up the learner"), database.reading(engine) as conn:
        return conn.scalar(query)


def learner_attempts(engine: Engine, name: str) -> list[AttemptRecord]:
    """Every attempt of the learner with this display name, oldest first ([] if none)."""
    a, s, learners = database.attempts.c, database.submissions.c, database.learners.c
    query = (sa.select(a.id.label("attempt_id"), a.case_id, a.guideline_version, a.started_at,
                       a.finished_at, a.session_id, s.stage_id, s.round, s.points,
                       s.safety_events, s.submitted_at)
             .select_from(database.attempts.join(database.learners, learners.id == a.learner_id)
                          .outerjoin(database.submissions, s.attempt_id == a.id))
             .where(learners.display_name == name)
             .order_by(a.started_at, a.id, s.submitted_at, s.id))
    with database.guard(engine, "cannot read the learner's progress"), \
            database.reading(engine) as conn:
        rows = conn.execute(query).all()
    found: dict[str, dict] = {}
    for row in rows:
        found.setdefault(row.attempt_id, dict(
            attempt_id=row.attempt_id, case_id=row.case_id,
            guideline_version=row.guideline_version, started_at=row.started_at,
            finished_at=row.finished_at, session_id=row.session_id, points={},
            safety_events=0))
    for row in measures.counted(r for r in rows if r.stage_id is not None):
        attempt = found[row.attempt_id]
        attempt["points"][row.stage_id] = row.points
        attempt["safety_events"] += len(row.safety_events or [])
    return [AttemptRecord(**r) for r in found.values()]
