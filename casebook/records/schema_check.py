"""The schema check made cheap: one SELECT, and no alembic while the schema is at head.

`casebook.records.database.connect` checks that a database's schema is at the migrations' head
before handing out an engine. Every Voila kernel connects, so the check is first tried with
one SELECT of `alembic_version`
against the head read from the migration files' own `revision` lines (`at_head_plainly`):
importing alembic would cost about 10 MB in every kernel. Anything else (no table yet, another
revision, files that do not parse) falls through to alembic, which upgrades or explains.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(None|[\"'][^\"']*[\"'])",
                       re.MULTILINE)


@functools.cache
def plain_head(migrations: Path) -> str | None:
    """The head revision by the migration files' `revision` / `down_revision` lines; None if
    they do not name exactly one head."""
    revisions, parents = set(), set()
    for path in (migrations / "versions").glob("*.py"):
        found = dict(m.groups() for m in _REVISION.finditer(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            return None
        revisions.add(found["revision"].strip("\"'"))
        parents.add(found.get("down_revision", "None").strip("\"'"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head_plainly(engine: Engine, migrations: Path,
                    reading: Callable[[Engine], Connection]) -> bool:
    """True when the database's alembic_version is the head; False means: ask alembic."""
    head = plain_head(migrations)
    if head is None:
        return False
    try:
        with reading(engine) as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
    except exc.DBAPIError:
        return False  # no table yet, or unreadable: alembic's own check says which
