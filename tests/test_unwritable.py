"""A records database that turns unwritable under an open page: the learner is told at once that
answers cannot be saved, sees no feedback, nothing is recorded as if saved, and the page's
process lives on (SQLite maps its -shm file into memory, and writing to that mapping once the
file is unwritable used to kill the kernel with SIGBUS). Serving refuses to start on such a
database and says how to fix it.

Tests run as root, whom `chmod` does not stop; `chattr +i` (immutable) stops root too, so it is
what these tests use (`chmod` when not root). The page runs in a process of its own, as a Voila
kernel does, so a SIGBUS would fail the test instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from casebook.records import database, store, writable
from casebook.selfstudy.study import UNWRITABLE

TESTS = Path(__file__).parent
SMALL = TESTS / "fixtures" / "small_library"
REPO = TESTS.parent

PAGE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from widget_tree import by_class, one, visible
from casebook.apps import case_app

def choose(player, chosen):
    ids = [o.id for o in player.play.current.options]
    for control, option_id in zip(by_class(player, "cb-option"), ids, strict=True):
        control.value = option_id in chosen
    one(player, "cb-confidence").value = "unsure"
    one(player, "cb-submit").click()

def report(player, started):
    return {"seconds": time.monotonic() - started, "error": one(player, "cb-error").value,
            "error_shown": visible(one(player, "cb-error")),
            "feedback": one(player, "cb-feedback").value,
            "feedback_shown": visible(one(player, "cb-feedback"))}

player = case_app("knee-simple")
choose(player, ["rest"])
one(player, "cb-next").click()
print("ready", flush=True)
sys.stdin.readline()                      # the database is made unwritable meanwhile
started = time.monotonic()
choose(player, ["xray", "refer"])
print(json.dumps(report(player, started)), flush=True)
sys.stdin.readline()                      # ... and writable again
started = time.monotonic()
one(player, "cb-submit").click()
print(json.dumps(report(player, started)), flush=True)
"""


def files_of(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def make_unwritable(db: Path) -> None:
    for path in files_of(db):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
        else:
            path.chmod(0o444)
    assert writable.unwritable(db), "the files are still writable: the test would prove nothing"


def make_writable(db: Path) -> None:
    for path in files_of(db):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)
        else:
            path.chmod(0o644)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "data" / "casebook.db"
    store.connect(f"sqlite:///{path}").dispose()
    yield path
    make_writable(path)  # else tmp_path cannot be removed


def stage_ids(db: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        found = list(conn.scalars(sa.select(database.submissions.c.stage_id)
                                  .order_by(database.submissions.c.recorded_at)))
    engine.dispose()
    return found


def test_a_database_made_unwritable_under_an_open_page(db):
    env = {**os.environ, "CASEBOOK_CASES": str(SMALL), "CASEBOOK_DB": f"sqlite:///{db}",
           "QUERY_STRING": "learner=Ana"}
    env.pop("VOILA_PREHEAT", None)
    page = subprocess.Popen([sys.executable, "-c", PAGE, str(TESTS)], cwd=REPO, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert page.stdout.readline().strip() == "ready", page.stderr.read()
        assert stage_ids(db) == ["first-visit"]
        make_unwritable(db)
        page.stdin.write("\n")
        page.stdin.flush()
        refused = json.loads(page.stdout.readline() or "{}")
        assert refused, f"the page died: {page.wait(30)}, {page.stderr.read()[-3000:]}"
        assert refused["seconds"] < 2
        assert refused["error_shown"] and UNWRITABLE in refused["error"]
        assert "Traceback" not in refused["error"] and "sqlite" not in refused["error"]
        assert refused["feedback"] == "" and not refused["feedback_shown"]
        make_writable(db)
        assert stage_ids(db) == ["first-visit"]  # nothing recorded as if saved
        page.stdin.write("\n")
        page.stdin.flush()
        saved = json.loads(page.stdout.readline() or "{}")
        assert saved["feedback_shown"] and not saved["error_shown"]  # Submit again: saved
        page.stdin.close()
        assert page.wait(60) == 0, page.stderr.read()[-3000:]
    finally:
        if page.poll() is None:
            page.kill()
            page.wait(10)
    assert stage_ids(db) == ["first-visit", "after-rest"]


def test_every_transaction_checks_first_even_a_read(db):
    engine = store.connect(f"sqlite:///{db}")
    try:
        make_unwritable(db)
        with pytest.raises(store.NotWritable, match=r"casebook\.db.* is not writable"):
            store.ensure_learner(engine, "Ana")
        with pytest.raises(store.NotWritable):
            with database.reading(engine) as conn:
                conn.execute(sa.text("SELECT 1"))
        make_writable(db)
        store.ensure_learner(engine, "Ana")
    finally:
        make_writable(db)
        engine.dispose()


@pytest.mark.parametrize("defect", ["immutable-file", "not-a-folder"])
def test_serving_refuses_to_start_on_a_database_it_cannot_write(db, tmp_path, defect):
    if defect == "immutable-file":
        make_unwritable(db)
        url, named = f"sqlite:///{db}", str(db)
    else:
        (tmp_path / "a-file").write_text("not a folder")
        url, named = f"sqlite:///{tmp_path / 'a-file' / 'casebook.db'}", "a-file"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "casebook.serve.servers", "--port=1"],
                          cwd=REPO, env={**os.environ, "CASEBOOK_DB": url},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and time.monotonic() - started < 60
    assert "cannot serve" in proc.stderr and named in proc.stderr
    assert "CASEBOOK_DB" in proc.stderr and "Traceback" not in proc.stderr
