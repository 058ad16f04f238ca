"""The way into a class session from a case app: a join code (filled in from the join address
`?session=CODE`), an optional nickname, and Join (or Enter); and the way back in, `?rejoin=TOKEN`,
for a page that reloaded or lost its kernel.

One page is one participant: a JoinBox joins once, and refuses every further Join the page
sends (a click is one comm message away, whatever the button shows). SQLAlchemy and the session
modules load at the first Join, so a case app stays light. The screen that follows the room
is `casebook.sessions.learner.RoomFollower`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as w

from casebook.errors import CasebookError
from casebook.sessions.polling import POLL_SECONDS
from casebook.ui.markup import error_html
from casebook.ui.player import CasePlayer
from casebook.ui.render import render

if TYPE_CHECKING:
    from casebook.records.database import Engine
    from casebook.sessions.learner import RoomFollower

log = logging.getLogger(__name__)


def _classed(widget: w.Widget, css: str) -> w.Widget:
    widget.add_class(css)
    return widget


def _on_enter(text: w.Text, callback: Callable[[], None]) -> None:
    """Call `callback` when Enter is pressed in `text`: the page sends a `submit` event (the
    value is synced as typed), which `Text.on_submit`, deprecated in ipywidgets 8, also reads."""
    text.on_msg(lambda _w, content, _b: callback() if content.get("event") == "submit" else None)


class JoinBox(w.VBox):
    """The way into a class session from a case app: a join code, a nickname (optional: one is
    made up), and Join (or Enter). `url` (the database; default CASEBOOK_DB) is the one public
    value. One join per page: once joined, every further Join the page sends (a replayed click
    is one comm message away) is refused, so one page is one participant."""

    def __init__(self, url: str | None = None, poll_every: float = POLL_SECONDS,
                 code: str = ""):
        super().__init__()
        self.url = url
        self._engine: Engine | None = None  # connected at the first Join
        self._poll_every = poll_every
        self._joined: RoomFollower | None = None
        self._callbacks: list[Callable[[RoomFollower], None]] = []
        style = {"description_width": "initial"}
        self._code = _classed(w.Text(value=str(code or "")[:20], description="Join code",
                                     placeholder="e.g. K7Q2MX", style=style), "cb-join-code")
        self._nickname = _classed(w.Text(description="Nickname (optional)",
                                         placeholder="leave empty to get one", style=style),
                                  "cb-join-nickname")
        self._join = _classed(w.Button(description="Join session", tooltip="Join the class "
                                       "session your instructor is running"), "cb-join")
        self._message = _classed(w.HTML(), "cb-join-message")
        self._join.on_click(self._clicked)
        for field in (self._code, self._nickname):
            _on_enter(field, self._clicked)
        self.children = [w.HTML(render("sessions/join_intro.html.j2")),
                         w.HBox([self._code, self._nickname, self._join]), self._message]

    def on_joined(self, callback: Callable[[RoomFollower], None]) -> None:
        """Call `callback` with the learner's session screen once they have joined."""
        self._callbacks.append(callback)

    def _clicked(self, _button: w.Button | None = None) -> None:
        self._enter(self.join(self._code.value, self._nickname.value))

    def _enter(self, follower: RoomFollower | None) -> None:
        if follower is not None:
            for callback in self._callbacks:
                callback(follower)
            follower.start()

    def rejoin(self, code: str, token: str) -> RoomFollower | None:
        """Come back as the participant whose page address held `token` (a reload, a lost
        connection); None, with the join form still offered, if the token names no one."""
        return self._connect(code, lambda engine, state, case, guideline, room:
                             room.rejoin(engine, state, token), rejoining=True)

    def join(self, code: str, nickname: str) -> RoomFollower | None:
        """The learner's session screen, or None with the reason shown in `cb-join-message`."""
        from casebook.sessions import machine as sessions
        from casebook.sessions import room

        try:  # both checked before the database is touched
            sessions.normalize_code(code)
            room.clean_nickname(nickname)
        except room.SessionError as exc:
            return self._refuse(str(exc))
        return self._connect(code, lambda engine, state, case, guideline, room:
                             room.join(engine, state, nickname, case, guideline))

    def _connect(self, code: str, enter: Callable, rejoining: bool = False
                 ) -> RoomFollower | None:
        from casebook.records import store
        from casebook.rules.library import load_case
        from casebook.sessions import machine as sessions
        from casebook.sessions import room

        if self._joined is not None:
            log.warning("a second join from one page refused (session %s)",
                        self._joined._state.join_code)
            return self._refuse("This page has already joined the session.")
        try:
            sessions.normalize_code(code)  # checked before the database is touched
            engine = self._engine = self._engine or store.connect(self.url)
            state = sessions.find(engine, code)
            case, guideline, _ = load_case(state.case_id)
            participant = enter(engine, state, case, guideline, room)
        except sessions.SessionError as exc:
            return self._refuse(str(exc))
        except store.StoreError as exc:
            log.warning("joining a session failed: %s", exc)
            return self._refuse("The class session cannot be reached just now. Try again, "
                                "or tell your instructor.")
        except CasebookError as exc:  # the session's case is gone or fails validation
            log.warning("the session's case cannot be shown: %s", exc)
            return self._refuse("This session's case cannot be shown. Tell your instructor.")
        if participant is None:  # a rejoin token that names no one here
            return self._refuse("This page's rejoin link is not valid for this session; "
                                "join again.") if rejoining else None
        from casebook.sessions.learner import RoomFollower

        self._message.value = ""
        self._joined = RoomFollower(engine, participant, case, guideline, state, self._poll_every)
        self._join.disabled = self._code.disabled = self._nickname.disabled = True
        return self._joined

    def _refuse(self, message: str) -> None:
        self._message.value = error_html(message)
        return None


def offer_session(player: CasePlayer, url: str | None = None,
                  query: str | None = None) -> CasePlayer:
    """`player` with a `JoinBox` above its case; joining gives the page to the session.

    The page's address (`query`, default the page's own) may carry `session=CODE` (the join
    address a presenter screen shows: the code is filled in) and `rejoin=TOKEN` (this page's
    participant: it rejoins at once, as the same participant with the same votes)."""
    if isinstance(player, CasePlayer):
        code, token = _address(query)
        box = JoinBox(url, code=code)
        box.on_joined(player.hand_over)
        player.attach(box)
        if code and token:
            box._enter(box.rejoin(code, token))
    return player


def _address(query: str | None) -> tuple[str, str]:
    """(session code, rejoin token) from the page's query string, each '' if absent."""
    from urllib.parse import parse_qs

    if query is None:
        from casebook.selfstudy.identity import page_query

        query = page_query()
    try:
        values = parse_qs(query or "", max_num_fields=20)
    except ValueError:  # an address with more fields than any casebook link: ignored
        return "", ""
    return (values.get("session", [""])[0][:20], values.get("rejoin", [""])[0][:100])
