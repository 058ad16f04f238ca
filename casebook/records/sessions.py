"""A class session's records: its row, its participants and their votes.

The queries behind `casebook.sessions` (which keeps the join codes, the key hashing and the
state machine): each function takes and returns plain dataclasses. Every change of the
session's row is a conditional UPDATE on the state the instructor's screen showed
(`update_session`), and a vote is written in one transaction with the check that voting is open
on its stage and round (`record_vote`), so the database, not a kernel, settles every race.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc

from casebook.errors import SessionError
from casebook.records import database, store
from casebook.records.database import Engine
from casebook.rules import measures

if TYPE_CHECKING:
    from casebook.content.models import Case, Guideline
    from casebook.rules.play import Submission

_T, _P = database.teaching_sessions, database.session_participants


@dataclass(frozen=True)
class SessionRow:
    """One reading of a session's row (`casebook.sessions.machine.SessionState` adds its rules)."""

    id: str
    join_code: str
    case_id: str
    stage_id: str | None
    phase: str
    round: int
    ended: bool


@dataclass(frozen=True)
class SessionListing:
    id: str
    join_code: str
    case_id: str
    created_at: datetime


@dataclass(frozen=True)
class Participant:
    id: str
    session_id: str
    nickname: str
    attempt_id: str
    rejoin_token: str | None = None  # set only on the object `join` returns; stored hashed


@dataclass(frozen=True)
class Vote:
    participant_id: str
    nickname: str
    stage_id: str
    round: int
    choices: tuple[str, ...]
    verdicts: tuple[str, ...]
    points: float
    safety_events: tuple[str, ...]
    confidence: str | None
    submitted_at: datetime

    @property
    def concordant(self) -> bool:
        """`measures.concordant`: full points, and nothing but the guideline's steps."""
        return measures.concordant(self.points, self.verdicts)

    @property
    def harmful(self) -> bool:
        """`measures.unsafe`: the vote chose a harmful step."""
        return measures.unsafe(self.verdicts)


# --- the session's row ---------------------------------------------------------------------


def _row(row: sa.Row) -> SessionRow:
    return SessionRow(row.id, row.join_code, row.case_id, row.current_stage, row.phase,
                      row.round, row.ended_at is not None)


def read_session(engine: Engine, session_id: str | None = None,
                 join_code: str | None = None) -> SessionRow | None:
    """The session with this id (or else this join code), or None."""
    where = _T.c.id == session_id if session_id is not None else _T.c.join_code == join_code
    with database.guard(engine, "cannot read the session"), database.reading(engine) as conn:
        row = conn.execute(sa.select(_T).where(where)).first()
    return _row(row) if row is not None else None


def key_hash(engine: Engine, join_code: str) -> str | None:
    """The stored hash of the instructor key of the session with this code, or None."""
    query = sa.select(_T.c.instructor_key_hash).where(_T.c.join_code == join_code)
    with database.guard(engine, "cannot read the session"), database.reading(engine) as conn:
        return conn.scalar(query)


def insert_session(engine: Engine, values: dict[str, Any]) -> bool:
    """Write a new session's row; False if its join code is taken (draw another)."""
    with database.guard(engine, "cannot create the session"):
        try:
            with engine.begin() as conn:
                conn.execute(_T.insert().values(**values))
        except exc.IntegrityError:
            return False
    return True


def update_session(engine: Engine, current: SessionRow, values: dict[str, Any]) -> bool:
    """Set `values` on the session's row only if it is still as `current` shows it (the stage,
    phase and round, and not ended); False if it has moved since."""
    t = _T.c
    stage_is = t.current_stage.is_(None) if current.stage_id is None else (
        t.current_stage == current.stage_id)
    update = _T.update().where(t.id == current.id, t.phase == current.phase,
                               t.round == current.round, stage_is, t.ended_at.is_(None))
    with database.guard(engine, "cannot change the session"), engine.begin() as conn:
        return conn.execute(update.values(**values)).rowcount == 1


def listing(engine: Engine) -> list[SessionListing]:
    """Every session, newest first (the dashboard's session filter)."""
    t = _T.c
    query = sa.select(t.id, t.join_code, t.case_id, t.created_at).order_by(t.created_at.desc())
    with database.guard(engine, "cannot list the sessions"), database.reading(engine) as conn:
        return [SessionListing(r.id, r.join_code, r.case_id, r.created_at)
                for r in conn.execute(query)]


def running(engine: Engine, limit: int = 30) -> list[SessionListing]:
    """The sessions not ended, newest first: a signed-in instructor reopens one from these."""
    t = _T.c
    query = (sa.select(t.id, t.join_code, t.case_id, t.created_at).where(t.ended_at.is_(None))
             .order_by(t.created_at.desc()).limit(limit))
    with database.guard(engine, "cannot list the sessions"), database.reading(engine) as conn:
        return [SessionListing(r.id, r.join_code, r.case_id, r.created_at)
                for r in conn.execute(query)]


# --- participants and votes ----------------------------------------------------------------


