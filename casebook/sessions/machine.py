"""Teaching sessions: an instructor moves a room through one case, stage by stage.

Everything a session shares lives in the database, because each Voila page runs its own kernel:
the instructor's page changes the session's row, learners' pages poll it. These are plain
functions over an Engine, with no UI in them and no SQL (the queries are in
`casebook.records.sessions`); who joined and how they voted is in `casebook.sessions.room`.

The state machine, per stage (the session row holds current_stage, phase and round):

    waiting/1 --open--> voting/1 --close--> closed/1 --reveal--> revealed/1 --next--> next stage
                                            closed/1 --revote--> voting/2 --close--> closed/2
                                            closed/2 --reveal--> revealed/2 --next--> next stage
    waiting/1 --next--> next stage (a stage skipped);   any --end--> ended (ended_at set)

`next` on the last stage ends the session. Every change is a conditional UPDATE on the state
the instructor's screen showed, so two instructor tabs cannot both move the room; a vote is
written in one transaction with a check that voting is open on its stage and round.

The instructor key: `casebook session new` makes a random key, prints it once, and stores only
its salted scrypt hash. The instructor's page asks for the join code and the key; it can then
start further sessions from the page, each stored with a fresh hash of the same key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache

from casebook.content.models import Case
from casebook.errors import SessionError
from casebook.records import sessions as records
from casebook.records.database import Engine
from casebook.sessions import throttle

__all__ = ["SessionError", "SessionState"]  # SessionError re-exported: it was defined here

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud or off a projector
CODE_LENGTH = 6
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# (action, phase, round) -> (phase, round) after it; `next` and `end` move the stage too.
TRANSITIONS = {
    ("open", "waiting", 1): ("voting", 1),
    ("close", "voting", 1): ("closed", 1), ("close", "voting", 2): ("closed", 2),
    ("revote", "closed", 1): ("voting", 2),
    ("reveal", "closed", 1): ("revealed", 1), ("reveal", "closed", 2): ("revealed", 2),
    ("next", "revealed", 1): ("waiting", 1), ("next", "revealed", 2): ("waiting", 1),
    ("next", "waiting", 1): ("waiting", 1),
}


@dataclass(frozen=True)
class SessionState(records.SessionRow):
    """One reading of a session's row: what every screen in the room shows, and what the
    state machine allows from it."""

    def allows(self, action: str) -> bool:
        if self.ended:
            return False
        return action == "end" or (action, self.phase, self.round) in TRANSITIONS


# --- the instructor key -----------------------------------------------------------------------


def new_key() -> str:
    """A random instructor key (128 bits), shown once and never stored."""
    return secrets.token_urlsafe(16)


def hash_key(key: str, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash`: a salted, memory-hard hash, so a leaked database leaks no key."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(key.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    params = "$".join(str(SCRYPT[k]) for k in ("n", "r", "p"))
    encoded = "$".join(base64.b64encode(x).decode("ascii") for x in (salt, digest))
    return f"scrypt${params}${encoded}"


def key_matches(stored: str, key: str) -> bool:
    """Whether `key` is the one `stored` was made from (in constant time once hashed)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        params = {"n": int(n), "r": int(r), "p": int(p)}
        expected = base64.b64decode(digest, validate=True)
        salt_bytes = base64.b64decode(salt, validate=True)
    except ValueError:
        return False
    if scheme != "scrypt" or len(key) > 200:
        return False
    actual = hashlib.scrypt(key.encode("utf-8"), salt=salt_bytes, dklen=len(expected), **params)
    return hmac.compare_digest(actual, expected)


@cache
def _decoy_hash() -> str:
    """Checked against when a code names no session, so that takes as long as a wrong key."""
    return hash_key(new_key())


# --- join codes and nicknames -------------------------------------------------------------------


def normalize_code(text: str) -> str:
    """The join code as stored, from what a person typed (case, spaces and dashes ignored)."""
    code = "".join(str(text or "")[:100].split()).replace("-", "").upper()
    if not code:
        raise SessionError("Enter the join code shown on your instructor's screen.")
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        raise SessionError(f"A join code is {CODE_LENGTH} letters and digits, like K7Q2MX "
                           "(there is no 0, 1, I, L or O in a code).")
    return code


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


