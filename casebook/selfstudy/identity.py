"""How a page knows its learner: a display name carried in the page's address, `?learner=<name>`,
and, beside it, who they are (`?level=student|resident|attending`, see `level_from_query`).

There are no accounts and no passwords. A learner types a display name once on the home page (a
nickname will do: a resident's real name is not needed), the home page's form puts it in the
address, and every link the casebook draws carries it on (`link_query`). A page without a name
can still be played, but nothing it does is recorded (see `casebook.selfstudy.study`).

A name is text from a URL, so it is checked and bounded here (`clean_name`) and escaped wherever
it is shown: 1 to `MAX_NAME` characters after Unicode NFC normalisation and whitespace folding;
letters, marks, digits, spaces and `. - ' _` only, with at least one letter or digit. Names are
matched exactly as cleaned (so "Ana" and "ana" are two learners).

Voila hands a kernel its page's query string in the environment (`QUERY_STRING`) when it starts
the kernel for the request. A preheated kernel is started before any request, so it must wait
for Voila to send the request's details over its `voila/query/<kernel id>` websocket: that is
what `voila.utils.get_query_string()` does, but importing `voila.utils` loads all of Voila,
jupyter_server and nbconvert into the kernel (about 48 MB and 3 s per kernel, measured), so
`page_query` speaks the same few lines of protocol itself, with `websockets` alone.
"""

from __future__ import annotations

import functools
import logging
import os
import unicodedata
from urllib.parse import parse_qs, quote

from casebook.content.models import Level
from casebook.errors import CasebookError

log = logging.getLogger(__name__)

PARAM = "learner"
LEVEL_PARAM = "level"  # "Which best describes you?": who the feedback is worded for
LEVELS: tuple[Level, ...] = ("student", "resident", "attending")
LEVEL_LABELS = {"student": "Medical student", "resident": "Resident", "attending": "Attending"}
MAX_NAME = 40
PUNCTUATION = frozenset(" .-'_")
OPEN_TIMEOUT = 5  # seconds to reach Voila's request-info websocket, as voila.utils allows


class NameRejected(CasebookError):
    """A display name that cannot be used; `str()` says why, in words a learner can act on."""


def _allowed(char: str) -> bool:
    return char in PUNCTUATION or unicodedata.category(char)[0] in "LMN"


def clean_name(raw: str) -> str:
    """The display name to store for `raw`, or NameRejected saying what is wrong with it."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not name:
        raise NameRejected("Please type a name: it cannot be empty.")
    if len(name) > MAX_NAME:
        raise NameRejected(f"A name has at most {MAX_NAME} characters; this one has {len(name)}.")
    refused = sorted({c for c in name if not _allowed(c)})
    if refused:
        shown = " ".join(unicodedata.name(c, f"U+{ord(c):04X}") if not c.isprintable() else c
                         for c in refused[:8])
        raise NameRejected("A name may hold letters, digits, spaces and . - ' _ only, "
                           f"not: {shown}")
    if not any(unicodedata.category(c)[0] in "LN" for c in name):
        raise NameRejected("A name needs at least one letter or digit.")
    return name


def learner_from_query(query: str | None) -> str | None:
    """The cleaned `learner` of a query string; None when there is none; NameRejected if bad.

    Only the first `learner=` counts; a present but empty one is rejected, since it comes from
    a form submitted blank.
    """
    values = parse_qs(query or "", keep_blank_values=True).get(PARAM)
    if not values:
        return None
    return clean_name(values[0])


def level_from_query(query: str | None) -> Level | None:
    """The `level` of a query string if it is one of `LEVELS`; anything else is ignored.

    A level only words the feedback, so a wrong one is not worth an error: it is dropped."""
    values = parse_qs(query or "").get(LEVEL_PARAM)
    value = values[0] if values else None
    return value if value in LEVELS else None  # type: ignore[return-value]


def link_query(name: str | None, level: str | None = None) -> str:
    """What to append to a casebook link so the next page knows its learner and their level
    ('' if neither)."""
    parts = [f"{PARAM}={quote(name, safe='')}"] if name else []
    parts += [f"{LEVEL_PARAM}={level}"] if level in LEVELS else []
    return "?" + "&".join(parts) if parts else ""


@functools.cache
def page_query() -> str:
    """This page's query string; waits, in a preheated kernel, until a page has asked for it.

    Cached: Voila sends a kernel its request once, so a second wait would never end.
    """
    if os.environ.get("VOILA_PREHEAT", "False") == "True":
        _wait_for_request()
    return os.environ.get("QUERY_STRING", "")


def _request_info_url() -> str:
    """The websocket voila.utils.wait_for_request reads, built from the same variables."""
    protocol = os.getenv("VOILA_WS_PROTOCOL", "ws")
    host = os.getenv("VOILA_APP_IP", "127.0.0.1")
    port = os.getenv("VOILA_APP_PORT", "8866")
    base = os.getenv("VOILA_WS_BASE_URL", os.getenv("VOILA_SERVER_URL", "/"))
    return f"{protocol}://{host}:{port}{base}voila/query/{os.getenv('VOILA_KERNEL_ID')}"


def _wait_for_request() -> None:
    """Put the request's details (QUERY_STRING, ...) into os.environ once Voila sends them.

    Run in a thread with its own event loop: the kernel's loop is busy running this cell.
    If the websocket cannot be reached the page is treated as having no query (anonymous).
    """
    import asyncio
    import json
    import threading

    import websockets

    url = _request_info_url()
    received: list[str] = []

    async def receive() -> None:
        async with websockets.connect(url, open_timeout=OPEN_TIMEOUT) as socket:
            received.append(await socket.recv())

    def run() -> None:
        try:
            asyncio.run(receive())
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            log.warning("no request info from %s: %s", url, exc)

    thread = threading.Thread(target=run, name="casebook-request-info")
    thread.start()
    thread.join()
    if received:
        os.environ.update({str(k): str(v) for k, v in json.loads(received[0]).items()})
