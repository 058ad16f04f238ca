"""A picture of the guideline's decision path through one case, the learner's choices marked.

Drawn as inline SVG (the template path.svg.j2, its geometry computed here): no graphviz, no
network, nothing to install in the browser. Each stage is a row: the stage with the findings
it revealed and the guideline context they put the case in, then every option with the
guideline's verdict (never a rule's id: learners read it). Thick green arrows are the
guideline's path (its recommended steps); the learner's choices carry a heavy outline and
the words "your choice", so the picture does not rely on colour alone. All text from content
is escaped by the template.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from casebook.content.models import Case, Guideline, Verdict
from casebook.rules.scoring import OptionKey, StageKey
from casebook.ui.render import render

Box = dict[str, Any]  # a rectangle and its lines of text, as path.svg.j2 draws it

COLOURS = {
    Verdict.recommended: ("#dafbe1", "#1a7f37"),
    Verdict.acceptable: ("#ddf4ff", "#0969da"),
    Verdict.not_indicated: ("#f6f8fa", "#6e7781"),
    Verdict.harmful: ("#ffebe9", "#cf222e"),
}
WIDTH = 780
STAGE_X, STAGE_W = 10, 260
OPTION_X, OPTION_W = 330, 440
LINE, PAD, GAP, TOP = 15, 8, 8, 40


def _text_lines(x: int, y: int, lines: Sequence[str], bold_first: bool = False) -> list[dict]:
    return [{"x": x, "y": y + (i + 1) * LINE, "text": line, "bold": bold_first and i == 0}
            for i, line in enumerate(lines)]


def _box(x: int, y: int, w: int, lines: Sequence[str], fill: str, stroke: str,
         stroke_width: float = 1.0, bold_first: bool = False) -> tuple[Box, int]:
    height = len(lines) * LINE + PAD
    return {"x": x, "y": y, "width": w, "height": height, "fill": fill, "stroke": stroke,
            "stroke_width": stroke_width, "lines": _text_lines(x + PAD, y, lines, bold_first)}, height


def _stage_lines(guideline: Guideline, case: Case, key: StageKey, number: int) -> list[str]:
    stage = case.stage(key.stage)
    lines = textwrap.wrap(f"Stage {number}: {stage.title}", 38)
    for name, value in stage.reveal.items():
        finding = guideline.finding(name)
        label = finding.label if finding else name
        shown = ("yes" if value else "no") if isinstance(value, bool) else (
            finding.values.get(value, value) if finding else value)
        lines += textwrap.wrap(f"{label}: {shown}", 38, initial_indent="• ",
                               subsequent_indent="  ")
    context = guideline.context(key.context)
    lines += textwrap.wrap(f"Context: {context.title if context else key.context}", 38)
    return lines


def _option_lines(option: OptionKey, chosen: bool) -> list[str]:
    lines = textwrap.wrap(option.text, 60) or [option.option]
    mark = "  ✔ your choice" if chosen else ""  # no rule id: learners read this picture
    return lines + [f"{option.verdict.label.capitalize()}{mark}"]


def _edge(x1: int, y1: int, x2: int, y2: int, recommended: bool) -> dict:
    return {"d": f"M{x1},{y1} C{x1 + 30},{y1} {x2 - 30},{y2} {x2},{y2}", "recommended": recommended}


def _stage_row(guideline: Guideline, case: Case, key: StageKey, number: int,
               chosen: set[str], y: int) -> tuple[dict, int, int]:
    """One stage's row; returns its boxes and arrows, the row's height and the stage box's."""
    options, oy = [], y
    stage_box, stage_h = _box(STAGE_X, y, STAGE_W, _stage_lines(guideline, case, key, number),
                              "#ffffff", "#24292f", 1.5, bold_first=True)
    for option in key.options:
        fill, stroke = COLOURS[option.verdict]
        picked = option.option in chosen
        box, h = _box(OPTION_X, oy, OPTION_W, _option_lines(option, picked), fill,
                      "#24292f" if picked else stroke, 3.5 if picked else 1.0)
        options.append((_edge(STAGE_X + STAGE_W, y + stage_h // 2, OPTION_X, oy + h // 2,
                              option.verdict is Verdict.recommended), box))
        oy += h + GAP
    return {"stage": stage_box, "options": options}, max(stage_h, oy - y - GAP), stage_h


def _legend() -> list[dict]:
    return [{"x": 10 + 130 * i, "fill": fill, "stroke": stroke, "label": v.label.capitalize()}
            for i, (v, (fill, stroke)) in enumerate(COLOURS.items())]


def _description(case: Case, keys: Sequence[StageKey], chosen: Mapping[str, set[str]]) -> str:
    sentences = []
    for number, key in enumerate(keys, 1):
        picked = [o for o in key.options if o.option in chosen.get(key.stage, set())]
        mine = "; ".join(f"{o.text} ({o.verdict.label})" for o in picked) or "nothing"
        best = "; ".join(o.text for o in key.recommended)
        sentences.append(f"Stage {number}: you chose {mine}; the guideline recommends {best}.")
    return " ".join(sentences)


def path_svg(guideline: Guideline, case: Case, keys: Sequence[StageKey],
             chosen: Mapping[str, Iterable[str]]) -> str:
    """The decision path of `case` as SVG; `chosen` maps stage id to the options picked."""
    picked = {stage: set(ids) for stage, ids in chosen.items()}
    rows, y, previous = [], TOP, None
    for number, key in enumerate(keys, 1):
        row, height, stage_h = _stage_row(guideline, case, key, number,
                                          picked.get(key.stage, set()), y)
        row["arrow"] = None if previous is None else {"x": STAGE_X + 40, "y1": previous, "y2": y}
        rows.append(row)
        previous, y = y + stage_h, y + height + 3 * GAP
    legend = _legend()
    return render("path.svg.j2", width=WIDTH, height=y, title=f"Decision path for {case.title}",
                  description=_description(case, keys, picked), legend=legend,
                  legend_note_x=legend[-1]["x"] + 130, rows=rows)
