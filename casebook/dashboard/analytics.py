"""Instructor analytics over every recorded answer: pure functions from DataFrames to tables
and matplotlib figures, testable with no kernel (the widget is `casebook.dashboard.page`).

The input is `records.submissions(...)`, one row per answered stage and round; `answers()`
keeps each attempt's answer that counts per stage (`measures.counted`: a re-vote replaces the
first vote, as in `records.attempts`, the session report and progress) and adds:

- `who`: the learner's display name, or a session participant's nickname marked as such;
- `concordant`: `measures.concordant`, full points and nothing but the guideline's steps (the
  points and verdicts are those recorded when the answer was scored, so a later guideline
  version changes nothing);
- `harmful`: the number of harmful options chosen (`measures.safety_events`, as recorded).

Who may need help (`needs_help`), a deliberately simple rule: a person with at least
`HELP_SAFETY` safety events, or with at least `HELP_MIN_STAGES` answered stages whose mean points
are below `HELP_SCORE`, in the records shown (so the date and session filters apply).
"""

from __future__ import annotations

import base64
import io

import pandas as pd
from matplotlib.figure import Figure

from casebook.content.loading import Library
from casebook.records.frames import counted
from casebook.rules.measures import concordant
from casebook.rules.play import CONFIDENCE
from casebook.ui.render import render

HELP_SAFETY = 2
HELP_SCORE = 0.5
HELP_MIN_STAGES = 4
NOT_GIVEN = "not given"
STAGE = ["case_id", "stage_id"]


def answers(subs: pd.DataFrame) -> pd.DataFrame:
    """Each attempt's final answer per stage, with `who`, `concordant` and `harmful`."""
    final = counted(subs).sort_values("submitted_at", kind="stable").reset_index(drop=True)
    named = final["display_name"].notna() if len(final) else pd.Series(dtype=bool)
    final["who"] = final["display_name"].where(
        named, final["nickname"].astype(object).map(lambda n: f"{n} (session participant)"))
    final["concordant"] = pd.Series([concordant(p, v) for p, v in zip(
        final["points"], final["verdicts"], strict=True)], index=final.index, dtype=bool)
    final["harmful"] = final["safety_events"].map(len).astype(int)
    final["confidence"] = final["confidence"].fillna(NOT_GIVEN)
    return final


def concordance(final: pd.DataFrame) -> pd.DataFrame:
    """Per case and stage: answers, concordant answers, and the concordance rate."""
    table = final.groupby(STAGE, sort=True).agg(
        answers=("concordant", "size"), concordant=("concordant", "sum")).reset_index()
    table["rate"] = table["concordant"] / table["answers"]
    return table


