"""The presenter view: what the projector shows during a class session
(notebooks/instructor/presenter.ipynb, on the instructors' server, which asks for a login).

The room reads it, so it carries nothing that could steer a vote: the case stem, the current
question and its options as plain text, a large join code, the join address and a QR code of
it (drawn here by segno as inline SVG: nothing is fetched), how many joined and answered, and
an optional countdown while voting is open. The room's results come only after the reveal
(`measures.tally_shown_to_learners`: the projector is seen by learners), as a histogram with
the guideline's step and harmful choices marked (`measures.key_shown_to_room`). The controls
stay on the instructor's console (`casebook.sessions.console`); this page only follows the
session's row, polling like a learner's page (`casebook.sessions.polling`).

The join address is the learners' case page with `?session=CODE`: its base is
`CASEBOOK_PUBLIC_URL` (what phones on the room's network can reach), else the learners' server
next to this one (same host, the port below the instructors' one, as `make serve` starts them).
Stable CSS classes for tests: `cb-presenter-code`, `cb-presenter-address`, `cb-qr`,
`cb-presenter-counts`, `cb-presenter-stage`, `cb-presenter-countdown`, `cb-presenter-results`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlencode

import ipywidgets as w

from casebook.content.loading import Library, load_library
from casebook.errors import CasebookError
from casebook.records import store
from casebook.rules import measures
from casebook.rules.scoring import StageKey, answer_key
from casebook.sessions import machine as sessions
from casebook.sessions import room
from casebook.sessions.learner import tally_html
from casebook.sessions.polling import POLL_SECONDS, Poller
from casebook.ui.markup import error_html, notice_html, stage_html, vignette_html
from casebook.ui.render import render

if TYPE_CHECKING:
    from casebook.records.database import Engine

log = logging.getLogger(__name__)

HOST = re.compile(r"[A-Za-z0-9.-]{1,253}")
COUNTDOWN_MAX = 30 * 60


def _classed(widget: w.Widget, css: str) -> w.Widget:
    widget.add_class(css)
    return widget


def public_base(environ: dict[str, str] | None = None) -> str:
    """The learners' server as phones reach it: CASEBOOK_PUBLIC_URL, else the host this page
    was asked for with the port below the instructors' one."""
    env = os.environ if environ is None else environ
    configured = env.get("CASEBOOK_PUBLIC_URL", "").strip()
    if configured:
        return configured.rstrip("/") + "/"
    host = env.get("SERVER_NAME", "")
    port = env.get("SERVER_PORT", "")
    host = host if HOST.fullmatch(host) else "127.0.0.1"
    learners = int(port) - 1 if port.isdigit() and int(port) > 1 else 8866
    return f"http://{host}:{learners}/"


def join_address(base: str, case_id: str, code: str) -> str:
    """The case page that opens with the session's code filled in."""
    return (f"{base}voila/render/cases/{quote(case_id, safe='')}.ipynb?"
            + urlencode({"session": code}))


def qr_svg(address: str) -> str:
    """The address as a QR code, inline SVG drawn locally (segno)."""
    import segno

    return segno.make(address, error="m").svg_inline(
        scale=8, border=2, svgclass="cb-qr", lineclass=None, title="QR code of the join address")


