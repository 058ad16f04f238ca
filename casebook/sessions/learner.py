"""A class session on a learner's page: the screen that follows the instructor (the way in from
a case app, `JoinBox` and `offer_session`, is in `casebook.sessions.joining`, re-exported here).

Each Voila page runs its own kernel, so the room is followed through the database: the learner's
page reads the session's row about once a second (`casebook.sessions.polling.Poller`, stopped when the
widget closes or the session ends) and shows what the row says.
Nothing of the answer key, and nothing of another learner, reaches a learner's widgets before
the reveal: the form carries the options' labels only, a vote is acknowledged only once it is
recorded, and verdicts, rationales and the room's tally are put into widgets after the reveal.
The tally never carries a name, and is shown only when `measures.tally_shown_to_learners`
allows (after the reveal, once `measures.ROOM_MIN` learners have voted).

SQLAlchemy and the session modules load when a learner clicks Join, so a case app stays light.
Stable CSS classes for tests: `cb-join-code`, `cb-join-nickname`, `cb-join`, `cb-join-message`,
`cb-room-who`, `cb-room-status`, `cb-room-ack`, `cb-feedback`, `cb-room-tally`, `cb-summary`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import ipywidgets as w

from casebook.errors import CasebookError
from casebook.rules import measures
from casebook.rules.scoring import CaseResult, StageKey, max_choices
from casebook.sessions.polling import POLL_SECONDS, Poller
from casebook.ui.markup import (
    case_header_html,
    case_review_line,
    error_html,
    feedback_html,
    notice_html,
    summary_html,
    vignette_html,
)
from casebook.ui.player import StageForm
from casebook.ui.render import render

if TYPE_CHECKING:
    from casebook.content.models import Case, Guideline
    from casebook.records.database import Engine
    from casebook.records.sessions import Participant
    from casebook.rules.measures import Tally
    from casebook.rules.play import Submission
    from casebook.sessions.machine import SessionState

log = logging.getLogger(__name__)

LOST = "Lost contact with the session; trying again…"


def _classed(widget: w.Widget, css: str) -> w.Widget:
    widget.add_class(css)
    return widget


def tally_html(key: StageKey, tally: Tally, show_key: bool) -> str:
    """The votes per option as bars; with `show_key`, the guideline's steps and harms marked."""
    rows = []
    for option in key.options:
        count = tally.counts[option.option]
        rows.append((option, count, count / tally.voters if tally.voters else 0.0))
    return render("sessions/tally.html.j2", tally=tally, rows=rows, show_key=show_key)


def _rejoin_query(code: str, participant: Participant) -> str:
    from urllib.parse import urlencode

    if not participant.rejoin_token:
        return ""
    return "?" + urlencode({"session": code, "rejoin": participant.rejoin_token})


