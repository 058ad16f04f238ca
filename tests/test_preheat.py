"""The records layer warmed in a preheated kernel (casebook/records/preheat.py) and the schema
checked once per process and database (casebook/records/database.py `connect`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from casebook.records import database, preheat, schema_check


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'data' / 'casebook.db'}"


@pytest.fixture
def upgrades(monkeypatch):
    """Count the schema checks `connect` makes."""
    calls = []
    real = database.upgrade

    def counted(engine):
        calls.append(str(engine.url))
        real(engine)

    monkeypatch.setattr(database, "upgrade", counted)
    return calls


def test_a_preheated_kernel_checks_the_schema_before_the_page_asks(monkeypatch, url, upgrades):
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    preheat.warm(url)
    assert upgrades == [url]
    database.connect(url).dispose()  # what the named page does once its request came
    assert upgrades == [url, url]  # checked again (one SELECT at head): a newer schema is seen
    with database.reading(database.engine_for(url)) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM learners").scalar() == 0


def test_outside_a_preheated_kernel_warm_does_nothing(monkeypatch, url, upgrades):
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    preheat.warm(url)
    assert upgrades == []


def test_a_database_file_made_again_is_checked_again(url, upgrades, tmp_path):
    database.connect(url).dispose()
    (tmp_path / "data" / "casebook.db").unlink()
    engine = database.connect(url)
    with database.reading(engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM learners").scalar() == 0
    engine.dispose()
    assert upgrades == [url, url]


def test_warming_an_unreachable_database_is_logged_not_raised(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    (tmp_path / "file").write_text("not a folder")
    preheat.warm(f"sqlite:///{tmp_path / 'file' / 'casebook.db'}")
    assert "records not warmed" in caplog.text


def test_the_head_read_from_the_files_is_alembics_head():
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(database.alembic_config()).get_current_head()
    assert schema_check.plain_head(database.MIGRATIONS) == head


def test_a_kernel_warmed_on_a_database_at_head_does_not_load_alembic(url):
    database.connect(url).dispose()  # the first kernel, or the server, made the schema
    code = ("import sys; from casebook.records import preheat; preheat.warm(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'sqlalchemy'))"
            "[:1], 'alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                         env={**os.environ, "VOILA_PREHEAT": "True"}, timeout=120, check=True)
    assert out.stdout.split()[-1] == "False", out.stdout + out.stderr
    assert "sqlalchemy" in out.stdout  # the records layer itself is loaded
