"""Many kernel processes at once on one database: nothing lost, nothing duplicated.

Voila runs each page in its own kernel process, so these tests fork 30 real processes that
start together (a barrier) against SQLite and a real PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import traceback
from dataclasses import replace
from datetime import UTC, datetime

import alembic.command  # noqa: F401  (loaded once here rather than in every child)
import pytest
import sqlalchemy as sa

from casebook.records import database, store
from casebook.rules.play import Submission

WRITERS = 30
STAGES = 5
FORK = multiprocessing.get_context("fork")


def submission(stage: str, case: str = "mini-case") -> Submission:
    return Submission(case, "mini", "1.0.0", stage, ("rest",), ("recommended",), 1.0, (),
                      "certain", 4.0, datetime.now(UTC))


def run_together(target, *args) -> list:
    """Run `target(n, barrier, *args)` in WRITERS processes at once; their results, in order."""
    barrier, results = FORK.Barrier(WRITERS), FORK.Queue()

    def child(n: int) -> None:
        try:
            results.put((n, "ok", target(n, barrier, *args)))
        except BaseException:
            results.put((n, "error", traceback.format_exc()))

    processes = [FORK.Process(target=child, args=(n,)) for n in range(WRITERS)]
    for process in processes:
        process.start()
    got = sorted(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    failures = [f"writer {n}: {detail}" for n, status, detail in got if status != "ok"]
    assert not failures, "\n".join(failures)
    assert [p.exitcode for p in processes] == [0] * WRITERS
    return [detail for _, _, detail in got]


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where))


def first_connect(n: int, barrier, url: str) -> str:
    barrier.wait(timeout=60)
    engine = store.connect(url)
    return store.ensure_learner(engine, "Dr Shared")


def test_thirty_kernels_starting_at_once_create_the_schema_once(db_url, connect):
    learner_ids = run_together(first_connect, db_url)
    assert len(set(learner_ids)) == 1
    engine = connect(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [("0003",)]
    assert count(engine, database.learners) == 1


def submit_all(n: int, barrier, url: str, mini, mini_case, shared_attempt: str,
               shared: Submission) -> dict:
    engine = store.connect(url)
    attempt = store.start_attempt(engine, store.ensure_learner(engine, f"resident {n}"),
                                  mini_case, mini)
    subs = [submission(f"stage-{k}") for k in range(STAGES)]
    barrier.wait(timeout=60)
    ids = [store.record(engine, attempt, sub) for sub in subs]
    replayed = [store.record(engine, attempt, sub) for sub in subs]  # retries: no new rows
    lost_ack = store.record(engine, attempt, replace(subs[0], submitted_at=datetime.now(UTC)))
    raced = store.record(engine, shared_attempt, shared)  # all 30 write the same answer
    return {"attempt": attempt, "ids": ids, "replayed": replayed, "lost_ack": lost_ack,
            "raced": raced}


def test_thirty_kernels_submitting_at_once_lose_and_duplicate_nothing(db_url, connect, mini,
                                                                     mini_case):
    engine = connect(db_url)
    shared_attempt = store.start_attempt(engine, store.ensure_learner(engine, "Dr Shared"),
                                         mini_case, mini)
    shared = submission("first-visit")
    engine.dispose()  # no pooled connection is carried into the forked children

    results = run_together(submit_all, db_url, mini, mini_case, shared_attempt, shared)

    ids = [i for r in results for i in r["ids"]]
    assert len(ids) == len(set(ids)) == WRITERS * STAGES
    assert all(r["replayed"] == r["ids"] and r["lost_ack"] == r["ids"][0] for r in results)
    assert {r["raced"] for r in results} == {store.submission_id(shared_attempt, 1, shared)}
    with engine.connect() as conn:
        stored = set(conn.scalars(sa.select(database.submissions.c.id)))
    assert stored == set(ids) | {store.submission_id(shared_attempt, 1, shared)}
    for r in results:
        assert len(store.answers(engine, r["attempt"])) == STAGES
    assert count(engine, database.learners) == WRITERS + 1
    assert count(engine, database.attempts) == WRITERS + 1


@pytest.fixture(autouse=True)
def _no_stray_children():
    yield
    assert not multiprocessing.active_children()
