"""Who is in a session's room and what they chose: nicknames, joining, votes and tallies.

A participant is anonymous: a nickname per session (made up when none is given), linked to no
learner, with one attempt holding their votes (round 1 the first vote, round 2 the re-vote).
A learner's screen only ever reads the session's row and, after the reveal, the room's tally;
nicknames and single votes are read by the instructor's screen and the report alone. The
queries are in `casebook.records.sessions`, the tally (and when learners may see it) in
`casebook.rules.measures`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass, replace

from casebook.content.models import Case, Guideline, Stage
from casebook.errors import SessionError
from casebook.records.database import Engine
from casebook.records.sessions import (
    Participant,
    Vote,
    add_participant,
    find_participant,
    joined_count,
    nicknames,
    own_votes,
    record_vote,
    votes,
)
from casebook.rules.measures import Tally, tally
from casebook.rules.play import Play
from casebook.sessions.machine import SessionState

# The records and the tally, re-exported: the room's face for the console, report and learner.
__all__ = ["Participant", "RoomPlay", "Tally", "Vote", "check_choices", "clean_nickname", "join",
           "joined_count", "made_up_nickname", "nicknames", "own_votes", "record_vote", "rejoin",
           "tally", "votes"]

NICKNAME_MAX = 24
ADJECTIVES = ("Amber", "Brave", "Calm", "Clever", "Eager", "Gentle", "Happy", "Keen", "Lucky",
              "Merry", "Nimble", "Quiet", "Rapid", "Steady", "Swift", "Witty")
ANIMALS = ("Badger", "Crane", "Dolphin", "Falcon", "Gecko", "Heron", "Ibex", "Koala", "Lynx",
           "Marten", "Otter", "Panda", "Puffin", "Robin", "Seal", "Wren")


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


TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what secrets.token_urlsafe(24) gives, bounded


def hash_token(token: str) -> str:
    """SHA-256 of a rejoin token: the token is 192 random bits, so a fast hash suffices (no
    salt, no scrypt) and lets the database find the participant by it."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def join(engine: Engine, session: SessionState, nickname: str | None, case: Case,
         guideline: Guideline) -> Participant:
    """Join under `nickname` (or a made-up one), with an attempt to hold this learner's votes.
    The Participant returned carries a fresh `rejoin_token` (stored only hashed), for the page
    to keep in its address: the same page comes back with `rejoin`."""
    chosen = clean_nickname(nickname)
    for _ in range(1 if chosen else 20):
        token = secrets.token_urlsafe(24)
        joined = add_participant(engine, session, chosen or made_up_nickname(), case, guideline,
                                 rejoin_hash=hash_token(token))
        if joined is not None:
            return replace(joined, rejoin_token=token)
    if chosen:
        raise SessionError("Someone in this session already has that nickname; choose another.")
    raise SessionError("cannot make up a free nickname; please type one")


def rejoin(engine: Engine, session: SessionState, token: str | None) -> Participant | None:
    """The participant whose page holds `token` (text from the page address: checked), else
    None. The participant keeps its token: the page's address stays valid."""
    text = str(token or "")
    if not TOKEN.fullmatch(text):
        return None
    found = find_participant(engine, session.id, hash_token(text))
    return replace(found, rejoin_token=text) if found is not None else None


def check_choices(stage: Stage, chosen: list[str]) -> None:
    """A SessionError unless `chosen` are distinct options the stage offers: everything a page
    sends is checked in the kernel, whatever its widgets allowed."""
    offered = {o.id for o in stage.options}
    if not chosen or any(c not in offered for c in chosen) or len(set(chosen)) != len(chosen):
        raise SessionError("That answer is not one of this stage's options; it was not recorded.")


@dataclass
class RoomPlay(Play):
    """A participant's play: the stage is the one the room is on, and a re-vote replaces the
    first vote's result (both stay recorded)."""

    stage_id: str | None = None

    @property
    def current(self) -> Stage | None:
        return self.case.stage(self.stage_id) if self.stage_id else None
