"""A learner's progress from their records: cases done, best and last score, safety events, and
what to try next.

`casebook.records.progress.learner_attempts` reads one learner's attempts; these are pure
functions of those records and the library.

- A case is *done* once an attempt at it has every stage answered (finished or not: a finish
  that failed to write does not undo the answers). Its score is `measures.case_score` of the
  points of the answers that count (`measures.counted`: a re-vote counts instead of the first
  vote), as everywhere else.
- *best* is the best score of a done attempt, *last* the score of the latest done attempt,
  and *last safety events* the harmful choices in that latest done attempt.
- A case is *in progress* when its latest unfinished self-study attempt (not in a teaching
  session) under the current guideline version has some stages but not all answered: the case
  app resumes it (`store.open_attempt`). Attempts in sessions the learner joined under their
  name count for done, scores and safety events like any other.

What to try next, first rule that applies (`what_next`):

1. resume the in-progress case started most recently;
2. retry the done case whose last attempt had the most safety events (ties: lower last score);
3. start the first case not done, in listing order, of the guideline with the smallest share
   of its cases done (ties: listing order); when the learner's level is known, only cases
   whose `levels` include it are suggested here, as long as one is left to do (else any);
4. retry the done case with the lowest best score below 100%;
5. otherwise everything is done, with no safety event in any last attempt.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from casebook.content.loading import Library
from casebook.rules.measures import case_score

if TYPE_CHECKING:
    from casebook.records.progress import AttemptRecord

Key = tuple[str, str]  # a guideline, as (id, version)


@dataclass(frozen=True)
class CaseProgress:
    case_id: str
    attempts: int = 0
    done: bool = False
    best: float | None = None
    last: float | None = None
    last_safety_events: int = 0
    safety_events: int = 0
    answered: int | None = None  # stages answered in the attempt to resume; None: nothing to resume
    resume_started: datetime | None = None


@dataclass(frozen=True)
class Suggestion:
    kind: str  # resume, retry-safety, new, retry-score, all-done
    case_id: str | None
    reason: str


@dataclass(frozen=True)
class Progress:
    learner: str
    cases: Mapping[str, CaseProgress]
    next: Suggestion

    @property
    def done(self) -> int:
        return sum(p.done for p in self.cases.values())

    @property
    def safety_events(self) -> int:
        return sum(p.safety_events for p in self.cases.values())


# --- pure functions ----------------------------------------------------------------------


def case_order(library: Library, playable: Collection[str]) -> list[tuple[Key, str]]:
    """(guideline key, case id) of the playable cases, in the home page's listing order."""
    order = []
    for key in sorted({(c.guideline.id, c.guideline.version) for c in library.cases.values()}):
        guideline = library.guidelines.get(key)
        contexts = [c.id for c in guideline.contexts] if guideline else []
        cases = [c for c in library.cases.values()
                 if (c.guideline.id, c.guideline.version) == key and c.id in playable]
        cases.sort(key=lambda c: (contexts.index(c.context) if c.context in contexts
                                  else len(contexts), c.context, c.id))
        order += [(key, c.id) for c in cases]
    return order


def case_progress(records: Sequence[AttemptRecord], case_id: str, stages: int,
                  version: str) -> CaseProgress:
    """One case's progress from the learner's attempts at it (`stages`: its number of stages)."""
    mine = [r for r in records if r.case_id == case_id]
    complete = [r for r in mine if len(r.points) >= stages]
    scores = [case_score(r.points.values(), stages) for r in complete]
    resumable = [r for r in mine if r.finished_at is None and r.session_id is None
                 and r.guideline_version == version and len(r.points) < stages]
    resume = resumable[-1] if resumable and resumable[-1].points else None
    return CaseProgress(
        case_id=case_id, attempts=len(mine), done=bool(complete),
        best=max(scores) if scores else None, last=scores[-1] if scores else None,
        last_safety_events=complete[-1].safety_events if complete else 0,
        safety_events=sum(r.safety_events for r in mine),
        answered=len(resume.points) if resume else None,
        resume_started=resume.started_at if resume else None,
    )