def most_missed(final: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The decisions most often missed: stages by share of non-concordant answers."""
    table = concordance(final)
    table["missed"] = table["answers"] - table["concordant"]
    table["miss_rate"] = 1 - table["rate"]
    table = table[table["missed"] > 0]
    return (table.sort_values(["miss_rate", "missed", "case_id", "stage_id"],
                              ascending=[False, False, True, True])
            .head(top).reset_index(drop=True)[[*STAGE, "answers", "missed", "miss_rate"]])


def _chosen(final: pd.DataFrame) -> pd.DataFrame:
    """One row per option chosen: the answer's stage, who, the option and its verdict."""
    rows = [(r.case_id, r.stage_id, r.who, option, verdict)
            for r in final.itertuples(index=False)
            for option, verdict in zip(r.choices, r.verdicts, strict=True)]
    return pd.DataFrame(rows, columns=[*STAGE, "who", "option", "verdict"])


def chosen_instead(final: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The options most often chosen instead of a recommended one, with their verdicts."""
    columns = [*STAGE, "option", "verdict", "times", "share"]
    chosen = _chosen(final[~final["concordant"]])
    chosen = chosen[chosen["verdict"] != "recommended"]
    if chosen.empty:
        return pd.DataFrame(columns=columns)
    table = chosen.groupby([*STAGE, "option", "verdict"]).size().rename("times").reset_index()
    per_stage = final.groupby(STAGE).size().rename("stage_answers").reset_index()
    table = table.merge(per_stage, on=STAGE)
    table["share"] = table["times"] / table["stage_answers"]
    return (table.sort_values(["times", "case_id", "stage_id", "option"],
                              ascending=[False, True, True, True])
            .head(top).reset_index(drop=True)[columns])


def safety_events(final: pd.DataFrame) -> pd.DataFrame:
    """Harmful options chosen, per case, stage and option: how often and by how many people."""
    chosen = _chosen(final)
    chosen = chosen[chosen["verdict"] == "harmful"]
    if chosen.empty:
        return pd.DataFrame(columns=[*STAGE, "option", "events", "people"])
    return (chosen.groupby([*STAGE, "option"])
            .agg(events=("who", "size"), people=("who", "nunique")).reset_index()
            .sort_values(["events", *STAGE, "option"], ascending=[False, True, True, True])
            .reset_index(drop=True))


def calibration(final: pd.DataFrame) -> pd.DataFrame:
    """Confidence against correctness: per confidence level, answers, concordance, points."""
    levels = [*CONFIDENCE, NOT_GIVEN]
    table = (final.groupby("confidence")
             .agg(answers=("concordant", "size"), concordance=("concordant", "mean"),
                  mean_points=("points", "mean"))
             .reindex(levels).reset_index())
    table["answers"] = table["answers"].fillna(0).astype(int)
    return table


def needs_help(final: pd.DataFrame, safety: int = HELP_SAFETY, score: float = HELP_SCORE,
               min_stages: int = HELP_MIN_STAGES) -> pd.DataFrame:
    """People the module's rule flags, with their numbers and the reasons, worst first."""
    people = (final.groupby("who")
              .agg(stages=("points", "size"), mean_points=("points", "mean"),
                   safety_events=("harmful", "sum"), cases=("case_id", "nunique"))
              .reset_index())
    unsafe = people["safety_events"] >= safety
    low = (people["stages"] >= min_stages) & (people["mean_points"] < score)
    people["reasons"] = [
        "; ".join(r for r, hit in ((f"{n} safety events", u), (f"mean points {m:.2f}", lo)) if hit)
        for n, m, u, lo in zip(people["safety_events"], people["mean_points"], unsafe, low,
                               strict=True)]
    return (people[unsafe | low]
            .sort_values(["safety_events", "mean_points", "who"], ascending=[False, True, True])
            .reset_index(drop=True))


def labelled(table: pd.DataFrame, library: Library) -> pd.DataFrame:
    """`table` with the case title, stage title and option text beside their ids."""
    table = table.copy()
    cases = library.cases
    table.insert(0, "case", table["case_id"].map(lambda c: cases[c].title if c in cases else c))
    table.insert(1, "stage", [_stage_title(library, c, s)
                              for c, s in zip(table["case_id"], table["stage_id"], strict=True)])
    table.insert(2, "stage_no", [_stage_number(library, c, s)
                                 for c, s in zip(table["case_id"], table["stage_id"], strict=True)])
    if "option" in table:
        table["option_text"] = [_option_text(library, c, s, o) for c, s, o in zip(
            table["case_id"], table["stage_id"], table["option"], strict=True)]
    return table


def _stage_title(library: Library, case_id: str, stage_id: str) -> str:
    case = library.cases.get(case_id)
    stage = case.stage(stage_id) if case else None
    return stage.title if stage else stage_id


def _stage_number(library: Library, case_id: str, stage_id: str) -> int:
    """The stage's place in its case, from 1 (0 if the content no longer has it)."""
    case = library.cases.get(case_id)
    ids = [s.id for s in case.stages] if case else []
    return ids.index(stage_id) + 1 if stage_id in ids else 0


def _option_text(library: Library, case_id: str, stage_id: str, option_id: str) -> str:
    case = library.cases.get(case_id)
    stage = case.stage(stage_id) if case else None
    option = next((o for o in stage.options if o.id == option_id), None) if stage else None
    return option.text if option else option_id


# --- figures -------------------------------------------------------------------------------


def _bars(labels: list[str], values: list[float], title: str, xlabel: str,
          xmax: float | None = None) -> Figure:
    """Horizontal bars, first label on top; a figure saying so when there is nothing."""
    fig = Figure(figsize=(8, max(1.6, 0.35 * len(labels) + 1.0)), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    if not labels:
        ax.text(0.5, 0.5, "No answers in these records", ha="center", va="center")
        ax.set_axis_off()
        return fig
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color="#0969da")
    ax.set_yticks(positions, [label[:60] for label in labels])
    ax.set_xlabel(xlabel)
    if xmax is not None:
        ax.set_xlim(0, xmax)
    return fig


def concordance_figure(table: pd.DataFrame) -> Figure:
    labels = [f"{c} / {s}" for c, s in zip(table["case_id"], table["stage_id"], strict=True)]
    return _bars(labels, list(table["rate"]), "Concordance with the guideline, per stage",
                 "share of answers concordant with the guideline", 1)


def instead_figure(table: pd.DataFrame) -> Figure:
    labels = [f"{c} / {s}: {o} ({v})" for c, s, o, v in zip(
        table["case_id"], table["stage_id"], table["option"], table["verdict"], strict=True)]
    return _bars(labels, list(table["times"]), "Options most often chosen instead",
                 "times chosen")


def safety_figure(table: pd.DataFrame) -> Figure:
    labels = [f"{c} / {s}: {o}" for c, s, o in zip(
        table["case_id"], table["stage_id"], table["option"], strict=True)]
    return _bars(labels, list(table["events"]), "Safety events (harmful options chosen)",
                 "times chosen")


def calibration_figure(table: pd.DataFrame) -> Figure:
    shown = table[table["answers"] > 0]
    labels = [f"{c} ({n} answers)" for c, n in zip(shown["confidence"], shown["answers"],
                                                   strict=True)]
    return _bars(labels, list(shown["concordance"]), "Confidence against correctness",
                 "share of answers concordant with the guideline", 1)


def figure_html(fig: Figure, alt: str) -> str:
    """The figure as an inline PNG with its alt text (nothing is fetched)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return render("dashboard/figure.html.j2", data=data, alt=alt)
