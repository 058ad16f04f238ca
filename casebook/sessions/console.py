"""The instructor's page in a class session (notebooks/instructor/session.ipynb, served apart).

The page opens a session with its join code and the instructor key that `casebook session new`
printed (checked against the stored hash, `sessions.authenticate`); from then on it can also
start new sessions, on any case, under the same key. On the instructors' server, which always
asks for a login (casebook/serve/config/voila.py), the signed-in instructor is the authority:
the notebook builds the console with `signed_in=True`, and the page starts a session on a case,
or reopens a running one, with no code or key typed.

It moves the room (open voting, close, re-vote, reveal, next stage, and end after a
confirmation), shows who joined and a live histogram of the open stage's votes, and draws the
report (tables, a matplotlib figure, CSV downloads). Before the reveal it marks no option as
the guideline's step or harmful, and hides the concordance figures, unless the instructor
turns on "show the key on my screen" (off on every new page): the projector shows the
presenter view (`casebook.sessions.presenter`), this screen may be seen by the room too.
Stable CSS classes for tests: `cb-console-code`, `cb-console-key`, `cb-console-open`,
`cb-start-case`, `cb-start-session`, `cb-console-running`, `cb-console-reopen`,
`cb-console-message`, `cb-console-title`,
`cb-console-people`, `cb-console-stage`, `cb-action-<open|close|revote|reveal|next|end>`,
`cb-end-confirm`, `cb-end-cancel`, `cb-console-show-key`, `cb-histogram`, `cb-console-stats`,
`cb-report-button`, `cb-report`, `cb-new-case`, `cb-new-session`.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING

import ipywidgets as w

from casebook.content.loading import Library, load_library
from casebook.errors import CasebookError
from casebook.records import store
from casebook.rules import measures
from casebook.rules.scoring import StageKey, answer_key
from casebook.rules.validation import validate
from casebook.sessions import machine as sessions
from casebook.sessions import report as session_report
from casebook.sessions import room
from casebook.sessions.learner import tally_html
from casebook.sessions.polling import POLL_SECONDS, Poller
from casebook.ui.markup import error_html, notice_html
from casebook.ui.render import render

if TYPE_CHECKING:
    from casebook.records.database import Engine

log = logging.getLogger(__name__)

ACTIONS = {"open": "Open voting", "close": "Close voting", "revote": "Re-vote (round 2)",
           "reveal": "Reveal the answer", "next": "Next stage", "end": "End session"}


def _classed(widget: w.Widget, css: str) -> w.Widget:
    widget.add_class(css)
    return widget


def _show(widget: w.Widget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


def _csv_link(name: str, text: str) -> str:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return render("sessions/csv_link.html.j2", name=name, data=data)


class InstructorConsole(w.VBox):
    """The instructor's session page. `url` (the database; default CASEBOOK_DB) is its value;
    nothing touches the database before the instructor opens a session."""

    def __init__(self, url: str | None = None, library: Library | None = None,
                 poll_every: float = POLL_SECONDS, signed_in: bool = False):
        """`signed_in`: the page was served to an instructor who logged in (the instructors'
        server), so sessions are started and reopened without a key."""
        super().__init__()
        self.url = url
        self._signed_in = signed_in
        self._library = library or load_library()
        self._cases = sorted(measures.playable(self._library, validate(self._library)))
        self._engine: Engine | None = None
        self._key: str | None = None  # kept in the kernel only, to start further sessions
        self._state: sessions.SessionState | None = None
        self._keys: list[StageKey] = []
        self._poller = Poller(self.poll, poll_every)
        self._login = self._login_row()
        self._message = _classed(w.HTML(), "cb-console-message")
        self._room = self._room_box()
        _show(self._room, False)
        self.children = [_classed(w.HTML(notice_html()), "cb-notice"), self._login,
                         self._message, self._room]
        if signed_in:
            self._list_running()

    def _login_row(self) -> w.Widget:
        style = {"description_width": "initial"}
        self._code = _classed(w.Text(description="Join code", style=style), "cb-console-code")
        self._key_box = _classed(w.Password(description="Instructor key", style=style),
                                 "cb-console-key")
        self._open = _classed(w.Button(description="Open session", button_style="primary"),
                              "cb-console-open")
        self._open.on_click(lambda _b: self.open_session(self._code.value, self._key_box.value))
        self._running = _classed(w.Dropdown(description="Running session", style=style),
                                 "cb-console-running")
        reopen = _classed(w.Button(description="Reopen it"), "cb-console-reopen")
        reopen.on_click(lambda _b: self._running.value and self.reopen(self._running.value))
        self._start_case = _classed(w.Dropdown(options=self._cases, description="Case"),
                                    "cb-start-case")
        start = _classed(w.Button(description="Start a session", button_style="primary"),
                         "cb-start-session")
        start.on_click(lambda _b: self.new_session(self._start_case.value))
        signed = w.VBox([w.HBox([self._start_case, start]), w.HBox([self._running, reopen])])
        _show(signed, self._signed_in)
        intro = "console_signed_in" if self._signed_in else "console_login"
        return w.VBox([w.HTML(render(f"sessions/{intro}.html.j2")),
                       signed, w.HBox([self._code, self._key_box, self._open])])

    def _room_box(self) -> w.Widget:
        self._title = _classed(w.HTML(), "cb-console-title")
        self._people = _classed(w.HTML(), "cb-console-people")
        self._stage = _classed(w.HTML(), "cb-console-stage")
        self._buttons = {a: _classed(w.Button(description=label), f"cb-action-{a}")
                         for a, label in ACTIONS.items()}
        for action, button in self._buttons.items():
            button.on_click(lambda _b, a=action: self.act(a) if a != "end" else self._confirm(True))
        self._ending = self._end_row()
        self._show_key = _classed(w.Checkbox(value=False, indent=False,
                                             description="Show the key on my screen"),
                                  "cb-console-show-key")
        self._show_key.observe(lambda _c: self.poll(), names="value")
        self._histogram = _classed(w.HTML(), "cb-histogram")
        self._stats = _classed(w.HTML(), "cb-console-stats")
        self._report = _classed(w.HTML(), "cb-report")
        report = _classed(w.Button(description="Show the report"), "cb-report-button")
        report.on_click(lambda _b: self.show_report())
        self._new_case = _classed(w.Dropdown(options=self._cases, description="Case"),
                                  "cb-new-case")
        new = _classed(w.Button(description="Start a new session"), "cb-new-session")
        new.on_click(lambda _b: self.new_session(self._new_case.value))
        return w.VBox([self._title, self._people, self._stage,
                       w.HBox(list(self._buttons.values())), self._ending, self._show_key,
                       self._histogram, self._stats,
                       report, self._report, w.HBox([self._new_case, new])])

    def _end_row(self) -> w.Widget:
        """End asks once more: a session ended cannot be reopened."""
        sure = _classed(w.Button(description="End now", button_style="danger"), "cb-end-confirm")
        sure.on_click(lambda _b: self._confirm(False) or self.act("end"))
        cancel = _classed(w.Button(description="Cancel"), "cb-end-cancel")
        cancel.on_click(lambda _b: self._confirm(False))
        row = w.HBox([w.HTML("<strong>End the session for everyone?</strong>"), sure, cancel])
        _show(row, False)
        return row

    def _confirm(self, asking: bool) -> None:
        _show(self._ending, asking)

    # --- what the instructor does ------------------------------------------------------------

    def open_session(self, code: str, key: str) -> bool:
        """Open the session if `key` is its instructor key; the reason shown if not."""
        try:
            self._engine = self._engine or store.connect(self.url)
            state = sessions.authenticate(self._engine, code, key)
        except CasebookError as exc:
            return self._fail(exc)
        self._key, self._key_box.value = key, ""
        return self._switch(state)

    def new_session(self, case_id: str) -> bool:
        """Start a session on `case_id` under the key this page was opened with (signed in: a
        fresh key, kept in this kernel only)."""
        case = self._library.cases.get(case_id)
        if self._signed_in and self._key is None:
            self._key = sessions.new_key()
        if self._key is None or case is None or case_id not in self._cases:
            return self._fail(CasebookError("Open a session first, then choose a case."))
        try:
            self._engine = self._engine or store.connect(self.url)
            state = sessions.create(self._engine, case, self._key)
        except CasebookError as exc:
            return self._fail(exc)
        return self._switch(state)

    def reopen(self, code: str) -> bool:
        """A signed-in instructor's page takes over a running session (after a reload)."""
        if not self._signed_in:
            return self._fail(CasebookError("Type the session's join code and key."))
        try:
            self._engine = self._engine or store.connect(self.url)
            state = sessions.find(self._engine, code)
        except CasebookError as exc:
            return self._fail(exc)
        self._key = self._key or sessions.new_key()  # for further sessions from this page
        return self._switch(state)

    def _list_running(self) -> None:
        try:
            self._engine = self._engine or store.connect(self.url)
            found = sessions.running(self._engine)
        except CasebookError as exc:
            self._fail(exc)
            return
        self._running.options = [(f"{s.join_code}: {s.case_id}", s.join_code) for s in found]

    def act(self, action: str) -> bool:
        """Move the room: one of ACTIONS, refused if the session moved meanwhile."""
        if self._state is None:
            return False
        try:
            sessions.advance(self._engine, self._state, action, [k.stage for k in self._keys])
        except CasebookError as exc:
            self._fail(exc)
            self.poll()
            return False
        self._message.value = ""
        self.poll()
        return True

    def show_report(self) -> None:
        """Tables, the figure and the CSV files of the session so far."""
        try:
            report = session_report.build(self._engine, self._state.join_code, self._library)
        except CasebookError as exc:
            self._fail(exc)
            return
        links = [_csv_link(name, text) for name, text in session_report.csv_files(report).items()]
        self._report.value = render("sessions/console_report.html.j2",
                                    report_html=session_report.report_html(report),
                                    plot_html=session_report.report_svg(report), links_html=links)

    # --- what the page shows -----------------------------------------------------------------

    def _fail(self, exc: CasebookError) -> bool:
        log.warning("session console: %s", exc)
        self._message.value = error_html(str(exc))
        return False

    def _switch(self, state: sessions.SessionState) -> bool:
        case = self._library.cases.get(state.case_id)
        guideline = self._library.guideline_for(case) if case is not None else None
        if case is None or guideline is None:
            return self._fail(CasebookError(f"The case {state.case_id!r} of session "
                                            f"{state.join_code} is not in the content."))
        self._state, self._case, self._keys = state, case, answer_key(guideline, case)
        self._message.value, self._report.value = "", ""
        _show(self._login, False)
        _show(self._room, True)
        self.poll()
        self._poller.start()
        return True

    def poll(self) -> bool:
        """Read the session, who joined and the open stage's votes once, and show them."""
        try:
            state = sessions.state(self._engine, self._state.id)
            names = room.nicknames(self._engine, state.id)
            votes = room.votes(self._engine, state.id, state.stage_id)
        except CasebookError as exc:
            log.warning("session %s not read: %s", self._state.join_code, exc)
            self._message.value = error_html("Lost contact with the session; trying again…")
            return True
        self._state = state
        self._render(state, names, votes)
        return not state.ended

    def _render(self, state: sessions.SessionState, names: list[str],
                votes: list[room.Vote]) -> None:
        self._title.value = render("sessions/console_title.html.j2", join_code=state.join_code,
                                   title=self._case.title)
        self._people.value = render("sessions/console_people.html.j2", names=names)
        stages = [k.stage for k in self._keys]
        for action, button in self._buttons.items():
            button.disabled = not state.allows(action)
        last = state.stage_id == stages[-1]
        self._buttons["next"].description = "Finish (end session)" if last else "Next stage"
        if state.ended:
            self._stage.value = render("sessions/console_stage.html.j2", stage=None)
            return
        number = stages.index(state.stage_id) + 1
        stage = self._case.stage(state.stage_id)
        self._stage.value = render("sessions/console_stage.html.j2", stage=stage, number=number,
                                   total=len(stages), phase=state.phase, round=state.round)
        key = self._keys[number - 1]
        tallies = [measures.tally(votes, key, r) for r in range(1, state.round + 1)]
        marked = self._show_key.value or measures.key_shown_to_room(state.phase)
        self._histogram.value = "".join(tally_html(key, t, show_key=marked) for t in tallies)
        self._stats.value = "".join(self._stats_html(t) for t in tallies) if marked else ""

    @staticmethod
    def _stats_html(t: room.Tally) -> str:
        share = "-" if t.share is None else f"{t.share:.0%}"
        return render("sessions/console_stats.html.j2", t=t, share=share)

    def close(self) -> None:
        self._poller.stop()
        super().close()


def session_console(url: str | None = None, signed_in: bool = False) -> InstructorConsole:
    """The instructor's session page (what notebooks/instructor/session.ipynb shows, with
    `signed_in`: only the instructors' server, which asks for a login, serves it)."""
    return InstructorConsole(url, signed_in=signed_in)
