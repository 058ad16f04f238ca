"""The one definition of every figure the casebook reports, for every view that shows it.

The dashboard, the session report, the live tallies (console and learner), the home page's
progress, the CLI and the exports all call these functions, so a programme director reading the
same records on two screens reads the same figures. They are pure functions of recorded values
(verdict names, points, rounds, times), with no pandas and no SQLAlchemy: a DataFrame applies
them row by row, a view passes its rows in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from math import fsum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from casebook.content.models import Verdict

if TYPE_CHECKING:
    from datetime import datetime

    from casebook.content.loading import Library
    from casebook.content.models import Case
    from casebook.errors import Problem
    from casebook.rules.scoring import StageKey

SCORING_RULE = "2"  # recorded with every submission; "1": multi-answer = keyed chosen / required
ACCEPTABLE_SHARE = 0.5  # an acceptable option: half a keyed one, in place of a missing keyed one
NOT_INDICATED_SHARE = 0.5  # taken off for each option the guideline does not indicate
ROOM_MIN = 3  # fewer votes than this and a tally shown to learners would point at someone


# --- one answered stage ----------------------------------------------------------------------


def stage_points(verdicts: Sequence[str], max_choices: int, recommended: int) -> float:
    """Key-feature points for one answered stage, from 0 to 1 (rule `SCORING_RULE` "2").

    For a programme director: how much of the guideline's step the resident found at this
    decision, with nothing to gain from guessing. The stage expects R keyed (recommended)
    options, R = min(recommended options, `max_choices`), at least 1. Each keyed option chosen
    earns 1/R; each acceptable one earns half of that, but only in place of a keyed option
    not chosen (so acceptable picks never reach full points, and choosing the keyed options
    plus an acceptable one is still 1); each not-indicated one takes half of 1/R off; the
    total is never below 0. Any harmful choice, or more choices than allowed, scores 0: harm
    is never offset by a right step. A single-answer stage thus scores 1 / 0.5 / 0 as before.
    `verdicts` are those of the options chosen; `recommended` counts the stage's recommended
    options. (A plain cap at 1 instead of "in place of a missing keyed one" would let a free
    not-indicated pick hide behind an acceptable one's surplus: keyed + acceptable +
    not-indicated would still score 1.)
    """
    if not verdicts or len(verdicts) > max_choices or unsafe(verdicts):
        return 0.0
    required = max(1, min(recommended, max_choices))
    picked = Counter(Verdict(v) for v in verdicts)
    keyed = picked[Verdict.recommended]
    partial = ACCEPTABLE_SHARE * min(picked[Verdict.acceptable], max(0, required - keyed))
    credit = keyed + partial - NOT_INDICATED_SHARE * picked[Verdict.not_indicated]
    return max(0.0, min(credit, required)) / required


def scoring_rule_text(max_choices: int) -> str:
    """How a stage allowing `max_choices` choices is scored, in one sentence a learner reads
    in the feedback after Submit (the rule of `stage_points`, worded without formulas)."""
    if max_choices <= 1:
        return ("How this stage is scored: the recommended step earns 1 point, an acceptable "
                "step 0.5, and a step that is not indicated or is harmful 0.")
    return ("How this stage is scored: each recommended step you choose earns its share of "
            "the point, an acceptable step earns half a share in place of a recommended step "
            "you left out, each step that is not indicated takes half a share off (never below "
            f"0), and any harmful step, or more than {max_choices} choices, scores 0.")


def concordant(points: float, verdicts: Iterable[str]) -> bool:
    """Whether an answer is concordant with the guideline: it scored full points on the stage
    and chose nothing the guideline does not recommend.

    For a programme director: the resident did what the guideline says at this decision, all
    of it and nothing else. Full points alone would count an answer that adds a step the
    guideline calls not indicated, where a multi-answer stage leaves room for it (key-feature
    scoring does not take points for that, but it is not what the guideline says to do);
    "chose a recommended step and nothing harmful" would count half an answer (one of two
    required steps) as concordant, which is how one screen once showed 100 % where another
    showed 33 % on the same votes. A harmful choice always scores 0, so it is never concordant.
    """
    return points >= 1.0 and all(Verdict(v) is Verdict.recommended for v in verdicts)


def safety_events(choices: Sequence[str], verdicts: Sequence[str]) -> tuple[str, ...]:
    """The answer's safety events: each option chosen whose verdict is harmful.

    For a programme director: a step the guideline says could hurt this patient, chosen by the
    resident. Every harmful option chosen is one event, counted apart from the score (which it
    sets to 0 for the stage), so a resident cannot hide harm behind good marks elsewhere.
    """
    return tuple(c for c, v in zip(choices, verdicts, strict=True) if Verdict(v) is Verdict.harmful)


def unsafe(verdicts: Iterable[str]) -> bool:
    """Whether an answer has at least one safety event (any harmful choice): a harmful vote."""
    return any(Verdict(v) is Verdict.harmful for v in verdicts)


def case_score(points: Iterable[float], stages: int) -> float:
    """A case's score: the mean of its stages' points, a stage not answered scoring 0.

    For a programme director: the share of the case's decisions the resident got right, from
    0 to 1 (shown as a percentage). `stages` is the number of stages the score is over: the
    case's, for a whole attempt.
    """
    return fsum(points) / stages if stages else 0.0


# --- which answer counts ---------------------------------------------------------------------


class Answered(Protocol):
    stage_id: str
    round: int
    submitted_at: datetime


A = TypeVar("A", bound=Answered)


def counted(answers: Iterable[A], who: str = "attempt_id") -> list[A]:
    """The answers that count: per person (the attribute `who` names) and stage, one answer.

    For a programme director: after a re-vote, the room's second thoughts are what count. The
    round-2 vote replaces the round-1 vote (both stay recorded); within a round the latest
    answer counts (the later in `answers` on equal times). Someone who did not re-vote keeps
    their first vote. The answers are returned in the order given.
    """
    rows = list(answers)
    kept: dict[tuple[Any, str], int] = {}
    for n, row in enumerate(rows):
        slot = (getattr(row, who), row.stage_id)
        best = kept.get(slot)
        if best is None or (row.round, row.submitted_at) >= (rows[best].round,
                                                              rows[best].submitted_at):
            kept[slot] = n
    return [rows[n] for n in sorted(kept.values())]


# --- the room's tally ------------------------------------------------------------------------


class Vote(Protocol):
    stage_id: str
    round: int
    choices: Sequence[str]
    verdicts: Sequence[str]
    points: float


@dataclass(frozen=True)
class Tally:
    """One stage's votes: how many chose each option, and how the votes stand to the key."""

    stage_id: str
    round: int | None  # the round tallied; None: the votes that count (`counted`)
    counts: dict[str, int]  # option id -> votes choosing it, in the stage's option order
    voters: int
    concordant: int  # votes concordant with the guideline (`concordant`)
    harmful: int  # votes with a safety event (`unsafe`)

    @property
    def share(self) -> float | None:
        """The share of votes concordant with the guideline; None before anyone voted."""
        return self.concordant / self.voters if self.voters else None


