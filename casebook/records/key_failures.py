"""Wrong instructor keys per join code, shared by every kernel on the machine.

Kept apart from the records database on purpose: a failure must be counted even when the
records database cannot be written, and the counts are a defence (see
`casebook.sessions.throttle`), not a record anyone reports on. A small SQLite file in the
machine's temporary folder holds (scope, time) rows; nothing else is kept, never the key.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

log = logging.getLogger(__name__)

STORE = Path(tempfile.gettempdir()) / "casebook-instructor-key-failures.sqlite"


def _open() -> sqlite3.Connection:
    conn = sqlite3.connect(STORE, timeout=5, isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS failure (scope TEXT NOT NULL, at REAL NOT NULL)")
    return conn


def recent(scope: str, now: float, window: float, add: bool = False,
           clear: bool = False) -> list[float]:
    """`scope`'s failure times within `window` seconds of `now`, after recording one (`add`)
    or forgetting them all (`clear`); [] if the file cannot be used (the page's count holds)."""
    try:
        with closing(_open()) as conn:
            conn.execute("DELETE FROM failure WHERE at < ?", (now - window,))
            if clear:
                conn.execute("DELETE FROM failure WHERE scope = ?", (scope,))
            if add:
                conn.execute("INSERT INTO failure VALUES (?, ?)", (scope, now))
            return [at for (at,) in conn.execute(
                "SELECT at FROM failure WHERE scope = ? ORDER BY at", (scope,))]
    except sqlite3.Error as exc:
        log.warning("cannot keep instructor-key failures in %s: %s", STORE, exc)
        return []