def progress(learner: str, records: Sequence[AttemptRecord], library: Library,
             playable: Collection[str], level: str | None = None) -> Progress:
    """The learner's progress over the playable cases, with what to try next for `level`."""
    order = case_order(library, playable)
    cases = {}
    for _, case_id in order:
        case = library.cases[case_id]
        cases[case_id] = case_progress(records, case_id, len(case.stages),
                                       case.guideline.version)
    return Progress(learner, cases, what_next(cases, order, library, level))


def what_next(cases: Mapping[str, CaseProgress], order: Sequence[tuple[Key, str]],
              library: Library, level: str | None = None) -> Suggestion:
    """The first of the module's five rules that applies (rule 3 heeds `level`)."""
    rank = {case_id: n for n, (_, case_id) in enumerate(order)}
    started = [p for p in cases.values() if p.answered is not None]
    if started:
        p = max(started, key=lambda p: (p.resume_started, -rank[p.case_id]))
        n = len(library.cases[p.case_id].stages)
        return Suggestion("resume", p.case_id, f"You stopped part way through this case "
                          f"({p.answered} of {n} stages answered): carry on where you left off.")
    unsafe = [p for p in cases.values() if p.done and p.last_safety_events]
    if unsafe:
        p = min(unsafe, key=lambda p: (-p.last_safety_events, p.last, rank[p.case_id]))
        return Suggestion("retry-safety", p.case_id, f"Your last attempt here chose a harmful "
                          f"step ({_events(p.last_safety_events)}): try it again.")
    suited = _suited(order, cases, library, level)
    fresh = _first_new(cases, suited, library)
    if fresh is not None and len(suited) < len(order):
        return Suggestion(fresh.kind, fresh.case_id, f"{fresh.reason} It is one of the cases "
                          f"written for a {level} like you.")
    if fresh is not None:
        return fresh
    improvable = [p for p in cases.values() if p.done and p.best is not None and p.best < 1]
    if improvable:
        p = min(improvable, key=lambda p: (p.best, rank[p.case_id]))
        return Suggestion("retry-score", p.case_id,
                          f"Your best score here is {p.best:.0%}: try again to improve it.")
    return Suggestion("all-done", None, "You have done every case, with no safety event in your "
                      "last attempts. Try any case again to keep it fresh.")


def _events(n: int) -> str:
    return f"{n} safety event{'s' if n != 1 else ''}"


def _suited(order: Sequence[tuple[Key, str]], cases: Mapping[str, CaseProgress],
            library: Library, level: str | None) -> Sequence[tuple[Key, str]]:
    """The listing `order` cut to the cases whose `levels` include `level`, if one of those is
    not done yet; else (or with no level) all of it, so rule 3 still has a case to offer."""
    if level is None:
        return order
    suited = [(k, c) for k, c in order if level in library.cases[c].levels]
    return suited if any(not cases[c].done for _, c in suited) else order


def _first_new(cases: Mapping[str, CaseProgress], order: Sequence[tuple[Key, str]],
               library: Library) -> Suggestion | None:
    """Rule 3: the first case not done in the guideline with the smallest share done."""
    groups: dict[Key, list[str]] = {}
    for key, case_id in order:
        groups.setdefault(key, []).append(case_id)
    open_groups = [(sum(cases[c].done for c in ids) / len(ids), n, key)
                   for n, (key, ids) in enumerate(groups.items())
                   if not all(cases[c].done for c in ids)]
    if not open_groups:
        return None
    _, _, key = min(open_groups)
    ids = groups[key]
    case_id = next(c for c in ids if not cases[c].done)
    title = library.guidelines[key].title
    done = sum(cases[c].done for c in ids)
    return Suggestion("new", case_id, f"The next case you have not done in “{title}”, the "
                      f"guideline you have done least of ({done} of {len(ids)} cases).")