def add_participant(engine: Engine, session: SessionRow, nickname: str, case: Case,
                    guideline: Guideline, rejoin_hash: str | None = None) -> Participant | None:
    """Join `session` as `nickname`, with an attempt to hold the votes; None if someone in the
    session has that nickname, a SessionError if the session has ended. `rejoin_hash` (the
    hash of the page's rejoin token) lets the same page come back as this participant."""
    ids = {"id": str(uuid.uuid4()), "attempt": str(uuid.uuid4())}
    now = datetime.now(UTC)
    try:
        with database.guard(engine, "cannot join the session"), engine.begin() as conn:
            if conn.scalar(sa.select(_T.c.ended_at).where(_T.c.id == session.id)):
                raise SessionError(f"Session {session.join_code} has ended.")
            conn.execute(_P.insert().values(id=ids["id"], session_id=session.id,
                                            nickname=nickname, joined_at=now,
                                            rejoin_hash=rejoin_hash))
            conn.execute(database.attempts.insert().values(
                id=ids["attempt"], participant_id=ids["id"], session_id=session.id,
                case_id=case.id, guideline_id=guideline.id,
                guideline_version=guideline.version, started_at=now))
    except exc.IntegrityError:
        return None
    return Participant(ids["id"], session.id, nickname, ids["attempt"])


def record_vote(engine: Engine, participant: Participant, submission: Submission,
                round: int) -> str:
    """Write a vote, but only while voting is open on its stage and round; its id."""
    t = _T.c
    row = store.submission_row(participant.attempt_id, submission, round)
    is_open = sa.select(t.id).where(
        t.id == participant.session_id, t.phase == "voting", t.round == round,
        t.current_stage == submission.stage_id, t.ended_at.is_(None)).with_for_update(read=True)
    try:
        with database.guard(engine, "your vote was not recorded"), engine.begin() as conn:
            if conn.scalar(is_open) is None:
                raise SessionError("Voting on this stage is closed; your vote was not recorded.")
            conn.execute(database.submissions.insert().values(**row))
    except exc.IntegrityError:
        raise SessionError("You have already voted in this round.") from None
    return row["id"]


def votes(engine: Engine, session_id: str, stage_id: str | None = None,
          named: bool = True) -> list[Vote]:
    """Every vote of the session (of one stage if named), oldest first; with `named` False
    the nicknames are not even read (a learner's page tallies the room that way)."""
    s, a = database.submissions.c, database.attempts.c
    name = _P.c.nickname if named else sa.literal("").label("nickname")
    query = (sa.select(_P.c.id.label("participant_id"), name, s.stage_id, s.round,
                       s.choices, s.verdicts, s.points, s.safety_events, s.confidence,
                       s.submitted_at)
             .select_from(database.submissions.join(database.attempts, s.attempt_id == a.id)
                          .join(_P, _P.c.id == a.participant_id))
             .where(a.session_id == session_id).order_by(s.submitted_at, s.id))
    if stage_id is not None:
        query = query.where(s.stage_id == stage_id)
    with database.guard(engine, "cannot read the votes"), database.reading(engine) as conn:
        rows = conn.execute(query).all()
    return [Vote(r.participant_id, r.nickname, r.stage_id, r.round, tuple(r.choices),
                 tuple(r.verdicts), r.points, tuple(r.safety_events), r.confidence,
                 r.submitted_at) for r in rows]


def nicknames(engine: Engine, session_id: str) -> list[str]:
    """Who joined, in order of joining: for the instructor's screen only."""
    query = sa.select(_P.c.nickname).where(_P.c.session_id == session_id).order_by(
        _P.c.joined_at, _P.c.id)
    with database.guard(engine, "cannot read the participants"), database.reading(engine) as conn:
        return list(conn.scalars(query))


def find_participant(engine: Engine, session_id: str, rejoin_hash: str) -> Participant | None:
    """The participant of `session_id` whose rejoin token hashes to `rejoin_hash`, or None."""
    a = database.attempts.c
    query = (sa.select(_P.c.id, _P.c.nickname, a.id.label("attempt_id"))
             .select_from(_P.join(database.attempts, a.participant_id == _P.c.id))
             .where(_P.c.session_id == session_id, _P.c.rejoin_hash == rejoin_hash)
             .order_by(a.started_at).limit(1))
    with database.guard(engine, "cannot rejoin the session"), database.reading(engine) as conn:
        row = conn.execute(query).first()
    return Participant(row.id, session_id, row.nickname, row.attempt_id) if row else None


def own_votes(engine: Engine, participant: Participant) -> list[tuple[str, int, tuple[str, ...],
                                                                      str | None]]:
    """(stage, round, choices, confidence) of each vote this participant made, oldest first:
    what a rejoining page replays."""
    s = database.submissions.c
    query = (sa.select(s.stage_id, s.round, s.choices, s.confidence)
             .where(s.attempt_id == participant.attempt_id).order_by(s.submitted_at, s.id))
    with database.guard(engine, "cannot read your votes"), database.reading(engine) as conn:
        return [(r.stage_id, r.round, tuple(r.choices), r.confidence) for r in conn.execute(query)]


def joined_count(engine: Engine, session_id: str) -> int:
    """How many joined (the projector shows the count, never the names)."""
    query = sa.select(sa.func.count()).select_from(_P).where(_P.c.session_id == session_id)
    with database.guard(engine, "cannot count the participants"), database.reading(engine) as conn:
        return int(conn.scalar(query) or 0)