# --- reading sessions ----------------------------------------------------------------------------


def _read_one(engine: Engine, session_id: str | None = None,
              join_code: str | None = None) -> SessionState | None:
    row = records.read_session(engine, session_id, join_code)
    return SessionState(**asdict(row)) if row is not None else None


def state(engine: Engine, session_id: str) -> SessionState:
    found = _read_one(engine, session_id=session_id)
    if found is None:
        raise SessionError("This session no longer exists.")
    return found


def by_code(engine: Engine, code_text: str) -> SessionState:
    """The session a code names, running or ended (for the report)."""
    code = normalize_code(code_text)
    found = _read_one(engine, join_code=code)
    if found is None:
        raise SessionError(f"No session has the code {code}. Check the code on your "
                           "instructor's screen.")
    return found


def find(engine: Engine, code_text: str) -> SessionState:
    """The running session a learner's code names, or a SessionError saying why not."""
    found = by_code(engine, code_text)
    code = found.join_code
    if found.ended:
        raise SessionError(f"Session {code} has ended.")
    return found


def running(engine: Engine) -> list[records.SessionListing]:
    """The sessions not ended, newest first (a signed-in instructor's page reopens one)."""
    return records.running(engine)


def authenticate(engine: Engine, code_text: str, key: str) -> SessionState:
    """The session, running or ended, if `key` is its instructor key. One message for every
    failure, so the page tells no one which codes exist."""
    refused = SessionError("That join code and instructor key do not open a session.")
    try:
        code = normalize_code(code_text)
    except SessionError:
        raise refused from None
    url = engine.url.render_as_string(hide_password=True)
    throttle.check(url, code)  # repeated wrong keys are slowed down and logged
    stored = records.key_hash(engine, code)
    matches = key_matches(stored if stored is not None else _decoy_hash(), str(key or ""))
    if stored is None or not matches:
        throttle.failed(url, code)
        raise refused
    throttle.succeeded(url, code)
    return by_code(engine, code)


# --- creating and moving sessions ---------------------------------------------------------------


def create(engine: Engine, case: Case, key: str) -> SessionState:
    """A new session on `case`, waiting at its first stage, with a fresh code."""
    now = datetime.now(UTC)
    row = dict(instructor_key_hash=hash_key(key), case_id=case.id,
               current_stage=case.stages[0].id, phase="waiting", round=1,
               created_at=now, updated_at=now)
    for _ in range(20):
        row.update(id=str(uuid.uuid4()), join_code=new_code())
        if records.insert_session(engine, row):  # False: the code is taken, draw another
            return state(engine, row["id"])
    raise SessionError("cannot find a free join code; try again")


def _target(current: SessionState, action: str, stages: Sequence[str]) -> dict:
    """The row's new values after `action`, or a SessionError if the state does not allow it."""
    if not current.allows(action):
        raise SessionError(f"Cannot {action} now: the session is {describe(current)}.")
    now = datetime.now(UTC)
    if action == "end":
        return {"ended_at": now, "updated_at": now}
    phase, round_ = TRANSITIONS[(action, current.phase, current.round)]
    values = {"phase": phase, "round": round_, "updated_at": now}
    if action == "next":
        if current.stage_id not in stages:
            raise SessionError(f"Stage {current.stage_id!r} is no longer in the case; end "
                               "the session and start a new one.")
        index = list(stages).index(current.stage_id) + 1
        if index >= len(stages):
            return {"ended_at": now, "updated_at": now}
        values["current_stage"] = stages[index]
    return values


def advance(engine: Engine, current: SessionState, action: str,
            stages: Sequence[str]) -> SessionState:
    """Apply `action` to the session as `current` shows it; refused if it has moved since."""
    changed = records.update_session(engine, current, _target(current, action, stages))
    now = state(engine, current.id)
    if not changed:
        raise SessionError(f"The session changed meanwhile (it is {describe(now)}); "
                           "look again and retry.")
    return now


def describe(s: SessionState) -> str:
    if s.ended:
        return "ended"
    again = " (re-vote)" if s.round == 2 else ""
    return f"{s.phase}{again} at stage {s.stage_id}"