class PresenterView(w.VBox):
    """The projector's page for the session with join code `code`; `url` is the database."""

    def __init__(self, code: str, url: str | None = None, library: Library | None = None,
                 poll_every: float = POLL_SECONDS, countdown: int = 0,
                 base: str | None = None):
        super().__init__()
        self.url = url
        self._library = library or load_library()
        self._countdown = max(0, min(int(countdown), COUNTDOWN_MAX))
        self._voting_since: float | None = None
        self._engine: Engine | None = None
        self._keys: list[StageKey] = []
        self._header = _classed(w.HTML(), "cb-presenter-header")
        self._counts = _classed(w.HTML(), "cb-presenter-counts")
        self._stage = _classed(w.HTML(), "cb-presenter-stage")
        self._clock = _classed(w.HTML(), "cb-presenter-countdown")
        self._results = _classed(w.HTML(), "cb-presenter-results")
        self._message = _classed(w.HTML(), "cb-presenter-message")
        self.children = [_classed(w.HTML(notice_html()), "cb-notice"), self._message,
                         self._header, self._counts, self._stage, self._clock, self._results]
        self._poller = Poller(self.poll, poll_every)
        self._state: sessions.SessionState | None = None
        self._open(code, base if base is not None else public_base())

    def _open(self, code: str, base: str) -> None:
        if not code:
            self._message.value = error_html("Open this page from the session console's "
                                             "presenter link (presenter.ipynb?session=CODE).")
            return
        try:
            self._engine = store.connect(self.url)
            state = sessions.by_code(self._engine, code)
            case = self._library.cases.get(state.case_id)
            guideline = self._library.guideline_for(case) if case is not None else None
            if case is None or guideline is None:
                raise CasebookError(f"The case {state.case_id!r} is not in the content.")
        except CasebookError as exc:
            self._message.value = error_html(str(exc))
            return
        self._state, self._case, self._guideline = state, case, guideline
        self._keys = answer_key(guideline, case)
        address = join_address(base, case.id, state.join_code)
        self._header.value = render("sessions/presenter_header.html.j2", case=case,
                                    join_code=state.join_code, address=address,
                                    qr_html=qr_svg(address), vignette_html=vignette_html(case))
        self._show(state)

    def start(self) -> bool:
        """Follow the session from now on (False without a running event loop)."""
        return self._state is not None and self._poller.start()

    def poll(self) -> bool:
        """Read the session once and show it; False once it has ended (polling stops)."""
        try:
            state = sessions.state(self._engine, self._state.id)
        except CasebookError as exc:
            log.warning("presenter %s: %s", self._state.join_code, exc)
            self._message.value = error_html("Lost contact with the session; trying again…")
            return True
        self._message.value = ""
        self._show(state)
        return not state.ended

    def _show(self, state: sessions.SessionState) -> None:
        was = self._state
        self._state = state
        if state.ended:
            self._stage.value = render("sessions/console_stage.html.j2", stage=None)
            self._clock.value = self._results.value = ""
            return
        if state.phase != "voting":
            self._voting_since = None
        elif self._voting_since is None or (was.stage_id, was.round) != (state.stage_id,
                                                                         state.round):
            self._voting_since = time.monotonic()
        stages = [k.stage for k in self._keys]
        number = stages.index(state.stage_id) + 1
        key = self._keys[number - 1]
        votes = room.votes(self._engine, state.id, state.stage_id, named=False)
        tally = measures.tally(votes, key, state.round)
        self._counts.value = render("sessions/presenter_counts.html.j2",
                                    joined=room.joined_count(self._engine, state.id),
                                    answered=tally.voters, phase=state.phase, round=state.round)
        stage = self._case.stage(state.stage_id)
        self._stage.value = render(
            "sessions/presenter_stage.html.j2", options=[o.text for o in stage.options],
            stage_html=stage_html(self._guideline, stage, number, len(stages)))
        self._clock.value = self._clock_html()
        self._results.value = self._results_html(state, key, tally)

    def _clock_html(self) -> str:
        if not self._countdown or self._voting_since is None:
            return ""
        left = max(0, self._countdown - int(time.monotonic() - self._voting_since))
        return render("sessions/presenter_countdown.html.j2", minutes=left // 60,
                      seconds=left % 60)

    @staticmethod
    def _results_html(state: sessions.SessionState, key: StageKey,
                      tally: measures.Tally) -> str:
        if not measures.key_shown_to_room(state.phase):
            return ""
        shown = measures.tally_shown_to_learners(state.phase, tally)
        return render("sessions/room_tally.html.j2", room_min=measures.ROOM_MIN,
                      tally_html=tally_html(key, tally, True) if shown else None)

    def close(self) -> None:
        self._poller.stop()
        super().close()


def presenter_view(url: str | None = None, query: str | None = None) -> PresenterView:
    """The projector's page for the session named by the page address's `?session=CODE`
    (optional `&countdown=SECONDS` while voting is open); following the session at once."""
    if query is None:
        from casebook.selfstudy.identity import page_query

        query = page_query()
    try:
        values = parse_qs(query or "", max_num_fields=10)
    except ValueError:  # more fields than the presenter link has: none of them used
        values = {}
    countdown = values.get("countdown", ["0"])[0]
    view = PresenterView(values.get("session", [""])[0][:20], url,
                         countdown=int(countdown) if countdown.isdigit() else 0)
    view.start()
    return view
