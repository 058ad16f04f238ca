"""Answer keys and results as rows of plain dicts.

The CLI prints them, `--json` dumps them, notebooks turn them into DataFrames: one shape for
all three, so the instructor's table and the regression surface cannot drift apart.
"""

from __future__ import annotations

from casebook.content.models import Guideline
from casebook.rules.engine import Evaluation
from casebook.rules.scoring import CaseResult, StageKey, stage_points


def cite(references: tuple[int, ...] | list[int]) -> str:
    return "[" + ", ".join(str(n) for n in references) + "]"


def key_rows(keys: list[StageKey]) -> list[dict]:
    return [
        {
            "stage": key.stage,
            "option": o.option,
            "action": o.action,
            "verdict": o.verdict.value,
            "points": round(stage_points(key, [o]), 3),  # what this option alone scores
            "rule": o.judgement.rule or "(context default)",
            "rationale": o.judgement.rationale,
            "citations": cite(o.judgement.references),
        }
        for key in keys
        for o in key.options
    ]


def evaluation_rows(guideline: Guideline, evaluation: Evaluation) -> list[dict]:
    return [
        {
            "action": v.action,
            "label": guideline.action(v.action).label,
            "verdict": v.verdict.value,
            "rule": v.rule or "(context default)",
            "rationale": v.rationale,
            "citations": cite(v.references),
        }
        for v in evaluation.verdicts.values()
    ]


def result_rows(result: CaseResult) -> list[dict]:
    return [
        {
            "stage": s.stage,
            "chosen": ", ".join(o.option for o in s.chosen) or "(none)",
            "verdicts": ", ".join(o.verdict.value for o in s.chosen) or "-",
            "points": round(s.points, 3),
            "safety_events": ", ".join(o.option for o in s.safety_events),
        }
        for s in result.stages
    ]
