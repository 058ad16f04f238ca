"""The HTML the apps show: notice, headers, stage text, feedback and the end summary.

Pure functions from the content and the scorer's results to HTML strings, so what a learner
reads can be tested without widgets. Each renders a template of casebook/ui/templates/
(`casebook.ui.render`), which escapes everything it is given: case text is data, never
markup. The styles are in the page's stylesheet (casebook.css, in the Voila template's
static/ folder under casebook/serve/config/share/), not here. Nothing here decides a verdict
or a score; it only words what
`casebook.rules.scoring` returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from casebook.content.models import Case, FindingValue, Guideline, Level, Review, Stage, Verdict
from casebook.rules import measures
from casebook.rules.scoring import ActionVerdict, CaseResult, OptionKey, StageKey, StageResult
from casebook.ui.render import render

NOTICE = "Educational use only, not clinical advice."
UNLISTED = "cited by the source article, not listed in it"
NO_RED_FLAG = "No red flag present"
RELATED = "A related case"  # a related case's title when none is handed in: never its id
DEFAULT_LEVEL: Level = "resident"


def verdict_label(verdict: Verdict) -> str:
    return verdict.label.capitalize()


def review_text(review: Review) -> str:
    text = review.status.value.replace("_", " ")
    if review.last_reviewed:
        text += f", last reviewed {review.last_reviewed}"
    return text


def notice_html(review_line: str = "") -> str:
    """The notice every screen carries, with the review status of what it shows."""
    return render("notice.html.j2", notice=NOTICE, review_line=review_line)


def case_review_line(case: Case, guideline: Guideline) -> str:
    return (f"case {review_text(case.review)}; guideline {review_text(guideline.review)}; "
            f"source last updated {guideline.source.last_updated}")


def case_header_html(case: Case, guideline: Guideline) -> str:
    return render("case_header.html.j2", case=case, guideline=guideline, review_text=review_text)


def vignette_html(case: Case) -> str:
    paragraphs = [p for p in case.vignette.split("\n\n") if p.strip()]
    return render("vignette.html.j2", paragraphs=[p.strip() for p in paragraphs])


def value_label(guideline: Guideline, name: str, value: FindingValue) -> str:
    finding = guideline.finding(name)
    if finding is None:
        return str(value)
    if finding.type == "boolean":
        return "yes" if value is True else "no"
    return finding.values.get(str(value), str(value))


def _finding_label(guideline: Guideline, name: str) -> str:
    finding = guideline.finding(name)
    return finding.label if finding else name


def recognised(guideline: Guideline, stage: Stage) -> list[tuple[str, str, str]]:
    """What the learner should have recognised in this stage's story, shown after the answer:
    (finding label, value label, the sentence that shows it, or "" where none is given)."""
    return [(_finding_label(guideline, n), value_label(guideline, n, v), stage.shown_by.get(n, ""))
            for n, v in stage.reveal.items()]


def limit_text(max_choices: int, n_options: int) -> str:
    if max_choices == 1:
        return "Choose one."
    if max_choices >= n_options:
        return "Choose all that apply."
    return f"Choose up to {max_choices}."


def stage_html(guideline: Guideline, stage: Stage, number: int, total: int) -> str:
    """The stage before its answer: the story and the question only, never the guideline's
    findings (recognising them is the learner's part; `recognised` shows them afterwards)."""
    return render("stage.html.j2", stage=stage, number=number, total=total)


def limit_html(max_choices: int, n_options: int, over: bool = False) -> str:
    """How many options to choose; with `over`, that the limit was reached."""
    return render("limit.html.j2", text=limit_text(max_choices, n_options), limit=max_choices,
                  over=over)


def cite(numbers: Iterable[int]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def references_html(guideline: Guideline, numbers: Iterable[int]) -> str:
    """Each reference once, in number order, titled from the guideline's list."""
    return render("references.html.j2", **_references(guideline, numbers))


def _references(guideline: Guideline, numbers: Iterable[int]) -> dict:
    """The context of references.html.j2: each number with its listed reference, or None."""
    refs = [(n, guideline.reference(n)) for n in sorted(set(numbers))]
    return {"references": [(n, ref if ref is not None and ref.listed else None) for n, ref in refs],
            "unlisted": UNLISTED}


def judgement_numbers(judgement: ActionVerdict) -> list[int]:
    return list(judgement.references) + [n for e in judgement.evidence for n in e.references]


def safety_html(events: Iterable[OptionKey]) -> str:
    return render("safety.html.j2", events=list(events))


def feedback_html(guideline: Guideline, result: StageResult, max_choices: int,
                  key: StageKey | None = None, stage: Stage | None = None,
                  level: Level = DEFAULT_LEVEL) -> str:
    """What a learner sees after Submit: every option of the stage (`key`; without it, the
    chosen ones) with its verdict, reason, deciding findings and citations; what the story
    showed (`stage`); the stage's teaching for the learner's `level`; and how it was scored."""
    chosen = {o.option for o in result.chosen}
    keyed = key.options if key is not None else result.chosen
    views = [_option_view(guideline, o, o.option in chosen, level) for o in keyed]
    explain = stage.explain.get(level, "") if stage is not None else ""
    return render("feedback.html.j2", events=list(result.safety_events), options=views,
                  too_many=result.too_many, max_choices=max_choices, points=result.points,
                  recommended=[o.text for o in result.recommended],
                  recognised=recognised(guideline, stage) if stage is not None else [],
                  explain=explain, scoring_rule=measures.scoring_rule_text(max_choices))


def _option_view(guideline: Guideline, option: OptionKey, chosen: bool, level: Level) -> dict:
    """One option as the feedback lists it; figures (evidence) are left out for students."""
    judgement = option.judgement
    evidence = [] if level == "student" else list(judgement.evidence)
    return {"text": option.text, "chosen": chosen, "rank": option.verdict.rank,
            "value": option.verdict.value, "verdict": verdict_label(option.verdict),
            "reason": judgement.rationale, "evidence": evidence, "cite": cite,
            "deciding": deciding(guideline, judgement),
            "citations": citations(guideline, judgement_numbers(judgement))}


def deciding(guideline: Guideline, judgement: ActionVerdict) -> list[str]:
    """The findings a verdict turned on, worded; every red flag absent is one "no red flag"."""
    flags = {f.name for f in guideline.findings if f.red_flag}
    pairs = list(judgement.deciding)
    absent = [n for n, v in pairs if n in flags and v is False]
    out = [f"{_finding_label(guideline, n)}: {value_label(guideline, n, v)}" for n, v in pairs
           if not (len(absent) > 1 and n in absent)]
    return [*out, NO_RED_FLAG] if len(absent) > 1 else out


def citations(guideline: Guideline, numbers: Iterable[int]) -> list[str]:
    """Each reference once, as the seed lists it: number, title and source, and which seed
    cites it; a number the seed cites without listing it is said to be so."""
    seed = guideline.source.title
    out = []
    for n in sorted(set(numbers)):
        ref = guideline.reference(n)
        if ref is not None and ref.listed:
            out.append(f"[{n}] {ref.title}. {ref.source} (cited in {seed})")
        else:
            out.append(f"[{n}] cited in {seed}, which does not list it among its references")
    return out


def score_html(result: CaseResult, n_stages: int) -> str:
    """The scorer's score (`CaseResult.score`), worded; final once every stage is answered."""
    answered = len(result.stages)
    label = "Total score" if answered >= n_stages else (
        f"Score so far ({answered} of {n_stages} stages)")
    return render("score.html.j2", label=label, score=result.score)


def summary_html(case: Case, guideline: Guideline, result: CaseResult,
                 confidence: Mapping[str, str | None], related: Mapping[str, str],
                 link_query: str = "") -> str:
    """The end of a case: the table per stage, safety events, teaching points, related cases.

    `link_query` ends each related case's link, so the next page knows its learner."""
    rows = [_summary_row(case, s, confidence.get(s.stage)) for s in result.stages]
    events = [(_stage_title(case, stage), o) for stage, o in result.safety_events]
    numbers = [n for p in case.teaching_points for n in p.references]
    links = [(f"./{cid}.ipynb{link_query}", related.get(cid, RELATED)) for cid in case.related]
    return render("summary.html.j2", case=case, rows=rows, events=events, links=links, cite=cite,
                  **_references(guideline, numbers))


def _stage_title(case: Case, stage_id: str) -> str:
    stage = case.stage(stage_id)
    return stage.title if stage else stage_id


def _summary_row(case: Case, result: StageResult, confidence: str | None) -> tuple:
    chosen = "; ".join(o.text for o in result.chosen) or "(none)"
    verdicts = "; ".join(verdict_label(o.verdict) for o in result.chosen) or "-"
    return (_stage_title(case, result.stage), chosen, verdicts, result.points,
            confidence or "not given")


def error_html(message: str, details: Iterable[str] = ()) -> str:
    return render("error.html.j2", message=message, details=list(details))
