"""Writing and reading a learner's records: learners, attempts and submissions.

A write returns only once it is durable (see `casebook.records.database`), and raises a one-line
`StoreError` when it fails, so `Play.submit` withholds the feedback of an answer not saved.
"""

from __future__ import annotations

import functools
import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from casebook.records.database import (
    StoreError,
    attempts,
    connect,
    guard,
    learners,
    new_id,
    now,
    reading,
    reason,
    show_url,
    submissions,
)
from casebook.rules import measures

if TYPE_CHECKING:
    from casebook.content.models import Case, Guideline
    from casebook.rules.play import Recorder, Submission

__all__ = ["StoreError", "SubmissionConflict", "connect"]  # re-exported: the records' face

SUBMISSION_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "casebook:submission")

class SubmissionConflict(StoreError):
    """A stage already answered in this attempt and round was answered again, differently."""



# --- learners and attempts ------------------------------------------------------------------


def ensure_learner(engine: Engine, display_name: str) -> str:
    """The id of the learner with this display name, registering them on first use."""
    name = " ".join(display_name.split())
    if not name or len(name) > 80:
        raise StoreError("a display name has 1 to 80 characters")
    find = sa.select(learners.c.id).where(learners.c.display_name == name)
    with guard(engine, f"cannot register {name!r}"):
        for _ in range(3):
            try:
                with engine.begin() as conn:
                    found = conn.scalar(find)
                    if found is not None:
                        return found
                    learner_id = new_id()
                    conn.execute(learners.insert().values(
                        id=learner_id, display_name=name, created_at=now()))
                    return learner_id
            except exc.IntegrityError:
                continue  # another kernel registered the same name meanwhile: read theirs
    raise StoreError(f"cannot register {name!r}: the name is being registered elsewhere")


def start_attempt(
    engine: Engine, learner_id: str | None, case: Case, guideline: Guideline,
    session_id: str | None = None, participant_id: str | None = None,
) -> str:
    """Open a new attempt at `case`, scored by `guideline`; every attempt is kept."""
    if learner_id is None and participant_id is None:
        raise StoreError("an attempt belongs to a learner or a session participant")
    attempt_id = new_id()
    row = dict(id=attempt_id, learner_id=learner_id, participant_id=participant_id,
               session_id=session_id, case_id=case.id, guideline_id=guideline.id,
               guideline_version=guideline.version, started_at=now())
    with guard(engine, f"cannot start an attempt at {case.id!r}"):
        try:
            with engine.begin() as conn:
                conn.execute(attempts.insert().values(**row))
        except exc.IntegrityError as err:
            raise StoreError(f"cannot start an attempt at {case.id!r}: no such learner, "
                             "session or participant") from err
    return attempt_id


def open_attempt(
    engine: Engine, learner_id: str, case: Case, guideline: Guideline,
    session_id: str | None = None,
) -> str | None:
    """The latest unfinished attempt to resume, or None.

    Only an attempt scored by the same guideline version is resumed: answers given under other
    rules would be re-scored differently from what the learner was shown.
    """
    a = attempts.c
    query = (sa.select(a.id)
             .where(a.learner_id == learner_id, a.case_id == case.id, a.finished_at.is_(None),
                    a.guideline_id == guideline.id, a.guideline_version == guideline.version,
                    a.session_id.is_(None) if session_id is None else a.session_id == session_id)
             .order_by(a.started_at.desc()).limit(1))
    with guard(engine, "cannot look up the attempt to resume"), reading(engine) as conn:
        return conn.scalar(query)


def finish_attempt(engine: Engine, attempt_id: str) -> None:
    """Mark the attempt finished (the first time only)."""
    a = attempts.c
    with guard(engine, "cannot finish the attempt"), engine.begin() as conn:
        if conn.scalar(sa.select(a.id).where(a.id == attempt_id)) is None:
            raise StoreError(f"no attempt {attempt_id!r}")
        conn.execute(attempts.update().where(a.id == attempt_id, a.finished_at.is_(None))
                     .values(finished_at=now()))


# --- submissions ----------------------------------------------------------------------------


def submission_id(attempt_id: str, round: int, submission: Submission) -> str:
    """The id of one submitted answer: the same Submission always gets the same id."""
    key = f"{attempt_id}/{round}/{submission.stage_id}/{submission.submitted_at.isoformat()}"
    return str(uuid.uuid5(SUBMISSION_IDS, key))