class RoomFollower(w.VBox):
    """A learner's screen in a class session: the room's stage, Submit while voting is open,
    feedback after the reveal. `play` (a `room.RoomPlay`, recording each vote) is its value."""

    def __init__(self, engine: Engine, participant: Participant, case: Case,
                 guideline: Guideline, state: SessionState, poll_every: float = POLL_SECONDS):
        from casebook.sessions.room import RoomPlay

        super().__init__()
        self.play = RoomPlay(case, guideline, recorder=self._record)
        self._engine, self._participant, self._state = engine, participant, state
        self._form: StageForm | None = None
        self._form_for: tuple[str | None, int] | None = None
        self._voted: set[tuple[str, int]] = set()
        self._revealed: dict[str, int] = {}  # stage -> round whose answer was revealed
        self._status = _classed(w.HTML(), "cb-room-status")
        self._ack = _classed(w.HTML(), "cb-room-ack")
        self._feedback = _classed(w.HTML(), "cb-feedback")
        self._tally = _classed(w.HTML(), "cb-room-tally")
        self._summary = _classed(w.HTML(), "cb-summary")
        self._forms = w.VBox()
        self.children = [
            _classed(w.HTML(notice_html(case_review_line(case, guideline))), "cb-notice"),
            _classed(w.HTML(render("sessions/room_who.html.j2", join_code=state.join_code,
                                   nickname=participant.nickname,
                                   rejoin=_rejoin_query(state.join_code, participant))),
                     "cb-room-who"),
            w.HTML(case_header_html(case, guideline)), w.HTML(vignette_html(case)),
            self._status, self._forms, self._ack, self._feedback, self._tally, self._summary]
        self._poller = Poller(self.poll, poll_every)
        self._restore()
        self._apply(state)
        if (state.stage_id, state.round) in self._voted:
            self._ack.value = render("sessions/vote_kept.html.j2", round=state.round)

    def _restore(self) -> None:
        """A rejoining page: the participant's votes replayed (scored, never recorded again),
        so a voted round stays voted and the reveal shows the feedback earned."""
        from casebook.rules.scoring import score_stage
        from casebook.sessions.room import own_votes

        for stage_id, round_, choices, confidence in own_votes(self._engine, self._participant):
            if self.play.case.stage(stage_id) is None:
                continue
            self._voted.add((stage_id, round_))
            self.play.results[stage_id] = score_stage(self.play.key(stage_id), list(choices))
            self.play.confidence[stage_id] = confidence

    def start(self) -> bool:
        """Follow the room from now on (False without a running event loop: call `poll`)."""
        return self._poller.start()

    @property
    def following(self) -> bool:
        return self._poller.running

    def poll(self) -> bool:
        """Read the session once and show it; False once it has ended (polling stops)."""
        from casebook.records import store
        from casebook.sessions import machine as sessions

        try:
            state = sessions.state(self._engine, self._state.id)
        except (store.StoreError, sessions.SessionError) as exc:
            log.warning("session %s not read: %s", self._state.join_code, exc)
            self._status.value = render("sessions/room_status.html.j2", text=LOST, live=False)
            return True
        self._apply(state)
        return not state.ended

    def _apply(self, state: SessionState) -> None:
        was_voting = self._state.phase == "voting"
        self._state = state
        if state.ended:
            self._end()
            return
        self.play.stage_id = state.stage_id
        if self._form_for != (state.stage_id, state.round):
            self._new_form(state)
        elif state.phase == "voting" and not was_voting:
            self.play.shown()
        self._form.regate()
        self._status.value = render("sessions/room_status.html.j2",
                                    text=self._status_text(state), live=True)
        if state.phase == "revealed" and self._revealed.get(state.stage_id) != state.round:
            self._reveal(state)

    def _new_form(self, state: SessionState) -> None:
        if self._form is not None and self._form_for[0] != state.stage_id:
            for widget in (self._ack, self._feedback, self._tally):
                widget.value = ""
        if self._form is not None:
            self._form.close()
        stages = self.play.case.stages
        stage = self.play.current
        self._form = StageForm(self.play.guideline, stage, stages.index(stage) + 1, len(stages),
                               self._vote, gate=self._voting_open)
        self._form_for = (state.stage_id, state.round)
        self._forms.children = [self._form]
        self._ack.value = ""
        self.play.shown()

    def _voting_open(self) -> bool:
        s = self._state
        return (not s.ended and s.phase == "voting" and self._form_for == (s.stage_id, s.round)
                and (s.stage_id, s.round) not in self._voted)

    def _status_text(self, s: SessionState) -> str:
        voted = (s.stage_id, s.round) in self._voted
        again = " (re-vote after the discussion)" if s.round == 2 else ""
        return {
            "waiting": "Waiting for your instructor to open voting on this stage.",
            "voting": ("Voting is open; you have voted." if voted else
                       f"Voting is open{again}: choose, then Submit."),
            "closed": "Voting is closed. The answer comes when your instructor reveals it.",
            "revealed": "The guideline's answer is revealed.",
        }[s.phase]

    def _record(self, submission: Submission) -> None:
        from casebook.sessions.room import record_vote

        record_vote(self._engine, self._participant, submission, self._form_for[1])

    def _vote(self, chosen: list[str], confidence: str | None) -> None:
        stage_id, round_ = self._form_for
        from casebook.sessions.room import SessionError, check_choices

        if (stage_id, round_) in self._voted:  # a replayed Submit: never recorded twice
            self._ack.value = render("sessions/vote_kept.html.j2", round=round_)
            return
        try:
            check_choices(self.play.current, chosen)
            self.play.submit(stage_id, chosen, confidence)  # recorded before it returns
        except SessionError as exc:  # voting closed meanwhile, or a second vote
            self._ack.value = error_html(str(exc))
            return
        except CasebookError as exc:
            log.warning("vote at %s/%s not recorded: %s", self._state.join_code, stage_id, exc)
            self._ack.value = error_html("Your vote was not recorded; please Submit again.")
            return
        self._voted.add((stage_id, round_))
        self._form.lock()
        self._ack.value = render("sessions/vote_recorded.html.j2", round=round_)
        self._status.value = render("sessions/room_status.html.j2",
                                    text=self._status_text(self._state), live=True)

    def _reveal(self, state: SessionState) -> None:
        from casebook.records import store
        from casebook.sessions import machine as sessions
        from casebook.sessions import room

        stage = self.play.current
        key = self.play.key(stage.id)
        result = self.play.results.get(stage.id)
        self._revealed[stage.id] = state.round
        self._feedback.value = (
            feedback_html(self.play.guideline, result, max_choices(stage), key, stage) if result else
            render("sessions/not_voted.html.j2", recommended=key.recommended))
        try:
            tally = measures.tally(room.votes(self._engine, state.id, stage.id, named=False),
                                   key, state.round)
        except (store.StoreError, sessions.SessionError) as exc:
            log.warning("tally of %s/%s not read: %s", state.join_code, stage.id, exc)
            return
        self._tally.value = (render("sessions/room_tally.html.j2",
                                    tally_html=tally_html(key, tally, True))
                             if measures.tally_shown_to_learners(state.phase, tally) else
                             render("sessions/room_tally.html.j2", tally_html=None,
                                    room_min=measures.ROOM_MIN))

    @property
    def rejoin_query(self) -> str:
        """What ends this page's address so that a reload comes back as this participant."""
        return _rejoin_query(self._state.join_code, self._participant)

    def _end(self) -> None:
        self._poller.stop()
        if self._form is not None:
            self._form.close()
            self._form, self._forms.children = None, []
        play = self.play
        shown = tuple(play.results[s.id] for s in play.case.stages
                      if s.id in play.results and s.id in self._revealed)
        result = CaseResult(play.case.id, play.guideline.id, play.guideline.version, shown)
        self._status.value = render("sessions/room_ended.html.j2")
        self._summary.value = summary_html(play.case, play.guideline, result, play.confidence, {})
        self._ack.value = self._feedback.value = self._tally.value = ""

    def close(self) -> None:
        self._poller.stop()
        if self._form is not None:
            self._form.close()
        super().close()


# The way in, re-exported: `casebook.apps` and the tests name them from here.
from casebook.sessions.joining import JoinBox, offer_session  # noqa: E402

__all__ = ["JoinBox", "RoomFollower", "offer_session", "tally_html"]
