"""Self-study: a learner's own attempts at a case, resumed where they left off, every answer
saved before its feedback shows; and what the home page knows of its visitor.

Decisions (the learner is named by the page's address, see `casebook.selfstudy.identity`):

- A named page records every answer under that learner (`AttemptRecorder`); opening the case
  again resumes the latest unfinished attempt (`store.open_attempt`, `store.answers`,
  `Play.restore`).
- A page with no name, or with a name that is refused, is played but records nothing: there is
  no one to resume for or to show progress to, and giving a name is the learner's choice to be
  tracked. The page says so and points to the home page to choose a name.
- An attempt is opened at the first answer, not when the page opens, so pages opened and left
  leave no empty attempts. "Try again" (`Play.restart`) shows up as an answer to a stage already
  answered in the attempt, and opens a new attempt: every attempt is kept.
- When a write fails the learner is told "Your answer was not saved, try again." (`NotSaved`,
  shown in `cb-error` with no feedback) and the detail is logged; what was recorded stays.

The store (SQLAlchemy) is imported only for named pages, so an anonymous case app stays light.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from casebook.content.loading import Library
from casebook.content.models import Case, Guideline, Level
from casebook.errors import CasebookError, NotSaved
from casebook.rules.play import Play, Submission
from casebook.selfstudy.identity import (
    LEVELS,
    NameRejected,
    clean_name,
    learner_from_query,
    level_from_query,
    link_query,
    page_query,
)
from casebook.ui.markup import DEFAULT_LEVEL
from casebook.ui.player import CasePlayer
from casebook.ui.render import render

if TYPE_CHECKING:
    from casebook.selfstudy.progress import Progress

log = logging.getLogger(__name__)

NOT_SAVED = "Your answer was not saved, try again."
UNWRITABLE = ("Your answer was not saved: the casebook cannot save any answers just now. "
              "Please tell whoever runs it; once it is fixed, Submit again.")
CONFLICT = ("Your answer was not saved: this stage was already answered, perhaps in another "
            "window. Reload the page to carry on from your saved answers.")


class AttemptRecorder:
    """`Play.recorder` for a named learner: each submission written into their attempt."""

    def __init__(self, learner: str, case: Case, guideline: Guideline, engine=None):
        self.learner, self.case, self.guideline = learner, case, guideline
        self.engine = engine  # connected on first need when None
        self.attempt_id: str | None = None
        self.answered: set[str] = set()  # stages recorded in the current attempt

    def resume(self, attempt_id: str, stages: Collection[str]) -> None:
        self.attempt_id, self.answered = attempt_id, set(stages)

    def __call__(self, submission: Submission) -> None:
        from casebook.records import store

        try:
            if self.engine is None:
                self.engine = store.connect()
            if self.attempt_id is None or submission.stage_id in self.answered:
                learner_id = store.ensure_learner(self.engine, self.learner)
                self.resume(store.start_attempt(self.engine, learner_id, self.case,
                                                self.guideline), ())
            store.record(self.engine, self.attempt_id, submission)
        except store.StoreError as exc:  # the player logs the cause
            message = (CONFLICT if isinstance(exc, store.SubmissionConflict) else
                       UNWRITABLE if isinstance(exc, store.NotWritable) else NOT_SAVED)
            raise NotSaved(message) from exc
        self.answered.add(submission.stage_id)
        if self.answered >= {s.id for s in self.case.stages}:
            self.finish()

    def finish(self) -> None:
        """Mark the attempt finished; a failure is only logged (the answers are all saved)."""
        from casebook.records import store

        try:
            store.finish_attempt(self.engine, self.attempt_id)
        except store.StoreError as exc:
            log.warning("attempt %s at %s not marked finished: %s", self.attempt_id,
                        self.case.id, exc)


def page_learner(learner: str | None = None) -> tuple[str | None, str | None]:
    """(name, why refused): the learner named by `learner`, else by the page's address."""
    try:
        if learner is not None:
            return clean_name(learner), None
        return learner_from_query(page_query()), None
    except NameRejected as exc:
        return None, str(exc)


def page_level(level: str | None = None) -> Level | None:
    """The learner's level given by `level`, else by the page's address; None if neither
    names one of `LEVELS` (anything else is ignored)."""
    if level is not None:
        return level if level in LEVELS else None  # type: ignore[return-value]
    return level_from_query(page_query())


def kept_level(name: str) -> Level | None:
    """The level a named learner chose on the home page, from the records; None if none."""
    from casebook.records import store

    try:
        return store.audience(store.connect(), name)  # type: ignore[return-value]
    except store.StoreError as exc:
        log.warning("audience of %r not read: %s", name, exc)
        return None


