"""Scoring a play-through against the guideline, in key-feature fashion.

Pure functions of (guideline, case, choices): no UI, no I/O, so the answer key and every
score can be tested without a kernel or a browser. Verdicts come only from the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from casebook.content.models import Case, FindingValue, Guideline, Option, Stage, Verdict
from casebook.errors import ScoringError
from casebook.rules import measures
from casebook.rules.engine import ActionVerdict, Evaluation, evaluate


@dataclass(frozen=True)
class OptionKey:
    """One option of a stage with the verdict the guideline gives its action."""

    option: str
    text: str
    action: str
    judgement: ActionVerdict

    @property
    def verdict(self) -> Verdict:
        return self.judgement.verdict


@dataclass(frozen=True)
class StageKey:
    stage: str
    context: str
    max_choices: int
    options: tuple[OptionKey, ...]

    @property
    def recommended(self) -> list[OptionKey]:
        return [o for o in self.options if o.verdict is Verdict.recommended]


@dataclass(frozen=True)
class StageResult:
    stage: str
    chosen: tuple[OptionKey, ...]
    points: float
    too_many: bool
    safety_events: tuple[OptionKey, ...]
    recommended: tuple[OptionKey, ...]


@dataclass(frozen=True)
class CaseResult:
    case: str
    guideline: str
    version: str
    stages: tuple[StageResult, ...]

    @property
    def score(self) -> float:
        """`measures.case_score` over these stages (a stage not answered scores 0)."""
        return measures.case_score((s.points for s in self.stages), len(self.stages))

    @property
    def safety_events(self) -> list[tuple[str, OptionKey]]:
        return [(s.stage, o) for s in self.stages for o in s.safety_events]


def stage_findings(case: Case, stage_id: str) -> dict[str, FindingValue]:
    """The findings known at a stage: everything revealed up to and including it."""
    known: dict[str, FindingValue] = {}
    for stage in case.stages:
        known.update(stage.reveal)
        if stage.id == stage_id:
            return known
    raise ScoringError(f"{case.id}: no stage {stage_id!r}")


def max_choices(stage: Stage) -> int:
    return {"one": 1, "up_to": stage.select.max or 1}.get(stage.select.mode, len(stage.options))


def stage_key(guideline: Guideline, case: Case, stage: Stage) -> StageKey:
    evaluation: Evaluation = evaluate(guideline, stage_findings(case, stage.id))
    options = tuple(_option_key(o, evaluation) for o in stage.options)
    return StageKey(stage.id, evaluation.context, max_choices(stage), options)


def _option_key(option: Option, evaluation: Evaluation) -> OptionKey:
    judgement = evaluation.verdicts.get(option.action)
    if judgement is None:
        raise ScoringError(f"option {option.id!r} names unknown action {option.action!r}")
    return OptionKey(option.id, option.text, option.action, judgement)


def answer_key(guideline: Guideline, case: Case) -> list[StageKey]:
    """The whole answer key, stage by stage: for instructors and as a regression surface."""
    return [stage_key(guideline, case, stage) for stage in case.stages]


def stage_points(key: StageKey, chosen: Sequence[OptionKey]) -> float:
    """`measures.stage_points` for these choices of the stage `key` describes."""
    return measures.stage_points([o.verdict for o in chosen], key.max_choices,
                                 len(key.recommended))


def score_stage(key: StageKey, chosen_ids: Sequence[str]) -> StageResult:
    by_id = {o.option: o for o in key.options}
    unknown = [c for c in chosen_ids if c not in by_id]
    if unknown:
        raise ScoringError(f"stage {key.stage!r} has no option {unknown[0]!r}")
    chosen = tuple(by_id[c] for c in dict.fromkeys(chosen_ids))
    harmful = measures.safety_events([o.option for o in chosen], [o.verdict for o in chosen])
    return StageResult(
        stage=key.stage,
        chosen=chosen,
        points=stage_points(key, chosen),
        too_many=len(chosen) > key.max_choices,
        safety_events=tuple(o for o in chosen if o.option in harmful),
        recommended=tuple(key.recommended),
    )


def score_case(
    guideline: Guideline, case: Case, answers: Mapping[str, Sequence[str]]
) -> CaseResult:
    """Score a play-through; `answers` maps stage id to the chosen option ids."""
    unknown = [s for s in answers if case.stage(s) is None]
    if unknown:
        raise ScoringError(f"{case.id}: no stage {unknown[0]!r}")
    results = tuple(
        score_stage(key, answers.get(key.stage, ())) for key in answer_key(guideline, case)
    )
    return CaseResult(case.id, guideline.id, guideline.version, results)
