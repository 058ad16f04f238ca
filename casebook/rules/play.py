"""One learner's way through one case: the state a player widget shows, with no UI in it.

The widget hands choices in and shows what comes back; scoring stays in `casebook.rules.scoring`
and recording in whatever `recorder` is handed in (the store, in the apps). A submission is
recorded before its feedback is returned, so feedback a learner saw is never unrecorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from casebook.content.models import Case, Guideline, Stage
from casebook.errors import ScoringError
from casebook.rules.scoring import CaseResult, StageKey, StageResult, score_stage, stage_key

CONFIDENCE = ("guessing", "unsure", "fairly sure", "certain")


@dataclass(frozen=True)
class Submission:
    """Everything recorded for one answered stage."""

    case_id: str
    guideline_id: str
    guideline_version: str
    stage_id: str
    choices: tuple[str, ...]
    verdicts: tuple[str, ...]
    points: float
    safety_events: tuple[str, ...]
    confidence: str | None
    seconds_on_stage: float
    submitted_at: datetime


Recorder = Callable[[Submission], None]


@dataclass
class Play:
    case: Case
    guideline: Guideline
    recorder: Recorder | None = None
    clock: Callable[[], float] = time.monotonic
    results: dict[str, StageResult] = field(default_factory=dict)
    confidence: dict[str, str | None] = field(default_factory=dict)
    _keys: dict[str, StageKey] = field(default_factory=dict, repr=False)
    _shown_at: float | None = field(default=None, repr=False)

    @property
    def current(self) -> Stage | None:
        """The first stage not answered yet; None once the case is done."""
        return next((s for s in self.case.stages if s.id not in self.results), None)

    @property
    def done(self) -> bool:
        return self.current is None

    def shown(self) -> None:
        """Start the clock on the current stage (time on stage is recorded)."""
        self._shown_at = self.clock()

    def key(self, stage_id: str) -> StageKey:
        if stage_id not in self._keys:
            stage = self.case.stage(stage_id)
            if stage is None:
                raise ScoringError(f"{self.case.id}: no stage {stage_id!r}")
            self._keys[stage_id] = stage_key(self.guideline, self.case, stage)
        return self._keys[stage_id]

    def submit(
        self, stage_id: str, chosen: Sequence[str], confidence: str | None = None
    ) -> StageResult:
        if self.current is None or stage_id != self.current.id:
            raise ScoringError(f"{self.case.id}: stage {stage_id!r} is not the one being answered")
        if confidence is not None and confidence not in CONFIDENCE:
            raise ScoringError(f"confidence must be one of {CONFIDENCE}")
        result = score_stage(self.key(stage_id), chosen)
        if self.recorder is not None:
            self.recorder(self._submission(result, confidence))
        self.results[stage_id] = result
        self.confidence[stage_id] = confidence
        return result

    def _submission(self, result: StageResult, confidence: str | None) -> Submission:
        started = self._shown_at if self._shown_at is not None else self.clock()
        return Submission(
            case_id=self.case.id,
            guideline_id=self.guideline.id,
            guideline_version=self.guideline.version,
            stage_id=result.stage,
            choices=tuple(o.option for o in result.chosen),
            verdicts=tuple(o.verdict.value for o in result.chosen),
            points=result.points,
            safety_events=tuple(o.option for o in result.safety_events),
            confidence=confidence,
            seconds_on_stage=max(0.0, self.clock() - started),
            submitted_at=datetime.now(UTC),
        )

    def restore(self, answers: Mapping[str, tuple[Sequence[str], str | None]]) -> None:
        """Replay earlier answers (stage -> (choices, confidence)) without recording them."""
        for stage in self.case.stages:
            if stage.id not in answers:
                break
            chosen, confidence = answers[stage.id]
            self.results[stage.id] = score_stage(self.key(stage.id), chosen)
            self.confidence[stage.id] = confidence

    def result(self) -> CaseResult:
        return CaseResult(
            self.case.id,
            self.guideline.id,
            self.guideline.version,
            tuple(self.results[s.id] for s in self.case.stages if s.id in self.results),
        )

    def restart(self) -> None:
        self.results.clear()
        self.confidence.clear()
        self._shown_at = None
