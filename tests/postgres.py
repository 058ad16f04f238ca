"""A real PostgreSQL server for the store tests, and the `db_url` fixture over both backends.

`make test` installs Debian's PostgreSQL (.ci/system-deps). Once per test session this makes a
throwaway cluster with `initdb` in a temporary folder owned by `postgres` (the server refuses to
run as root), starts it with `pg_ctl` on 127.0.0.1 on a free port, and stops it at the end; each
test gets a schema of its own. If the server cannot start, the tests that need it fail with
the server's log: they never skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    if shutil.which("pg_ctl"):
        return Path(shutil.which("pg_ctl")).parent
    pytest.fail("PostgreSQL is not installed: run `make system-deps` (apt-get install postgresql)",
                pytrace=False)


def _as_owner(cmd: list[str]) -> list[str]:
    """initdb and the server refuse root: run them as `postgres` when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(_as_owner(cmd), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log and log.exists() else ""
        pytest.fail(f"PostgreSQL {what} failed ({done.returncode}): {done.stderr.strip()}\n{tail}",
                    pytrace=False)


def _start(bindir: Path, root: Path) -> int:
    data, log = root / "data", root / "server.log"
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
          "--no-sync"], "initdb")
    port = _free_port()
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
               "-c fsync=off -c max_connections=200")
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
          "start"], "start", log)
    return port


@pytest.fixture(scope="session")
def postgres_server():
    """`postgresql+psycopg://postgres@127.0.0.1:PORT` of a server that lives for the session."""
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="casebook-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    try:
        port = _start(bindir, root)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m",
                                      "immediate", "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_database(postgres_server):
    """The session's database; each test works in a schema of its own inside it."""
    with psycopg.connect(_plain(postgres_server) + "/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE casebook")
    return f"{postgres_server}/casebook"


@pytest.fixture
def postgres_url(postgres_database):
    """An empty schema, first on the search path (as fresh as a new database, and 10x quicker)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(postgres_database), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_database}?options=-csearch_path%3D{schema}"
    with psycopg.connect(_plain(postgres_database), autocommit=True) as conn:
        # a connection the test left open would hold locks and make the DROP wait forever
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def connect():
    """`store.connect`, with every engine disposed after the test: no connection left open."""
    from casebook.records import store

    engines = []

    def connect(url: str | None = None):
        engines.append(store.connect(url))
        return engines[-1]

    yield connect
    for engine in engines:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """An empty database on each backend: SQLite in tmp_path, then the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'casebook.db'}"
    return request.getfixturevalue("postgres_url")
