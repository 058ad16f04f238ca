"""A kernel killed with SIGKILL mid-session loses no answer it had acknowledged.

The child process (this file run as a script) records submissions as fast as it can and prints
`ack <id>` after each `store.record` returns, as a player shows feedback only after the write.
The test kills it with SIGKILL in the middle of that stream, then checks that every acknowledged
submission is in the database and that the database still takes writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import sqlalchemy as sa

from casebook.records import database, store
from casebook.rules.play import Submission


def writer(url: str, attempt: str, prefix: str) -> None:
    engine = store.connect(url)
    print("ready", flush=True)
    for n in range(100_000):
        sub = Submission("mini-case", "mini", "1.0.0", f"{prefix}-{n}", ("rest",),
                         ("recommended",), 1.0, (), "certain", 2.0, datetime.now(UTC))
        print("ack", store.record(engine, attempt, sub), flush=True)


def kill_mid_stream(url: str, attempt: str, prefix: str, after: int) -> list[str]:
    """Start a writer, SIGKILL it once `after` acknowledgements are out; all acknowledged ids."""
    child = subprocess.Popen([sys.executable, __file__, url, attempt, prefix],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked: list[str] = []
    try:
        for line in child.stdout:
            if line.startswith("ack "):
                acked.append(line.split()[1])
            if len(acked) == after:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        child.kill()
        rest, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, err
    acked += [line.split()[1] for line in rest.splitlines(keepends=True)
              if line.startswith("ack ") and line.endswith("\n")]
    return acked


def test_every_acknowledged_submission_survives_sigkill(db_url, connect, mini, mini_case):
    engine = connect(db_url)
    attempt = store.start_attempt(engine, store.ensure_learner(engine, "Ada"), mini_case, mini)
    acked = []
    for run, after in enumerate((25, 60)):
        acked += kill_mid_stream(db_url, attempt, f"run{run}", after)
    assert len(acked) >= 85
    assert set(acked) <= stored_ids(engine)
    assert len(stored_ids(engine)) - len(acked) <= 2  # at most the write in flight at each kill
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    after_crash = Submission("mini-case", "mini", "1.0.0", "after", ("rest",), ("recommended",),
                             1.0, (), None, 1.0, datetime.now(UTC))
    assert store.record(engine, attempt, after_crash) in stored_ids(connect(db_url))


def stored_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(sa.select(database.submissions.c.id)))


if __name__ == "__main__":
    writer(*sys.argv[1:4])
