"""The guideline engine: which verdict each action gets for a set of findings.

Conditions are data from a small fixed vocabulary and are interpreted here, never `eval`ed.
An action's verdict is the verdict of the rules that match it, or the context's declared
default; there is no implicit verdict and no rule priority, so validation can prove by
enumeration that rules never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from casebook.content.models import (
    All,
    Any_,
    Condition,
    Context,
    Evidence,
    FindingValue,
    Guideline,
    In,
    Is,
    Judgement,
    None_,
    RedFlags,
    Rule,
    Verdict,
)
from casebook.errors import EvaluationError

Findings = Mapping[str, FindingValue]


@dataclass(frozen=True)
class ActionVerdict:
    """One action's verdict and what it rests on; `rule` is None where the default gave it.

    `deciding` holds the findings (name, value) the verdict turned on: those the rule's
    condition reads, or the context's where the default gave it, so feedback can show what
    the learner should have recognised. It is read off the condition, never used to decide.
    """

    action: str
    verdict: Verdict
    rule: str | None
    rationale: str
    references: tuple[int, ...]
    evidence: tuple[Evidence, ...]
    deciding: tuple[tuple[str, FindingValue], ...] = ()


@dataclass(frozen=True)
class Evaluation:
    guideline: str
    version: str
    context: str
    findings: Mapping[str, FindingValue]
    verdicts: Mapping[str, ActionVerdict]

    def recommended(self) -> list[str]:
        return [a for a, v in self.verdicts.items() if v.verdict is Verdict.recommended]


def holds(condition: Condition, findings: Findings, red_flags: frozenset[str]) -> bool:
    """Whether `condition` is true of complete `findings`; `red_flags` names the red-flag findings."""
    match condition:
        case Is(finding=name, equals=value):
            return findings.get(name) == value
        case In(finding=name, one_of=values):
            return findings.get(name) in values
        case RedFlags(red_flags=wanted):
            present = any(findings.get(name) is True for name in red_flags)
            return present == (wanted == "present")
        case All(all=parts):
            return all(holds(p, findings, red_flags) for p in parts)
        case Any_(any=parts):
            return any(holds(p, findings, red_flags) for p in parts)
        case None_(none=parts):
            return not any(holds(p, findings, red_flags) for p in parts)
    raise TypeError(f"not a condition: {condition!r}")


def condition_findings(condition: Condition | None, red_flags: frozenset[str]) -> set[str]:
    """The names of the findings a condition reads (all red flags for a red-flag test)."""
    match condition:
        case None:
            return set()
        case Is(finding=name) | In(finding=name):
            return {name}
        case RedFlags():
            return set(red_flags)
        case All(all=parts) | Any_(any=parts) | None_(none=parts):
            return set().union(*(condition_findings(p, red_flags) for p in parts))
    raise TypeError(f"not a condition: {condition!r}")


def red_flag_names(guideline: Guideline) -> frozenset[str]:
    return frozenset(f.name for f in guideline.findings if f.red_flag)


def domain(guideline: Guideline, name: str) -> list[FindingValue]:
    """The values a finding may take; none for a finding the guideline does not declare."""
    finding = guideline.finding(name)
    if finding is None:
        return []
    return list(finding.values) if finding.type == "choice" else [False, True]


def fits(guideline: Guideline, name: str, value: object) -> bool:
    """Whether `value` is one of the finding's values, of the same type (`1` is not `true`)."""
    values = domain(guideline, name)
    return value in values and type(value) is type(values[0])


def complete(guideline: Guideline, findings: Findings) -> dict[str, FindingValue]:
    """`findings` with every undeclared default filled in, after checking names and values."""
    out: dict[str, FindingValue] = {}
    for name, value in findings.items():
        finding = guideline.finding(name)
        if finding is None:
            raise EvaluationError(f"{guideline.id}: unknown finding {name!r}")
        if not fits(guideline, name, value):
            raise EvaluationError(f"{guideline.id}: finding {name!r} cannot be {value!r}; "
                                  f"allowed: {domain(guideline, name)}")
        out[name] = value
    for finding in guideline.findings:
        if finding.name not in out:
            if finding.default is None:
                raise EvaluationError(f"{guideline.id}: finding {finding.name!r} is not known yet")
            out[finding.name] = finding.default
    return out


def select_context(guideline: Guideline, findings: Findings) -> Context:
    flags = red_flag_names(guideline)
    matching = [c for c in guideline.contexts if holds(c.when, findings, flags)]
    if len(matching) != 1:
        names = ", ".join(c.id for c in matching) or "none"
        raise EvaluationError(f"{guideline.id}: exactly one context must apply; applying: {names}")
    return matching[0]


def matching_rules(guideline: Guideline, context: Context, findings: Findings) -> list[Rule]:
    flags = red_flag_names(guideline)
    return [
        rule
        for rule in guideline.rules
        if rule.context in (None, context.id)
        and (rule.when is None or holds(rule.when, findings, flags))
    ]


def deciding_findings(condition: Condition | None, findings: Findings,
                      red_flags: frozenset[str]) -> tuple[tuple[str, FindingValue], ...]:
    """The findings `condition` reads, with their values, in the guideline's order of `findings`.

    Of the red flags a red-flag test reads, only those present are named when any is: "red
    flags absent" rests on all of them, "present" on the ones that are."""
    names = condition_findings(condition, red_flags)
    present = {n for n in names & red_flags if findings.get(n) is True}
    if present:
        names = (names - red_flags) | present
    return tuple((n, findings[n]) for n in findings if n in names)


def _verdict(action: str, verdict: Verdict, rule: str | None, why: Judgement,
             deciding: tuple[tuple[str, FindingValue], ...] = ()) -> ActionVerdict:
    return ActionVerdict(
        action, verdict, rule, why.rationale, tuple(why.references), tuple(why.evidence),
        deciding,
    )


def evaluate(guideline: Guideline, findings: Findings) -> Evaluation:
    """Every action's verdict for these findings, with the rule, rationale and citations."""
    known = complete(guideline, findings)
    context = select_context(guideline, known)
    rules = matching_rules(guideline, context, known)
    flags = red_flag_names(guideline)
    verdicts: dict[str, ActionVerdict] = {}
    for action in guideline.actions:
        given = [r for r in rules if action.id in r.actions]
        if not given:
            verdicts[action.id] = _verdict(action.id, context.default.verdict, None,
                                           context.default,
                                           deciding_findings(context.when, known, flags))
            continue
        if len({r.verdict for r in given}) > 1:
            names = ", ".join(f"{r.id} ({r.verdict.value})" for r in given)
            raise EvaluationError(f"{guideline.id}: rules disagree on {action.id!r}: {names}")
        rule = given[0]  # a rule bound to the context and no finding rests on the context's
        when = rule.when if rule.when is not None else (context.when if rule.context else None)
        verdicts[action.id] = _verdict(action.id, rule.verdict, rule.id, rule,
                                       deciding_findings(when, known, flags))
    return Evaluation(guideline.id, guideline.version, context.id, known, verdicts)
