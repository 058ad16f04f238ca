"""The database records live in: the engine, the schema, its migrations, and error wording.

The default database is SQLite in `<repo>/data/casebook.db`, created on first use; `CASEBOOK_DB`
takes any SQLAlchemy URL (PostgreSQL as `postgresql+psycopg://user@host/db`). SQLite runs in WAL
mode with `synchronous=FULL`, a busy timeout, and `BEGIN IMMEDIATE` for writes, so many Voila
kernels can write at once and a write that returned survives a killed kernel or server.

The schema is created and upgraded by the alembic migrations in `casebook/migrations`:
`connect(url)` upgrades to head on first use, under a lock, so kernels starting together are safe;
the check is one SELECT while the schema is at head (`schema_check`), and a preheated Voila kernel pays for
the whole records layer while it waits in its pool (`casebook.records.preheat`).
`guard` turns a driver's exception into a one-line `StoreError` naming the database and what
went wrong; `reading` opens a connection that takes no write lock. The functions that write and
read records are in `casebook.records.store`, a session's in `casebook.records.sessions`, a
learner's progress in `casebook.records.progress`. Modules outside `casebook.records` name
`Engine` from here, so that no SQL or SQLAlchemy import is needed outside it.
"""

from __future__ import annotations

import functools
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine  # Engine: the type hint outside records

from casebook.content import roots
from casebook.errors import CasebookError
from casebook.records.schema_check import at_head_plainly
from casebook.records.writable import sqlite_path, unwritable


def default_path(package: Path = roots.PACKAGE) -> Path:
    """`data/casebook.db` in a checkout; for an installed package, Jupyter's data folder
    (`jupyter --data-dir`), never inside site-packages."""
    content = roots.shipped_content(package)
    if content != package / "_content":
        return content / "data" / "casebook.db"
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "casebook" / "casebook.db"


DEFAULT_PATH = default_path()
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x63617365626F6F6B  # "casebook": the PostgreSQL advisory lock around upgrades
PHASES = ("waiting", "voting", "closed", "revealed")


class StoreError(CasebookError):
    """The database cannot be reached or used, or refused a write; the message says which."""


class NotWritable(StoreError):
    """The SQLite database's files or folder cannot be written (read-only, immutable, another
    owner), so nothing can be saved until it is fixed; the message names the file."""



# --- the schema, as the migrations create it (tests check that the two agree) ---------------


