"""Re-scoring recorded submissions under the current scoring rule, only when asked.

A recorded answer keeps the points it was given and the rule version that gave them
(`submissions.scoring_rule`): a programme director comparing a resident's figures over the
year must not see them move because the casebook was upgraded. `casebook rescore` shows what
the current rule (`measures.SCORING_RULE`) would change; `--apply` writes it, in one
transaction. A submission is re-scored only against the content it was answered on: the same
case and guideline version, and the same verdicts for its choices as the ones recorded. Any
other is skipped, and the report says why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from casebook.errors import ScoringError
from casebook.records.database import attempts, guard, reading, submissions
from casebook.rules import measures
from casebook.rules.scoring import score_stage, stage_key

if TYPE_CHECKING:
    from casebook.content.loading import Library


@dataclass(frozen=True)
class Rescored:
    """One submission scored again under the current rule: its points before and after."""

    id: str
    case_id: str
    stage_id: str
    rule: str  # the rule that gave `old`
    old: float
    new: float

    @property
    def changed(self) -> bool:
        return round(self.old, 9) != round(self.new, 9)


@dataclass(frozen=True)
class Plan:
    rescored: tuple[Rescored, ...]
    skipped: tuple[tuple[str, str], ...]  # (case id, why), one per submission skipped

    @property
    def changed(self) -> list[Rescored]:
        return [r for r in self.rescored if r.changed]


def plan(engine: Engine, library: Library) -> Plan:
    """What re-scoring every submission not scored by the current rule would do; writes nothing."""
    s, a = submissions.c, attempts.c
    query = (sa.select(s.id, s.stage_id, s.choices, s.verdicts, s.points, s.scoring_rule,
                       a.case_id, a.guideline_id, a.guideline_version)
             .select_from(submissions.join(attempts, s.attempt_id == a.id))
             .where(s.scoring_rule != measures.SCORING_RULE)
             .order_by(a.case_id, s.stage_id, s.submitted_at, s.id))
    with guard(engine, "cannot read the submissions to re-score"), reading(engine) as conn:
        rows = conn.execute(query).all()
    rescored, skipped = [], []
    for row in rows:
        outcome = _rescore(library, row)
        if isinstance(outcome, str):
            skipped.append((row.case_id, outcome))
        else:
            rescored.append(outcome)
    return Plan(tuple(rescored), tuple(skipped))


def _rescore(library: Library, row: Any) -> Rescored | str:
    """The submission scored again, or why it cannot be against the content there is now."""
    recorded = f"{row.guideline_id}@{row.guideline_version}"
    case = library.cases.get(row.case_id)
    if case is None:
        return "the case is no longer in the library"
    guideline = library.guideline_for(case)
    if guideline is None or (guideline.id, guideline.version) != (row.guideline_id,
                                                                  row.guideline_version):
        now = f"{guideline.id}@{guideline.version}" if guideline else "no guideline"
        return f"answered under {recorded}; the case is now scored by {now}"
    stage = case.stage(row.stage_id)
    if stage is None:
        return f"the case no longer has stage {row.stage_id!r}"
    try:
        result = score_stage(stage_key(guideline, case, stage), list(row.choices))
    except ScoringError as err:
        return f"the case has changed since it was answered ({err})"
    if [o.verdict.value for o in result.chosen] != list(row.verdicts):
        return f"the verdicts of stage {row.stage_id!r} have changed under {recorded}"
    return Rescored(row.id, row.case_id, row.stage_id, row.scoring_rule, row.points,
                    result.points)


def apply(engine: Engine, changes: Plan) -> int:
    """Write the plan's new points and the current rule, all in one transaction; the rows
    written. A row re-scored meanwhile by someone else (its rule no longer the one read) is
    left as they wrote it."""
    s = submissions.c
    written = 0
    with guard(engine, "cannot write the new points"), engine.begin() as conn:
        for r in changes.rescored:
            written += conn.execute(
                submissions.update().where(s.id == r.id, s.scoring_rule == r.rule)
                .values(points=r.new, scoring_rule=measures.SCORING_RULE)).rowcount
    return written


def report(changes: Plan, applied: bool) -> list[str]:
    """The lines `casebook rescore` prints: per case and stage, how many submissions change
    and from what points to what; then what was skipped and why; then the totals."""
    rule = measures.SCORING_RULE
    if not changes.rescored and not changes.skipped:
        return [f"nothing to re-score: every submission was scored by rule {rule}"]
    verb = "changed" if applied else "would change"
    lines = [f"re-scoring under scoring rule {rule}"
             + ("" if applied else " (dry run: nothing written; --apply writes it)")]
    for (case_id, stage_id), rows in _by_stage(changes.rescored).items():
        moves = Counter((r.old, r.new) for r in rows if r.changed)
        shown = "; ".join(f"{old:.2f} -> {new:.2f} (x{n})" for (old, new), n in sorted(moves.items()))
        lines.append(f"{case_id} / {stage_id}: {sum(moves.values())} of {len(rows)} "
                     f"submission(s) {verb}" + (f": {shown}" if shown else ""))
    for (case_id, why), n in Counter(changes.skipped).items():
        lines.append(f"skipped {n} submission(s) of {case_id}: {why}")
    lines.append(f"total: {len(changes.changed)} of {len(changes.rescored)} re-scored "
                 f"submission(s) {verb} points; {len(changes.rescored)} "
                 f"{'now carry' if applied else 'would carry'} rule {rule}; "
                 f"{len(changes.skipped)} skipped (they keep their points and rule)")
    return lines


def _by_stage(rows: Iterable[Rescored]) -> dict[tuple[str, str], list[Rescored]]:
    grouped: dict[tuple[str, str], list[Rescored]] = {}
    for r in rows:
        grouped.setdefault((r.case_id, r.stage_id), []).append(r)
    return grouped
