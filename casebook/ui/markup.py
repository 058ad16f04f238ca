"""The HTML the apps show: notice, headers, stage text, feedback and the end summary.

Pure functions from the content and the scorer's results to escaped HTML strings, so what a
learner reads can be tested without widgets. Everything from content files goes through
`esc`: case text is data, never markup. Nothing here decides a verdict or a score; it only
words what `casebook.rules.scoring` returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from casebook.content.models import Case, FindingValue, Guideline, Review, Stage, Verdict
from casebook.rules.measures import scoring_rule_text
from casebook.rules.scoring import ActionVerdict, CaseResult, OptionKey, StageResult

NOTICE = "Educational use only, not clinical advice."
UNLISTED = "cited by the source article, not listed in it"

# Shown before any answer, so it names no verdict (the verdict classes go by rank).
STYLE = """<style>
button.cb-option {white-space: normal; height: auto; min-height: 2.2em; text-align: left;
  line-height: 1.3; padding: 4px 10px;}
.cb-option label {white-space: normal;}
.cb-notice {background: #fff8c5; border: 1px solid #d4a72c; padding: 4px 8px;}
.cb-error {color: #82071e;}
.cb-error-box {border: 2px solid #cf222e; background: #ffebe9; padding: 8px;}
.cb-safety-event {border: 3px solid #cf222e; background: #ffebe9; padding: 6px 10px;
  font-weight: bold;}
.cb-verdict-rank-0 {color: #82071e;} .cb-verdict-rank-3 {color: #116329;}
.cb-summary a, .cb-home a, .cb-identity a {color: #0550ae; text-decoration: underline;}
.cb-identity {border-left: 4px solid #0969da; padding: 2px 10px; margin: 4px 0;}
.cb-summary table {border-collapse: collapse;}
.cb-summary th, .cb-summary td {border: 1px solid #d0d7de; padding: 3px 8px; text-align: left;}
</style>"""


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def verdict_label(verdict: Verdict) -> str:
    return verdict.label.capitalize()


def review_text(review: Review) -> str:
    text = review.status.value.replace("_", " ")
    if review.last_reviewed:
        text += f", last reviewed {review.last_reviewed}"
    return text


def notice_html(review_line: str = "") -> str:
    """The notice every screen carries, with the review status of what it shows."""
    status = f" <span>Review status: {esc(review_line)}.</span>" if review_line else ""
    return f'<div role="note"><strong>{esc(NOTICE)}</strong>{status}</div>'


def case_review_line(case: Case, guideline: Guideline) -> str:
    return (f"case {review_text(case.review)}; guideline {review_text(guideline.review)}; "
            f"source last updated {guideline.source.last_updated}")


def case_header_html(case: Case, guideline: Guideline) -> str:
    return (
        f"{STYLE}<h2>{esc(case.title)}</h2>"
        f"<p>Guideline: {esc(guideline.title)}, version {esc(guideline.version)}. "
        f"Source: {esc(guideline.source.title)} (last updated "
        f"{esc(guideline.source.last_updated)}).</p>"
        f"<p>Review status: case {esc(review_text(case.review))}; "
        f"guideline {esc(review_text(guideline.review))}.</p>"
    )


def vignette_html(case: Case) -> str:
    paragraphs = [p for p in case.vignette.split("\n\n") if p.strip()]
    return "<h3>The case</h3>" + "".join(f"<p>{esc(p.strip())}</p>" for p in paragraphs)


def value_label(guideline: Guideline, name: str, value: FindingValue) -> str:
    finding = guideline.finding(name)
    if finding is None:
        return str(value)
    if finding.type == "boolean":
        return "yes" if value is True else "no"
    return finding.values.get(str(value), str(value))


def findings_html(guideline: Guideline, reveal: Mapping[str, FindingValue]) -> str:
    if not reveal:
        return ""
    items = "".join(
        f"<li><strong>{esc(_finding_label(guideline, n))}:</strong> "
        f"{esc(value_label(guideline, n, v))}</li>"
        for n, v in reveal.items()
    )
    return f'<div class="cb-findings"><h4>New findings</h4><ul>{items}</ul></div>'


def _finding_label(guideline: Guideline, name: str) -> str:
    finding = guideline.finding(name)
    return finding.label if finding else name


def limit_text(max_choices: int, n_options: int) -> str:
    if max_choices == 1:
        return "Choose one."
    if max_choices >= n_options:
        return "Choose all that apply."
    return f"Choose up to {max_choices}."


def stage_html(guideline: Guideline, stage: Stage, number: int, total: int) -> str:
    return (
        f"<h3>Stage {number} of {total}: {esc(stage.title)}</h3>"
        f"{findings_html(guideline, stage.reveal)}"
        f"<p>{esc(stage.narrative)}</p>"
        f'<p class="cb-question"><strong>{esc(stage.question)}</strong></p>'
    )


def cite(numbers: Iterable[int]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def references_html(guideline: Guideline, numbers: Iterable[int]) -> str:
    """Each reference once, in number order, titled from the guideline's list."""
    items = []
    for number in sorted(set(numbers)):
        ref = guideline.reference(number)
        if ref is None or not ref.listed:
            items.append(f"<li>[{number}] {UNLISTED}</li>")
        else:
            items.append(f"<li>[{number}] {esc(ref.title)}. {esc(ref.source)}</li>")
    return f'<ul class="cb-references">{"".join(items)}</ul>' if items else ""


def judgement_numbers(judgement: ActionVerdict) -> list[int]:
    return list(judgement.references) + [n for e in judgement.evidence for n in e.references]


def _choice_html(option: OptionKey) -> str:
    j = option.judgement
    evidence = "".join(f"<li>{esc(e.text)} {cite(e.references)}</li>" for e in j.evidence)
    return (
        f'<li class="cb-verdict cb-verdict-rank-{option.verdict.rank}" '
        f'data-verdict="{option.verdict.value}">'
        f"<strong>{esc(option.text)}</strong>: "
        f"<strong>{esc(verdict_label(option.verdict))}</strong>. "
        f"{esc(j.rationale)} {cite(j.references)}"
        + (f"<ul><li>Evidence:</li>{evidence}</ul>" if evidence else "")
        + "</li>"
    )


def safety_html(events: Iterable[OptionKey]) -> str:
    events = list(events)
    if not events:
        return ""
    names = "; ".join(esc(o.text) for o in events)
    return (f'<div class="cb-safety-event" role="alert">Safety event: you chose a harmful step '
            f"({names}).</div>")


def feedback_html(guideline: Guideline, result: StageResult, max_choices: int) -> str:
    """What a learner sees after Submit: verdicts, rationale, evidence, citations."""
    chosen = "".join(_choice_html(o) for o in result.chosen)
    recommended = "".join(
        f"<li>{esc(o.text)} ({esc(_action_label(guideline, o.action))})</li>"
        for o in result.recommended
    )
    numbers = [n for o in result.chosen for n in judgement_numbers(o.judgement)]
    too_many = f"<p>You chose more than {max_choices}; the stage scores 0.</p>" if result.too_many else ""
    return (
        safety_html(result.safety_events)
        + f"<h4>Your choice{'s' if len(result.chosen) > 1 else ''}</h4><ul>{chosen}</ul>{too_many}"
        + f"<p>Points for this stage: {result.points:.2f} of 1.00</p>"
        + f'<p class="cb-scoring-rule">{esc(scoring_rule_text(max_choices))}</p>'
        + f"<h4>The guideline recommends</h4><ul>{recommended}</ul>"
        + (f"<h4>References</h4>{references_html(guideline, numbers)}" if numbers else "")
    )


def _action_label(guideline: Guideline, action_id: str) -> str:
    action = guideline.action(action_id)
    return action.label if action else action_id


def score_html(result: CaseResult, n_stages: int) -> str:
    """The scorer's score (`CaseResult.score`), worded; final once every stage is answered."""
    answered = len(result.stages)
    label = "Total score" if answered >= n_stages else (
        f"Score so far ({answered} of {n_stages} stages)")
    return (f'<p><strong>{label}:</strong> <span class="cb-score-value" '
            f'data-score="{result.score:.3f}">{result.score:.2f}</span> of 1.00 '
            f"({result.score:.0%})</p>")


def summary_html(case: Case, guideline: Guideline, result: CaseResult,
                 confidence: Mapping[str, str | None], related: Mapping[str, str],
                 link_query: str = "") -> str:
    """The end of a case: the table per stage, safety events, teaching points, related cases.

    `link_query` ends each related case's link, so the next page knows its learner."""
    rows = "".join(_summary_row(case, s, confidence.get(s.stage)) for s in result.stages)
    events = "".join(f"<li>{esc(_stage_title(case, stage))}: {esc(o.text)}</li>"
                     for stage, o in result.safety_events)
    points = "".join(f"<li>{esc(p.text)} {cite(p.references)}</li>" for p in case.teaching_points)
    numbers = [n for p in case.teaching_points for n in p.references]
    links = "".join(f'<li><a href="./{esc(cid)}.ipynb{esc(link_query)}">'
                    f"{esc(related.get(cid, cid))}</a></li>"
                    for cid in case.related)
    return (
        "<h3>Your results</h3><table><thead><tr><th>Stage</th><th>Your choice</th>"
        "<th>Verdict</th><th>Points</th><th>Confidence</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        + (f'<div class="cb-safety-event" role="alert">Safety events:<ul>{events}</ul></div>'
           if events else "<p>Safety events: none.</p>")
        + f"<h3>Key teaching points</h3><ul>{points}</ul>{references_html(guideline, numbers)}"
        + (f"<h3>Related cases</h3><ul>{links}</ul>" if links else "")
    )


def _stage_title(case: Case, stage_id: str) -> str:
    stage = case.stage(stage_id)
    return stage.title if stage else stage_id


def _summary_row(case: Case, result: StageResult, confidence: str | None) -> str:
    chosen = "; ".join(o.text for o in result.chosen) or "(none)"
    verdicts = "; ".join(verdict_label(o.verdict) for o in result.chosen) or "-"
    return (f"<tr><td>{esc(_stage_title(case, result.stage))}</td><td>{esc(chosen)}</td>"
            f"<td>{esc(verdicts)}</td><td>{result.points:.2f}</td>"
            f"<td>{esc(confidence or 'not given')}</td></tr>")


def error_html(message: str, details: Iterable[str] = ()) -> str:
    items = "".join(f"<li><code>{esc(d)}</code></li>" for d in details)
    return (f'{STYLE}<div class="cb-error-box" role="alert"><strong>{esc(message)}</strong>'
            + (f"<ul>{items}</ul>" if items else "") + "</div>")
