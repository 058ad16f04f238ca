"""Slowing down repeated wrong instructor keys, and logging each one.

The key is 128 random bits kept as a scrypt hash, so guessing it is hopeless; this is defence
in depth. What "a client" can mean here: the check runs in the kernel of the instructor's page,
and every page talks to a server on 127.0.0.1, so the address the server sees is the same for
everyone and cannot tell clients apart. So failures are counted twice:

- per page: in this kernel's memory (one kernel per page), over every code it tries;
- per join code: in a small file every kernel shares (`casebook.records.key_failures`), so
  opening a new page (a new kernel) does not reset the count.

After `FREE` failures in `WINDOW` seconds, each further failure locks that page or code for
`BASE_DELAY * 2**(n - FREE - 1)` seconds (at most `MAX_DELAY`): during the lock every attempt,
even with the right key, is refused with the time left. The right key clears both counts. A
code that is not even well formed cannot open anything and is not counted. Each wrong key is
logged (code and counts, never the key). Counts are kept per database, as sessions are.
"""

from __future__ import annotations

import hashlib
import logging
import time

from casebook.errors import CasebookError
from casebook.records import key_failures

log = logging.getLogger(__name__)

FREE = 5  # wrong keys allowed before any delay
BASE_DELAY = 2.0  # seconds of the first lock
MAX_DELAY = 300.0
WINDOW = 900.0  # seconds a failure is remembered

_page: dict[str, list[float]] = {}  # database URL -> this kernel's (this page's) failures


class Throttled(CasebookError):
    """Too many wrong keys lately; `str()` says how long to wait."""


def now() -> float:
    return time.time()


def _delay(failures: list[float]) -> float:
    """Seconds left of the lock these failure times earn, 0 if none."""
    if len(failures) <= FREE:
        return 0.0
    lock = min(MAX_DELAY, BASE_DELAY * 2 ** (len(failures) - FREE - 1))
    return max(0.0, failures[-1] + lock - now())


def _scope(database_url: str, code: str) -> str:
    return hashlib.sha256(f"{database_url}\n{code}".encode()).hexdigest()


def _code_failures(scope: str, add: bool = False, clear: bool = False) -> list[float]:
    """This code's recent failure times, after recording one (`add`) or forgetting all."""
    return key_failures.recent(scope, now(), WINDOW, add=add, clear=clear)


def _page_failures(database_url: str) -> list[float]:
    failures = _page.setdefault(database_url, [])
    failures[:] = [at for at in failures if at >= now() - WINDOW]
    return failures


def check(database_url: str, code: str) -> None:
    """Refuse (Throttled) while this page or this join code is locked."""
    wait = max(_delay(_page_failures(database_url)), _delay(_code_failures(_scope(database_url, code))))
    if wait > 0:
        raise Throttled(f"Too many wrong keys: wait {int(wait) + 1} s before trying again.")


def failed(database_url: str, code: str) -> None:
    """Count a wrong key against this page and this code, and log it."""
    page = _page_failures(database_url)
    page.append(now())
    failures = _code_failures(_scope(database_url, code), add=True)
    wait = max(_delay(page), _delay(failures))
    log.warning("wrong instructor key for join code %r: %d failure(s) on this code and %d on "
                "this page in %d min; next attempt allowed in %.0f s", code, len(failures),
                len(page), WINDOW // 60, wait)


def succeeded(database_url: str, code: str) -> None:
    """The right key: forget this code's and this page's failures."""
    _page.pop(database_url, None)
    _code_failures(_scope(database_url, code), clear=True)
