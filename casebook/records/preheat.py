"""The records layer paid for while a Voila kernel waits in its pool, not after a page asks.

A preheated kernel runs its notebook before any page asks for it, up to the point where it reads
the page's address (`casebook.selfstudy.identity.page_query`); whatever runs after that is paid
by the learner. A named page (`?learner=`) connects to the records at once, and every page that
joins a class session does at its first Join: importing SQLAlchemy and alembic and checking the
schema cost a loaded 2-core machine about half a second of the page's time and a second of
kernel CPU (issue 10). `warm()`, in a notebook's first cell, moves that into the wait.
"""

from __future__ import annotations

import importlib
import logging
import os

from casebook.records.database import URL, StoreError, connect

log = logging.getLogger(__name__)

# What a named page, a join or a vote imports.
RECORDS_MODULES = ("casebook.records.store", "casebook.records.sessions",
                   "casebook.records.progress")


def warm(url: str | URL | None = None) -> None:
    """In a kernel preheated by Voila, import the records layer and check the schema now
    (`connect` checks a database once per process), so a named page is served as fast as an
    anonymous one. Elsewhere (no preheat) it does nothing: the cost would fall on the page.
    A database that cannot be reached is only logged; the page says so when it needs it.
    """
    if os.environ.get("VOILA_PREHEAT") != "True":
        return
    for module in RECORDS_MODULES:
        importlib.import_module(module)
    try:
        connect(url).dispose()
    except StoreError as exc:
        log.warning("records not warmed: %s", exc)
