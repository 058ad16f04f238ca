"""After a session: per stage, how the room voted, first vote against re-vote.

For each stage and round: the distribution of choices, the concordance (the share of votes
concordant with the guideline, `measures.concordant`), the votes with a harmful step (safety
events), and the median confidence; and the tally of the votes that count (`measures.counted`:
a re-vote replaces the first vote), the figure the dashboard and the exports show. For the re-vote: how many
voted both times, how many changed their answer, and how many moved to or away from the
guideline's answer. As rows (the CLI, CSV), escaped HTML tables and a matplotlib figure
(imported only when drawn: the instructor's path, never a learner's).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median_low

from casebook.content.loading import Library
from casebook.content.models import Case, Verdict
from casebook.errors import CasebookError
from casebook.records.csvsafe import CRLF, safe_rows
from casebook.records.database import Engine
from casebook.rules import measures
from casebook.rules.measures import Tally
from casebook.rules.play import CONFIDENCE
from casebook.rules.scoring import StageKey, answer_key
from casebook.sessions import machine as sessions
from casebook.sessions import room
from casebook.sessions.room import Vote
from casebook.ui.markup import verdict_label
from casebook.ui.render import render


@dataclass(frozen=True)
class StageReport:
    key: StageKey
    title: str
    rounds: tuple[Tally, ...]  # round 1, and round 2 if there was a re-vote
    median_confidence: dict[int, str | None]
    both: int = 0  # voted in both rounds
    changed: int = 0  # of those, changed their choices
    to_key: int = 0  # not concordant first, concordant on the re-vote
    from_key: int = 0  # concordant first, not on the re-vote
    counted: Tally | None = None  # the votes that count: each participant's re-vote, else vote
    counted_confidence: str | None = None  # their median confidence


@dataclass(frozen=True)
class Report:
    session: sessions.SessionState
    case: Case
    stages: list[StageReport]
    votes: list[Vote]


def _median_confidence(votes: Sequence[Vote]) -> str | None:
    ranks = [CONFIDENCE.index(v.confidence) for v in votes if v.confidence in CONFIDENCE]
    return CONFIDENCE[median_low(ranks)] if ranks else None


def stage_report(key: StageKey, title: str, all_votes: Sequence[Vote]) -> StageReport:
    mine = [v for v in all_votes if v.stage_id == key.stage]
    rounds = (1, 2) if any(v.round == 2 for v in mine) else (1,)
    first = {v.participant_id: v for v in mine if v.round == 1}
    second = {v.participant_id: v for v in mine if v.round == 2}
    pairs = [(first[p], second[p]) for p in first if p in second]
    counted = measures.counted(mine, who="participant_id")
    return StageReport(
        key, title, tuple(measures.tally(mine, key, r) for r in rounds),
        {r: _median_confidence([v for v in mine if v.round == r]) for r in rounds},
        both=len(pairs), changed=sum(set(a.choices) != set(b.choices) for a, b in pairs),
        to_key=sum(not a.concordant and b.concordant for a, b in pairs),
        from_key=sum(a.concordant and not b.concordant for a, b in pairs),
        counted=measures.tally(counted, key), counted_confidence=_median_confidence(counted))


def build(engine: Engine, code: str, library: Library) -> Report:
    """The report of the session with join code `code`, scored by the library's guideline."""
    session = sessions.by_code(engine, code)
    case = library.cases.get(session.case_id)
    guideline = library.guideline_for(case) if case is not None else None
    if case is None or guideline is None:
        raise CasebookError(f"session {session.join_code}: case {session.case_id!r} "
                            "is not in the content any more")
    all_votes = room.votes(engine, session.id)
    stages = [stage_report(k, s.title, all_votes)
              for k, s in zip(answer_key(guideline, case), case.stages, strict=True)]
    return Report(session, case, stages, all_votes)


VOTE_COLUMNS = ("nickname", "stage", "round", "choices", "verdicts", "points", "safety_events",
                "confidence", "submitted_at")


def _share(tally: Tally) -> str:
    return "-" if tally.share is None else f"{tally.share:.0%}"


def _summary_row(s: StageReport, t: Tally, confidence: str | None) -> dict:
    return {
        "stage": s.key.stage, "round": "counted" if t.round is None else t.round,
        "voters": t.voters, "concordant": t.concordant,
        "concordance": "" if t.share is None else round(t.share, 3),
        "harmful_votes": t.harmful,
        "median_confidence": confidence or "-",
        "changed_on_revote": s.changed if t.round == 2 else "",
        "to_guideline": s.to_key if t.round == 2 else "",
        "away_from_guideline": s.from_key if t.round == 2 else "",
    }


