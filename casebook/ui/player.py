"""The case player: a learner's way through one case, as ipywidgets.

The answer key must not reach the browser early. ipywidgets syncs every widget's state to
the page, so option controls carry their labels only, and verdicts, rationales and points
are put into widgets only after `Play.submit` has returned them. The widgets never decide a
score: `Play` (and through it `casebook.rules.scoring`) does, and the widgets word the result.

Stable CSS classes are the hooks the browser tests use: `cb-option`, `cb-confidence`,
`cb-submit`, `cb-feedback`, `cb-score`, `cb-next`, `cb-summary`, `cb-retry`, `cb-error`,
`cb-notice` (and `cb-path` for the decision-path picture).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as w

from casebook.content.models import Guideline, Level, Stage
from casebook.errors import CasebookError, NotSaved
from casebook.rules.play import CONFIDENCE, Play
from casebook.rules.scoring import max_choices
from casebook.ui.markup import (
    DEFAULT_LEVEL,
    case_header_html,
    case_review_line,
    error_html,
    feedback_html,
    limit_html,
    notice_html,
    score_html,
    stage_html,
    summary_html,
    vignette_html,
)
from casebook.ui.pathview import path_svg
from casebook.ui.render import render

log = logging.getLogger(__name__)

SubmitHandler = Callable[[list[str], "str | None"], None]


def _classed(widget: w.Widget, css: str) -> w.Widget:
    widget.add_class(css)
    return widget


def _show(widget: w.Widget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


class ErrorScreen(w.VBox):
    """What a learner sees instead of a case that cannot be shown: the notice and the problem."""

    def __init__(self, message: str, details: Sequence[str] = ()):
        super().__init__()
        self.message = message
        self.children = [
            _classed(w.HTML(notice_html()), "cb-notice"),
            _classed(w.HTML(error_html(message, details)), "cb-error"),
        ]


class StageForm(w.VBox):
    """One stage's question: an option control per option, confidence, and Submit.

    Holds the options' labels only. Single-answer stages use a ToggleButton per option with
    exclusivity kept here; multi-answer stages a Checkbox per option with the limit kept here.
    """

    def __init__(self, guideline: Guideline, stage: Stage, number: int, total: int,
                 on_submit: SubmitHandler, gate: Callable[[], bool] | None = None):
        """`gate`, if given, says whether answers are taken now (a class session's voting is
        open): Submit works only while it holds. Call `regate` when it may have changed."""
        super().__init__()
        self.stage = stage
        self._max = max_choices(stage)
        self._on_submit = on_submit
        self._gate = gate
        self._locked = False
        self._ids = [o.id for o in stage.options]
        self._options = [self._option_control(o.text) for o in stage.options]
        self._limit = w.HTML(limit_html(self._max, len(stage.options)))
        self._confidence = _classed(w.RadioButtons(
            options=CONFIDENCE, value=None, description="How sure are you?",
            tooltip="How sure are you of this answer?",
            style={"description_width": "initial"}), "cb-confidence")
        self._submit = _classed(w.Button(description="Submit", disabled=True,
                                         button_style="primary",
                                         tooltip="Submit your answer for this stage"), "cb-submit")
        self._submit.on_click(self._submitted)
        for control in self._options:
            control.observe(self._changed, names="value")
        self.children = [w.HTML(stage_html(guideline, stage, number, total)), self._limit,
                         w.VBox(self._options), self._confidence, self._submit]

    def _option_control(self, text: str) -> w.Widget:
        layout = w.Layout(width="auto", max_width="48em", height="auto")
        if self._max == 1:
            control = w.ToggleButton(description=text, tooltip=text, layout=layout)
        else:
            control = w.Checkbox(description=text, indent=False, layout=layout)
        return _classed(control, "cb-option")

    @property
    def chosen(self) -> list[str]:
        return [i for i, c in zip(self._ids, self._options, strict=True) if c.value]

    def _changed(self, change: dict) -> None:
        if change["new"]:
            if self._max == 1:
                for control in self._options:
                    if control is not change["owner"]:
                        control.value = False
            elif len(self.chosen) > self._max:
                change["owner"].value = False
                self._limit.value = limit_html(self._max, len(self._options), over=True)
                return
        self._limit.value = limit_html(self._max, len(self._options))
        self.regate()

    def _ready(self) -> bool:
        return 1 <= len(self.chosen) <= self._max and (self._gate is None or self._gate())

    def regate(self) -> None:
        """Submit enabled if the choices are complete and the gate is open; never once locked."""
        self._submit.disabled = self._locked or not self._ready()

    def _submitted(self, _button: w.Button) -> None:
        if self._ready():  # checked here too: a page can send a click on a disabled button
            self._on_submit(self.chosen, self._confidence.value)

    def lock(self) -> None:
        """Freeze the answer once submitted."""
        self._locked = True
        for control in [*self._options, self._confidence, self._submit]:
            control.disabled = True

    def focus_first(self) -> None:
        self._options[0].focus()

    def close(self) -> None:
        for child in self._all_children():
            child.close()
        super().close()

    def _all_children(self) -> list[w.Widget]:
        boxes = [c for c in self.children if isinstance(c, w.Box)]
        return [*(c for b in boxes for c in b.children), *self.children]


class CasePlayer(w.VBox):
    """The whole case: header, vignette, each stage in turn, feedback, and the end summary.

    `play` is the one public value: the play-through state, handed in, which scores and
    records every submission. `level` ("Which best describes you?") words the feedback.
    """

    def __init__(self, play: Play, related_titles: Mapping[str, str] | None = None,
                 banner: w.Widget | None = None, link_query: str = "",
                 level: Level = DEFAULT_LEVEL):
        """`banner` goes under the notice (who is playing); `link_query` ends case links."""
        super().__init__()
        self.play = play
        self.level = level
        self._related = dict(related_titles or {})
        self._link_query = link_query
        case, guideline = play.case, play.guideline
        self._form: StageForm | None = None
        self._forms = w.VBox()
        self._feedback = _classed(w.HTML(), "cb-feedback")
        self._score = _classed(w.HTML(), "cb-score")
        self._error = _classed(w.HTML(), "cb-error")
        self._next = _classed(w.Button(description="Next stage", button_style="info"), "cb-next")
        self._summary = _classed(w.HTML(), "cb-summary")
        self._path = _classed(w.HTML(), "cb-path")
        self._retry = _classed(w.Button(description="Try again", tooltip="Start this case again"),
                               "cb-retry")
        self._next.on_click(self._next_clicked)
        self._retry.on_click(self._retry_clicked)
        self._header = w.HTML(case_header_html(case, guideline))
        self.children = [
            _classed(w.HTML(notice_html(case_review_line(case, guideline))), "cb-notice"),
            *([banner] if banner is not None else []),
            self._header, w.HTML(vignette_html(case)),
            self._forms, self._feedback, self._error, self._next, self._score,
            self._summary, self._path, self._retry,
        ]
        self._show_current()

    def attach(self, widget: w.Widget) -> None:
        """Show `widget` above the case, under the notice and banner: a way from this page to
        something else (joining a class session, see `casebook.sessions.learner`)."""
        at = self.children.index(self._header)
        self.children = [*self.children[:at], widget, *self.children[at:]]

    def hand_over(self, widget: w.Widget) -> None:
        """Give the page to `widget` (the class session the learner joined): this case's form
        closes and `widget`, which carries its own notice, is all the page shows."""
        self._replace_form(None)
        self.children = [widget]

    def _show_current(self) -> None:
        for widget in (self._feedback, self._error, self._summary, self._path):
            widget.value = ""  # nothing earned earlier lingers in synced state
            _show(widget, False)
        _show(self._next, False)
        _show(self._retry, False)
        self._score.value = score_html(self.play.result(), len(self.play.case.stages))
        _show(self._score, bool(self.play.results))
        stage = self.play.current
        if stage is None:
            self._show_summary()
            return
        number = self.play.case.stages.index(stage) + 1
        self._replace_form(StageForm(self.play.guideline, stage, number,
                                     len(self.play.case.stages), self._submitted))
        self.play.shown()

    def _replace_form(self, form: StageForm | None) -> None:
        if self._form is not None:
            self._form.close()
        self._form = form
        self._forms.children = [form] if form is not None else []
        if form is not None:
            form.focus_first()

    def _submitted(self, chosen: list[str], confidence: str | None) -> None:
        stage = self._form.stage
        try:
            result = self.play.submit(stage.id, chosen, confidence)
        except NotSaved as exc:  # the form stays open: submitting again retries
            log.warning("%s/%s not saved: %s", self.play.case.id, stage.id, exc.__cause__)
            self._error.value = error_html(str(exc))
            _show(self._error, True)
            return
        except CasebookError as exc:
            log.warning("submitting %s/%s failed: %s", self.play.case.id, stage.id, exc)
            self._error.value = error_html("Your answer could not be scored.", [str(exc)])
            _show(self._error, True)
            return
        self._form.lock()
        self._error.value = ""
        _show(self._error, False)
        self._feedback.value = feedback_html(self.play.guideline, result, max_choices(stage),
                                             self.play.key(stage.id), stage, self.level)
        self._score.value = score_html(self.play.result(), len(self.play.case.stages))
        self._next.description = "See your results" if self.play.done else "Next stage"
        for widget in (self._feedback, self._score, self._next):
            _show(widget, True)
        self._next.focus()

    def _next_clicked(self, _button: w.Button) -> None:
        self._show_current()

    def _show_summary(self) -> None:
        play, case = self.play, self.play.case
        self._replace_form(None)
        try:
            keys = [play.key(s.id) for s in case.stages]
        except CasebookError as exc:
            log.warning("the summary of %s could not be drawn: %s", case.id, exc)
            self._error.value = error_html("The summary could not be shown.", [str(exc)])
            _show(self._error, True)
            return
        chosen = {r.stage: [o.option for o in r.chosen] for r in play.results.values()}
        self._summary.value = summary_html(case, play.guideline, play.result(),
                                           play.confidence, self._related, self._link_query)
        self._path.value = render("decision_path.html.j2",
                                  svg_html=path_svg(play.guideline, case, keys, chosen))
        for widget in (self._summary, self._path, self._retry, self._score):
            _show(widget, True)
        self._retry.focus()

    def _retry_clicked(self, _button: w.Button) -> None:
        self.play.restart()
        self._show_current()