def record(engine: Engine, attempt_id: str, submission: Submission, round: int = 1) -> str:
    """Write one answered stage durably and return its id; a retried write changes nothing.

    A retry is the same Submission again, or the same choices and confidence for a stage whose
    first write committed but whose acknowledgement was lost. Other choices for a stage already
    answered in this round raise SubmissionConflict; the first answer stays.
    """
    if round not in (1, 2):
        raise StoreError(f"round is 1 (first vote) or 2 (re-vote), not {round!r}")
    row = submission_row(attempt_id, submission, round)
    failed = f"your answer to {submission.stage_id!r} was not recorded"
    with guard(engine, failed):
        try:
            with engine.begin() as conn:
                case_id = conn.scalar(sa.select(attempts.c.case_id)
                                      .where(attempts.c.id == attempt_id))
                if case_id is None:
                    raise StoreError(f"no attempt {attempt_id!r}")
                if case_id != submission.case_id:
                    raise StoreError(f"attempt {attempt_id!r} is at case {case_id!r}, "
                                     f"not {submission.case_id!r}")
                conn.execute(submissions.insert().values(**row))
            return row["id"]
        except exc.IntegrityError as err:
            found = _already_recorded(engine, row)
            if found is None:
                raise StoreError(f"{failed}: {show_url(engine.url)}: {reason(err)}") from err
            return found


def submission_row(attempt_id: str, submission: Submission, round: int) -> dict[str, Any]:
    return dict(
        id=submission_id(attempt_id, round, submission), attempt_id=attempt_id,
        stage_id=submission.stage_id, round=round, choices=list(submission.choices),
        verdicts=list(submission.verdicts), points=submission.points,
        safety_events=list(submission.safety_events), confidence=submission.confidence,
        seconds_on_stage=submission.seconds_on_stage, submitted_at=submission.submitted_at,
        recorded_at=now(),
    )


def _already_recorded(engine: Engine, row: dict[str, Any]) -> str | None:
    """The id kept for this row's stage if the write was a retry; None if nothing is there."""
    s = submissions.c
    query = sa.select(s.id, s.choices, s.confidence).where(
        s.attempt_id == row["attempt_id"], s.stage_id == row["stage_id"], s.round == row["round"])
    with reading(engine) as conn:
        found = conn.execute(query).first()
    if found is None:
        return None
    if found.id == row["id"] or (found.choices, found.confidence) == (
            row["choices"], row["confidence"]):
        return found.id
    raise SubmissionConflict(
        f"stage {row['stage_id']!r} was already answered in this attempt (round {row['round']}) "
        f"with {', '.join(found.choices) or 'nothing'}; that first answer is kept")


def recorder(engine: Engine, attempt_id: str, round: int = 1) -> Recorder:
    """The `Play.recorder` that writes each submission of this attempt before feedback shows."""
    with guard(engine, "cannot open the attempt"), reading(engine) as conn:
        if conn.scalar(sa.select(attempts.c.id).where(attempts.c.id == attempt_id)) is None:
            raise StoreError(f"no attempt {attempt_id!r}")

    def record_submission(submission: Submission) -> None:
        record(engine, attempt_id, submission, round)

    return record_submission


def answers(
    engine: Engine, attempt_id: str, round: int | None = None
) -> dict[str, tuple[list[str], str | None]]:
    """stage -> (choices, confidence) for `Play.restore`: the answers that count
    (`measures.counted`: a re-vote replaces the first vote), or those of one `round`."""
    s = submissions.c
    query = (sa.select(s.attempt_id, s.stage_id, s.round, s.choices, s.confidence,
                       s.submitted_at)
             .where(s.attempt_id == attempt_id).order_by(s.submitted_at, s.id))
    if round is not None:
        query = query.where(s.round == round)
    with guard(engine, "cannot read the attempt's answers"), reading(engine) as conn:
        rows = conn.execute(query).all()
    return {r.stage_id: (list(r.choices), r.confidence) for r in measures.counted(rows)}


# --- a learner's audience ("Which best describes you?") ----------------------------------------

AUDIENCES = ("student", "resident", "attending")
_audience_table = sa.table("learners", sa.column("id"), sa.column("display_name"),
                           sa.column("audience"))


@functools.cache
def has_audience(engine: Engine) -> bool:
    """Whether `learners.audience` exists (migration 0002): looked up once per engine, so
    the audience functions work on a database from before the column as well as after."""
    with guard(engine, "cannot read the learners table"):
        return "audience" in {c["name"] for c in sa.inspect(engine).get_columns("learners")}


def set_audience(engine: Engine, learner_id: str, audience: str) -> bool:
    """Keep the learner's answer to "Which best describes you?"; False where there is no
    column for it yet (nothing is kept: the page's address still carries it)."""
    if audience not in AUDIENCES:
        raise StoreError(f"an audience is one of {AUDIENCES}, not {audience!r}")
    if not has_audience(engine):
        return False
    t = _audience_table.c
    with guard(engine, "cannot keep the learner's audience"), engine.begin() as conn:
        conn.execute(_audience_table.update().where(t.id == learner_id).values(audience=audience))
    return True


def get_audience(engine: Engine, display_name: str) -> str | None:
    """The audience kept for the learner of this display name; None if none (or no column)."""
    if not has_audience(engine):
        return None
    t = _audience_table.c
    query = sa.select(t.audience).where(t.display_name == display_name)
    with guard(engine, "cannot read the learner's audience"), reading(engine) as conn:
        found = conn.scalar(query)
    return found if found in AUDIENCES else None