def summary_rows(report: Report) -> list[dict]:
    """One row per stage and round; after a re-vote, also a row ("counted") of the votes that
    count (`measures.counted`: each participant's re-vote, else their first vote), the figures
    the dashboard and the exports show for the session."""
    rows = []
    for s in report.stages:
        rows += [_summary_row(s, t, s.median_confidence[t.round]) for t in s.rounds]
        if len(s.rounds) > 1 and s.counted is not None:
            rows.append(_summary_row(s, s.counted, s.counted_confidence))
    return rows


def option_rows(report: Report) -> list[dict]:
    """One row per stage and option: its verdict and its votes in each round."""
    return [{"stage": s.key.stage, "option": o.option, "text": o.text, "verdict": o.verdict.value,
             "round_1": s.rounds[0].counts[o.option],
             "round_2": s.rounds[1].counts[o.option] if len(s.rounds) > 1 else ""}
            for s in report.stages for o in s.key.options]


def vote_rows(report: Report) -> list[dict]:
    """One row per vote, by nickname: for the instructor's CSV only."""
    return [{"nickname": v.nickname, "stage": v.stage_id, "round": v.round,
             "choices": json.dumps(v.choices), "verdicts": json.dumps(v.verdicts),
             "points": v.points, "safety_events": json.dumps(v.safety_events),
             "confidence": v.confidence or "", "submitted_at": v.submitted_at.isoformat()}
            for v in report.votes]


def csv_text(rows: list[dict], columns: Sequence[str] = ()) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns or (rows[0] if rows else ())),
                            lineterminator=CRLF)
    writer.writeheader()
    writer.writerows(safe_rows(rows))  # no cell a spreadsheet would run as a formula
    return out.getvalue()


def csv_files(report: Report) -> dict[str, str]:
    """File name -> CSV text: the stages and rounds, the options, and every vote."""
    code = report.session.join_code
    return {f"session-{code}-stages.csv": csv_text(summary_rows(report)),
            f"session-{code}-options.csv": csv_text(option_rows(report)),
            f"session-{code}-votes.csv": csv_text(vote_rows(report), VOTE_COLUMNS)}


def write_csv(report: Report, out: str | Path) -> list[Path]:
    """session-CODE-stages.csv, -options.csv and -votes.csv in `out` (created if missing)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in csv_files(report).items():
        paths.append(folder / name)
        paths[-1].write_text(text, encoding="utf-8")
    return paths


def _table(rows: list[dict], css: str) -> str:
    return render("sessions/report_table.html.j2", rows=rows, css=css)


def report_html(report: Report) -> str:
    """The tables, escaped: stages and rounds, then options with their verdicts."""
    options = [{**r, "verdict": verdict_label(Verdict(r["verdict"]))} for r in option_rows(report)]
    stages = [{**r, "concordance": "-" if r["concordance"] == "" else f"{r['concordance']:.0%}"}
              for r in summary_rows(report)]
    return render("sessions/report_tables.html.j2", join_code=report.session.join_code,
                  title=report.case.title, stages_html=_table(stages, "cb-report-stages"),
                  options_html=_table(options, "cb-report-options"))


def report_svg(report: Report) -> str:
    """Per stage, votes per option in each round as bars; the guideline's steps marked."""
    import matplotlib
    from matplotlib.figure import Figure

    stages = report.stages
    fig = Figure(figsize=(7, 2.2 * len(stages) + 0.5), layout="constrained")
    for ax, s in zip(fig.subplots(len(stages), 1, squeeze=False)[:, 0], stages, strict=True):
        labels = [f"{o.option}{' (key)' if o.verdict.value == 'recommended' else ''}"
                  f"{' (harmful)' if o.verdict.value == 'harmful' else ''}" for o in s.key.options]
        height = 0.8 / len(s.rounds)
        for i, tally in enumerate(s.rounds):
            ys = [n + i * height for n in range(len(labels))]
            ax.barh(ys, list(tally.counts.values()), height=height,
                    label="first vote" if tally.round == 1 else "re-vote")
        ax.set_yticks([n + height * (len(s.rounds) - 1) / 2 for n in range(len(labels))], labels)
        ax.invert_yaxis()
        ax.set_title(f"{s.key.stage}: concordance {' -> '.join(_share(t) for t in s.rounds)}",
                     fontsize=9)
        ax.set_xlabel("votes")
        ax.legend(fontsize=7)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "casebook"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # no XML prolog or DOCTYPE inside a page
    # matplotlib's <style> would apply to the whole page: its rule is in casebook.css instead
    return re.sub(r"<style[^>]*>.*?</style>", "", text, count=1, flags=re.S)