class UTCDateTime(sa.TypeDecorator):
    """Timestamps in UTC, aware on the way out whatever the backend (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData(naming_convention={
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
})
_Id, _Slug = sa.String(36), sa.String(80)

learners = sa.Table(
    "learners", metadata,
    sa.Column("id", _Id, primary_key=True),
    sa.Column("display_name", sa.String(80), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("audience", sa.String(20)),  # student, resident or attending; NULL: not asked yet
)
teaching_sessions = sa.Table(
    "teaching_sessions", metadata,
    sa.Column("id", _Id, primary_key=True),
    sa.Column("join_code", sa.String(12), nullable=False, unique=True),
    sa.Column("instructor_key_hash", sa.String(255), nullable=False),
    sa.Column("case_id", _Slug, nullable=False),
    sa.Column("current_stage", _Slug),
    sa.Column("phase", sa.String(10), nullable=False, server_default=PHASES[0]),
    sa.Column("round", sa.SmallInteger, nullable=False, server_default="1"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.CheckConstraint(f"phase IN {PHASES!r}", name="phase"),
    sa.CheckConstraint("round IN (1, 2)", name="round"),
)
session_participants = sa.Table(
    "session_participants", metadata,
    sa.Column("id", _Id, primary_key=True),
    sa.Column("session_id", _Id, sa.ForeignKey("teaching_sessions.id"), nullable=False),
    sa.Column("nickname", sa.String(40), nullable=False),
    sa.Column("learner_id", _Id, sa.ForeignKey("learners.id")),  # NULL: anonymous
    sa.Column("joined_at", UTCDateTime, nullable=False),
    sa.Column("rejoin_hash", sa.String(64)),  # SHA-256 of the page's rejoin token (0003)
    sa.UniqueConstraint("session_id", "nickname"),
    sa.Index(None, "rejoin_hash", unique=True),
)
attempts = sa.Table(
    "attempts", metadata,
    sa.Column("id", _Id, primary_key=True),
    sa.Column("learner_id", _Id, sa.ForeignKey("learners.id")),
    sa.Column("participant_id", _Id, sa.ForeignKey("session_participants.id")),
    sa.Column("session_id", _Id, sa.ForeignKey("teaching_sessions.id")),
    sa.Column("case_id", _Slug, nullable=False),
    sa.Column("guideline_id", _Slug, nullable=False),
    sa.Column("guideline_version", sa.String(20), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.CheckConstraint("learner_id IS NOT NULL OR participant_id IS NOT NULL", name="who"),
    sa.Index(None, "learner_id", "case_id"),
    sa.Index(None, "session_id"),
    sa.Index(None, "started_at"),
)
submissions = sa.Table(
    "submissions", metadata,
    sa.Column("id", _Id, primary_key=True),  # client-generated: a retried write is a no-op
    sa.Column("attempt_id", _Id, sa.ForeignKey("attempts.id"), nullable=False),
    sa.Column("stage_id", _Slug, nullable=False),
    sa.Column("round", sa.SmallInteger, nullable=False),
    sa.Column("choices", sa.JSON, nullable=False),
    sa.Column("verdicts", sa.JSON, nullable=False),
    sa.Column("points", sa.Float, nullable=False),
    sa.Column("safety_events", sa.JSON, nullable=False),
    sa.Column("confidence", sa.String(20)),
    sa.Column("seconds_on_stage", sa.Float, nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("scoring_rule", sa.String(10), nullable=False),  # measures.SCORING_RULE then
    sa.UniqueConstraint("attempt_id", "stage_id", "round"),
    sa.CheckConstraint("round IN (1, 2)", name="round"),
    sa.Index(None, "submitted_at"),
)


# --- engines and migrations -----------------------------------------------------------------


def database_url(url: str | URL | None = None) -> URL:
    """The URL to use: `url`, else `CASEBOOK_DB`, else SQLite in the repository's data folder."""
    where = "CASEBOOK_DB" if not url and os.environ.get("CASEBOOK_DB") else "database URL"
    text = url or os.environ.get("CASEBOOK_DB") or f"sqlite:///{DEFAULT_PATH}"
    try:
        parsed = sa.make_url(text)
    except exc.ArgumentError:
        shown = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", str(text))
        raise StoreError(f"{where} {shown!r} is not a database URL; expected "
                         "e.g. sqlite:///path/to/casebook.db or "
                         "postgresql+psycopg://user@host/dbname") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def engine_for(url: str | URL | None = None) -> Engine:
    """An engine for the database, configured for safe concurrent writes; no schema changes."""
    parsed = database_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=args)
    except (exc.NoSuchModuleError, ImportError) as err:
        raise StoreError(f"{show_url(parsed)}: no database driver {parsed.drivername!r} ({err}); "
                         "use sqlite:/// or postgresql+psycopg://") from None


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        folder = Path(url.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the data folder {folder}: {err.strerror}") from None
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def check_writable(url: URL) -> None:
    """Raise NotWritable if the SQLite database at `url` cannot be written."""
    path = sqlite_path(url)
    problem = unwritable(path) if path is not None else None
    if problem:
        raise NotWritable(f"{show_url(url)}: {problem}; nothing can be saved until it is "
                          "(check its owner, `chmod u+w`, `lsattr`, and that the disk is "
                          "mounted read-write)")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver's own BEGIN is replaced by _sqlite_begin
    cursor = dbapi_connection.cursor()
    for pragma in (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL",
                   "synchronous = FULL", "foreign_keys = ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writes take the write lock up front, so they wait their turn instead of failing."""
    check_writable(conn.engine.url)  # before SQLite touches its -shm mapping: see unwritable
    reading = conn.get_execution_options().get("casebook_read", False)
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def reading(engine: Engine) -> Connection:
    return engine.connect().execution_options(casebook_read=True)


def alembic_config() -> Any:
    """The alembic Config for the package's migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def _scripts() -> Any:
    """The migration scripts, read once per process (alembic parses every file to find head)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def upgrade(engine: Engine) -> None:
    """Bring the schema to head; a no-op when it is there, serialised when many start at once."""
    if at_head_plainly(engine, MIGRATIONS, reading):
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = alembic_config()
    scripts = _scripts()
    head = scripts.get_current_head()
    with guard(engine, "cannot open the database"):
        with reading(engine) as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
            raise StoreError(f"{show_url(engine.url)}: the schema is at revision {current!r}, "
                             "newer than this casebook knows; upgrade casebook")
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            if MigrationContext.configure(conn).get_current_revision() == head:
                return  # another process upgraded while this one waited for the lock
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def connect(url: str | URL | None = None) -> Engine:
    """An engine for `url` (or CASEBOOK_DB, or the default SQLite file), schema at head.

    Connect once per kernel and keep the engine: it holds the connection pool. The schema
    check is one SELECT of alembic_version when the database is at head (`at_head_plainly`),
    made at every connect: another casebook may have moved the schema since.
    """
    engine = engine_for(url)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def show_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


@contextmanager
def guard(engine: Engine, doing: str) -> Iterator[None]:
    """Driver errors become one-line StoreErrors naming the database; integrity errors pass."""
    try:
        yield
    except exc.IntegrityError:
        raise
    except exc.DBAPIError as err:
        raise StoreError(f"{doing}: {show_url(engine.url)}: {reason(err)}") from err


def reason(err: exc.DBAPIError) -> str:
    return " ".join(str(err.orig).split()) or type(err.orig).__name__


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())
