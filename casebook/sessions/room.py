"""Who is in a session's room and what they chose: nicknames, joining, votes and tallies.

A participant is anonymous: a nickname per session (made up when none is given), linked to no
learner, with one attempt holding their votes (round 1 the first vote, round 2 the re-vote).
A learner's screen only ever reads the session's row and, after the reveal, the room's tally;
nicknames and single votes are read by the instructor's screen and the report alone.
"""

from __future__ import annotations

import secrets
import unicodedata
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from casebook.content.models import Case, Guideline, Stage
from casebook.records import database, store
from casebook.rules.play import Play, Submission
from casebook.rules.scoring import StageKey
from casebook.sessions.machine import SessionError, SessionState

NICKNAME_MAX = 24
ADJECTIVES = ("Amber", "Brave", "Calm", "Clever", "Eager", "Gentle", "Happy", "Keen", "Lucky",
              "Merry", "Nimble", "Quiet", "Rapid", "Steady", "Swift", "Witty")
ANIMALS = ("Badger", "Crane", "Dolphin", "Falcon", "Gecko", "Heron", "Ibex", "Koala", "Lynx",
           "Marten", "Otter", "Panda", "Puffin", "Robin", "Seal", "Wren")
_T, _P = database.teaching_sessions, database.session_participants


@dataclass(frozen=True)
class Participant:
    id: str
    session_id: str
    nickname: str
    attempt_id: str


def clean_nickname(text: str | None) -> str | None:
    """The nickname to show, or None for "make one up"; a clear SessionError if unusable.

    Markup is allowed and always shown escaped. Invisible characters (which could make two
    nicknames look alike, or reverse text) and a leading = + - @ (a formula in a spreadsheet
    opening the CSV export) are refused.
    """
    raw = str(text or "")
    if len(raw) > 10 * NICKNAME_MAX:
        raise SessionError(f"A nickname has at most {NICKNAME_MAX} characters.")
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not name:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in name):
        raise SessionError("A nickname cannot contain invisible or control characters.")
    if len(name) > NICKNAME_MAX:
        raise SessionError(f"A nickname has at most {NICKNAME_MAX} characters; "
                           f"yours has {len(name)}.")
    if name[0] in "=+-@":
        raise SessionError("A nickname cannot start with =, +, - or @.")
    return name


def made_up_nickname() -> str:
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)} {secrets.randbelow(90) + 10}"


def join(engine: Engine, session: SessionState, nickname: str | None, case: Case,
         guideline: Guideline) -> Participant:
    """Join under `nickname` (or a made-up one), with an attempt to hold this learner's votes."""
    chosen = clean_nickname(nickname)
    for _ in range(1 if chosen else 20):
        name = chosen or made_up_nickname()
        ids = {"id": str(uuid.uuid4()), "attempt": str(uuid.uuid4())}
        now = datetime.now(UTC)
        try:
            with database.guard(engine, "cannot join the session"), engine.begin() as conn:
                if conn.scalar(sa.select(_T.c.ended_at).where(_T.c.id == session.id)):
                    raise SessionError(f"Session {session.join_code} has ended.")
                conn.execute(_P.insert().values(id=ids["id"], session_id=session.id,
                                                nickname=name, joined_at=now))
                conn.execute(database.attempts.insert().values(
                    id=ids["attempt"], participant_id=ids["id"], session_id=session.id,
                    case_id=case.id, guideline_id=guideline.id,
                    guideline_version=guideline.version, started_at=now))
            return Participant(ids["id"], session.id, name, ids["attempt"])
        except exc.IntegrityError:
            continue
    if chosen:
        raise SessionError("Someone in this session already has that nickname; choose another.")
    raise SessionError("cannot make up a free nickname; please type one")


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


@dataclass
class RoomPlay(Play):
    """A participant's play: the stage is the one the room is on, and a re-vote replaces the
    first vote's result (both stay recorded)."""

    stage_id: str | None = None

    @property
    def current(self) -> Stage | None:
        return self.case.stage(self.stage_id) if self.stage_id else None


# --- what the room chose ------------------------------------------------------------------------


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
        """Chose the guideline's step(s): full points, and nothing but recommended steps."""
        return self.points >= 1.0 and all(v == "recommended" for v in self.verdicts)

    @property
    def harmful(self) -> bool:
        return bool(self.safety_events)


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
    return [Vote(r.participant_id, r.nickname, r.stage_id, r.round, tuple(r.choices), tuple(r.verdicts),
                 r.points, tuple(r.safety_events), r.confidence, r.submitted_at) for r in rows]


def nicknames(engine: Engine, session_id: str) -> list[str]:
    """Who joined, in order of joining: for the instructor's screen only."""
    query = sa.select(_P.c.nickname).where(_P.c.session_id == session_id).order_by(
        _P.c.joined_at, _P.c.id)
    with database.guard(engine, "cannot read the participants"), database.reading(engine) as conn:
        return list(conn.scalars(query))


@dataclass(frozen=True)
class Tally:
    """One stage and round: how many chose each option, and how the votes stand to the key."""

    stage_id: str
    round: int
    counts: dict[str, int]  # option id -> votes choosing it, in the stage's option order
    voters: int
    concordant: int
    harmful: int

    @property
    def share(self) -> float | None:
        """The share that chose the guideline's step(s); None before anyone voted."""
        return self.concordant / self.voters if self.voters else None


def tally(all_votes: Sequence[Vote], key: StageKey, round: int) -> Tally:
    """The tally of `key`'s stage in `round`, from votes read by `votes`."""
    chosen = [v for v in all_votes if v.stage_id == key.stage and v.round == round]
    counted = Counter(c for v in chosen for c in v.choices)
    return Tally(key.stage, round, {o.option: counted[o.option] for o in key.options},
                 len(chosen), sum(v.concordant for v in chosen), sum(v.harmful for v in chosen))
