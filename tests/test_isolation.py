"""The test run never touches the repository's own records: the root conftest.py gives every run
(and each xdist worker) a scratch CASEBOOK_DB, and fails the run if data/ changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from casebook.records import database

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def isolation(request):
    plugin = request.config.pluginmanager.get_plugin("casebook-isolation")
    assert plugin is not None, f"{REPO / 'conftest.py'} did not set the run up"
    return plugin


def test_the_default_database_is_the_runs_scratch_one(isolation):
    url = database.database_url()
    assert url.get_backend_name() == "sqlite"
    assert Path(url.database) == isolation.scratch / "casebook.db"
    assert not Path(url.database).is_relative_to(REPO)
    assert os.environ["JUPYTER_RUNTIME_DIR"] == str(isolation.scratch)


def test_processes_the_run_starts_get_it_too(isolation):
    code = "from casebook.records import database; print(database.database_url().database)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == str(isolation.scratch / "casebook.db")


def test_the_data_guard_names_what_was_created_changed_or_removed(isolation, tmp_path):
    data = tmp_path / "data"
    fresh = isolation.guard_class(data)
    assert fresh.changes() == []
    data.mkdir()
    (data / "casebook.db").write_bytes(b"x")
    assert fresh.changes() == [f"{data} was created", f"{data / 'casebook.db'} was created"]

    kept = isolation.guard_class(data)
    (data / "casebook.db").write_bytes(b"xy")
    (data / "casebook.db-wal").write_bytes(b"")
    assert kept.changes() == [f"{data / 'casebook.db'} was changed",
                              f"{data / 'casebook.db-wal'} was created"]
    (data / "casebook.db").unlink()
    assert kept.changes()[0] == f"{data / 'casebook.db'} was removed"


def test_a_change_to_data_fails_a_run_that_passed(isolation, tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "guard", isolation.guard_class(tmp_path / "data"))
    monkeypatch.setattr(isolation, "changed", [])  # put back after: the real check runs at the end
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    isolation.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.OK and isolation.changed == []

    (tmp_path / "data").mkdir()
    isolation.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    assert isolation.changed == [f"{tmp_path / 'data'} was created"]
