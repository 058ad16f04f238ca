"""The decision-path picture: well-formed inline SVG, escaped text, choices marked."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from casebook.content.loading import SHIPPED_ROOT, load_library
from casebook.rules.scoring import answer_key
from casebook.ui.pathview import path_svg
from conftest import nonempty

SMALL = Path(__file__).parent / "fixtures" / "small_library"
NS = {"svg": "http://www.w3.org/2000/svg"}


def picture(root: Path, case_id: str, chosen: dict[str, list[str]]) -> tuple[str, list]:
    library = load_library(root)
    case = library.cases[case_id]
    guideline = library.guideline_for(case)
    keys = answer_key(guideline, case)
    return path_svg(guideline, case, keys, chosen), keys


def test_svg_is_well_formed_and_titled_for_screen_readers():
    svg, _ = picture(SMALL, "knee-simple", {"first-visit": ["rest"]})
    tree = ET.fromstring(svg)
    assert tree.tag == "{http://www.w3.org/2000/svg}svg"
    assert tree.get("role") == "img"
    assert tree.find("svg:title", NS).text == "Decision path for A sore knee <that settles>"
    desc = tree.find("svg:desc", NS).text
    assert "Stage 1: you chose Advise rest and exercises (recommended)" in desc
    assert "Stage 2: you chose nothing" in desc


def test_text_from_content_is_escaped():
    svg, _ = picture(SMALL, "knee-simple", {})
    assert "<that settles>" not in svg and "&lt;that settles&gt;" in svg


def test_choices_marked_and_guideline_path_drawn():
    chosen = {"first-visit": ["opioid"], "after-rest": ["xray", "rest"]}
    svg, keys = picture(SMALL, "knee-simple", chosen)
    assert svg.count("✔ your choice") == 3
    recommended = sum(len(k.recommended) for k in keys)
    assert svg.count('stroke="#1a7f37" stroke-width="3"') == recommended
    options = sum(len(k.options) for k in keys)
    assert svg.count('stroke-dasharray="4 3"') == options - recommended
    assert ">Harmful  ✔ your choice</text>" in svg and ">Not indicated</text>" in svg
    assert "no-strong-opioids" not in svg and "context default" not in svg  # a learner's picture
    assert "Context: Knee pain seen in clinic" in svg
    assert "• Rest so far: Four weeks or more" in svg  # wrapped to fit the box


def test_picture_needs_no_network():
    svg, _ = picture(SMALL, "knee-hot-joint", {})
    assert svg.count("http") == 1  # the SVG namespace only
    assert "<image" not in svg and "<script" not in svg


@pytest.mark.parametrize("case_id", nonempty(sorted(load_library(SHIPPED_ROOT).cases),
                                              f"no case loads from {SHIPPED_ROOT}"))
def test_every_shipped_case_draws(case_id):
    library = load_library(SHIPPED_ROOT)
    case = library.cases[case_id]
    guideline = library.guideline_for(case)
    assert guideline is not None, f"{case_id}: its guideline {case.guideline.id} is not shipped"
    keys = answer_key(guideline, case)
    chosen = {k.stage: [k.options[0].option] for k in keys}
    tree = ET.fromstring(path_svg(guideline, case, keys, chosen))
    texts = " ".join(t.text or "" for t in tree.iter("{http://www.w3.org/2000/svg}text"))
    for stage in case.stages:
        assert stage.title.split()[0] in texts