def tally(votes: Iterable[Vote], key: StageKey, round: int | None = None) -> Tally:
    """The room's tally of `key`'s stage: the votes of `round`, or every vote given (None).

    For a programme director: how the room answered one decision. `voters` counts votes,
    `counts` the votes choosing each offered option (a multi-answer vote counts for each of its
    options), `concordant` and `harmful` the votes as `concordant` and `unsafe` judge them,
    and `share` the concordant share.
    """
    chosen = [v for v in votes if v.stage_id == key.stage and (round is None or v.round == round)]
    picked = Counter(c for v in chosen for c in v.choices)
    return Tally(key.stage, round, {o.option: picked[o.option] for o in key.options},
                 len(chosen), sum(concordant(v.points, v.verdicts) for v in chosen),
                 sum(unsafe(v.verdicts) for v in chosen))


def tally_shown_to_learners(phase: str, votes: Tally) -> bool:
    """Whether learners may see the room's tally: after the reveal, from `ROOM_MIN` votes on.

    Before the reveal a tally would steer the vote; with fewer votes it would point at
    someone's answer. The instructor's screen shows every tally live.
    """
    return phase == "revealed" and votes.voters >= ROOM_MIN


def key_shown_to_room(phase: str) -> bool:
    """Whether a screen the room can see (the projector, the instructor's screen unless they
    chose to see the key) may mark the guideline's step and the harmful options: only after
    the reveal, since a mark seen while voting would decide the vote. The room's tally on the
    projector follows `tally_shown_to_learners`: the projector is seen by learners."""
    return phase == "revealed"


# --- which cases can be played ---------------------------------------------------------------


def case_problems(library: Library, case: Case, problems: Collection[Problem]) -> list[Problem]:
    """The problems that keep `case` from being played: those in its own file or its
    guideline's (`problems` is `validate(library)`)."""
    guideline = library.guideline_for(case)
    own = {library.path_of(case)} | ({library.path_of(guideline)} if guideline else set())
    return [p for p in problems if p.path in own]


def playable(library: Library, problems: Collection[Problem]) -> set[str]:
    """The cases a learner can play: each loads, validates and scores.

    For a programme director: the cases on offer. A case is playable when neither its file nor
    its guideline's has a problem in `validate(library)` (passed in as `problems`): loading,
    structure, the guideline's graph checks, and the case's checks, which include computing
    every stage's answer key, so a playable case can always be scored. A case with no
    guideline has a problem in its own file. Problems in a related case's file do not stop a
    case (its link leads to that case's own error screen).
    """
    return {c.id for c in library.cases.values() if not case_problems(library, c, problems)}