def self_study_player(case: Case, guideline: Guideline, related_titles: Mapping[str, str],
                      learner: str | None = None, level: str | None = None) -> CasePlayer:
    """The case player for this page's learner: resumed and recording, or anonymous; its
    feedback worded for their level (the address's, else the one kept, else a resident's)."""
    name, refused = page_learner(learner)
    chosen = page_level(level)
    play = Play(case, guideline)
    if name is None:
        query = link_query(None, chosen)
        return CasePlayer(play, related_titles, banner=_banner(anonymous_html(refused, query)),
                          link_query=query, level=chosen or DEFAULT_LEVEL)
    chosen = chosen or kept_level(name)
    play.recorder = recorder = AttemptRecorder(name, case, guideline)
    restored = _restore(play, recorder)
    query = link_query(name, chosen)
    return CasePlayer(play, related_titles, link_query=query, level=chosen or DEFAULT_LEVEL,
                      banner=_banner(named_html(name, restored, len(case.stages), query)))


def _restore(play: Play, recorder: AttemptRecorder) -> int | None:
    """Replay the learner's unfinished attempt into `play`: stages restored, None if unreadable."""
    from casebook.records import store
    from casebook.records.progress import find_learner

    try:
        recorder.engine = store.connect()
        learner_id = find_learner(recorder.engine, recorder.learner)
        attempt = None if learner_id is None else store.open_attempt(
            recorder.engine, learner_id, play.case, play.guideline)
        answers = {} if attempt is None else store.answers(recorder.engine, attempt)
    except store.StoreError as exc:
        log.warning("progress of %r at %s not loaded: %s", recorder.learner, play.case.id, exc)
        return None
    if not answers:
        return 0
    try:
        play.restore(answers)
    except CasebookError as exc:  # the case changed under the same guideline version
        log.warning("attempt %s at %s not resumable: %s", attempt, play.case.id, exc)
        play.restart()
        return 0
    recorder.resume(attempt, answers)
    if play.done:
        recorder.finish()  # its last answer was saved but the finish was not
    return len(play.results)


def _banner(html: str):
    import ipywidgets as w

    banner = w.HTML(html)
    banner.add_class("cb-identity")
    return banner


def named_html(name: str, restored: int | None, stages: int, query: str | None = None) -> str:
    """`query` ends the link home (by default, the learner's name alone)."""
    home = f"../index.ipynb{link_query(name) if query is None else query}"
    return render("selfstudy/named.html.j2", name=name, home=home, restored=restored,
                  stages=stages)


def anonymous_html(refused: str | None = None, query: str = "") -> str:
    """`query` ends the link home (the page's level, if any)."""
    return render("selfstudy/anonymous.html.j2", refused=refused, home=f"../index.ipynb{query}")


# --- the home page's visitor ---------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """Who the home page is for: their name and progress, or why either is missing."""

    name: str | None = None
    refused: str | None = None  # why the name in the address was refused
    progress: Progress | None = None
    error: str | None = None  # why the progress could not be read
    level: Level | None = None  # their answer to "Which best describes you?", if given


def home_visitor(library: Library, playable: Collection[str],
                 learner: str | None = None, level: str | None = None) -> Visitor:
    """The page's learner (`learner`, else the address's), their level (`level`, else the
    address's, else the one kept) and their progress, if named. A level in the address is
    kept with a named learner, so it is asked once."""
    name, refused = page_learner(learner)
    chosen = page_level(level)
    if name is None:
        return Visitor(refused=refused, level=chosen)
    from casebook.records import store
    from casebook.records.progress import learner_attempts
    from casebook.selfstudy.progress import progress

    try:
        engine = store.connect()
        chosen = _keep_level(engine, name, chosen) if chosen else kept_level(name)
        records = learner_attempts(engine, name)
    except store.StoreError as exc:
        log.warning("progress of %r not loaded: %s", name, exc)
        return Visitor(name, level=chosen, error="Your progress cannot be shown just now: the "
                       "casebook's records cannot be read. Please tell your instructor.")
    return Visitor(name, progress=progress(name, records, library, playable, chosen),
                   level=chosen)


def _keep_level(engine, name: str, level: Level) -> Level:
    """Keep `level` with the learner `name` (registered if new); the level either way."""
    from casebook.records import store

    store.set_audience(engine, store.ensure_learner(engine, name), level)  # an id
    return level
