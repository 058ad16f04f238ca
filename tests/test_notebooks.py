"""The notebooks match the content, and nbval catches a changed verdict in the answer keys.

Notebooks are generated (`casebook notebooks`), so these tests check that every case has
its app notebook and every notebook names a case, that generation is deterministic and up
to date, and that the answer-keys notebook's checked outputs fail nbval when a guideline's
verdict changes (run in a subprocess with CASEBOOK_CASES pointing at an altered copy).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from casebook import apps as app
from casebook.cli import main
from casebook.content.loading import SHIPPED_ROOT, load_library, read_yaml
from casebook.content.models import Verdict
from casebook.notebooks import (
    KEYS,
    NOTEBOOKS,
    WARM,
    check_notebooks,
    content_cases,
    write_notebooks,
)

REPO = SHIPPED_ROOT.parent
SMALL = Path(__file__).parent / "fixtures" / "small_library"
SANITIZE = Path(__file__).parent / "nbval_sanitize.cfg"
CALL = re.compile(r"""^(answer_keys|recommended_play)\("([^"]+)"\)$""", re.MULTILINE)


def test_every_case_has_a_notebook_and_every_notebook_names_a_case():
    assert check_notebooks(NOTEBOOKS, SHIPPED_ROOT) == []
    assert len(list((NOTEBOOKS / "cases").glob("*.ipynb"))) == len(content_cases(SHIPPED_ROOT))


def test_check_lists_cases_without_notebooks_and_notebooks_without_cases(tmp_path, capsys):
    out = tmp_path / "notebooks"
    write_notebooks(out, SMALL, execute=False)
    assert check_notebooks(out, SMALL) == []
    (out / "cases" / "knee-simple.ipynb").unlink()
    stray = out / "cases" / "knee-removed.ipynb"
    shutil.copy(out / "cases" / "knee-hot-joint.ipynb", stray)
    stray.write_text(stray.read_text().replace("knee-hot-joint", "knee-removed"))
    assert check_notebooks(out, SMALL) == [
        "notebook cases/knee-removed.ipynb names no case",
        "case knee-simple has no notebook (expected cases/knee-simple.ipynb)",
    ]
    assert main(["notebooks", "--check", "--out", str(out), "--cases", str(SMALL)]) == 1
    assert "knee-simple has no notebook" in capsys.readouterr().out


def test_writing_again_restores_and_removes(tmp_path):
    out = tmp_path / "notebooks"
    write_notebooks(out, SMALL, execute=False)
    (out / "cases" / "knee-simple.ipynb").unlink()
    stray = out / "cases" / "knee-removed.ipynb"
    stray.write_text((out / "cases" / "knee-hot-joint.ipynb").read_text()
                     .replace("knee-hot-joint", "knee-removed"))
    write_notebooks(out, SMALL, execute=False)
    assert sorted(p.name for p in (out / "cases").glob("*.ipynb")) == [
        "knee-hot-joint.ipynb", "knee-simple.ipynb"]


def test_generation_is_deterministic_and_the_shipped_notebooks_are_current(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_notebooks(first, SHIPPED_ROOT, execute=False)
    write_notebooks(second, SHIPPED_ROOT, execute=False)
    generated = sorted(p.relative_to(first) for p in first.rglob("*.ipynb"))
    assert generated == sorted(p.relative_to(second) for p in second.rglob("*.ipynb"))
    for rel in generated:
        assert (first / rel).read_bytes() == (second / rel).read_bytes()
        if rel != KEYS:
            assert (NOTEBOOKS / rel).read_text() == (first / rel).read_text(), (
                f"{rel} is stale; run `casebook notebooks`")
    shipped_sources = [c.source for c in nbformat.read(NOTEBOOKS / KEYS, 4).cells]
    assert shipped_sources == [c.source for c in nbformat.read(first / KEYS, 4).cells]


def test_case_notebook_is_one_call():
    nb = nbformat.read(NOTEBOOKS / "cases" / "rl-no-red-flags.ipynb", 4)
    assert [c.cell_type for c in nb.cells] == ["code"]
    assert nb.cells[0].source == (WARM + 'from casebook.apps import case_app\n\n'
                                  'case_app("rl-no-red-flags")')


def test_answer_key_cells_are_checked_and_saved_with_outputs():
    nb = nbformat.read(NOTEBOOKS / KEYS, 4)
    calls = [c for c in nb.cells if c.cell_type == "code" and CALL.search(c.source)]
    assert len(calls) == 2 * len(content_cases(SHIPPED_ROOT))
    for cell in calls:
        assert cell.source.startswith("# NBVAL_CHECK_OUTPUT\n")
        assert cell.outputs and cell.outputs[0].output_type == "stream"
        assert "error" not in cell.outputs[0].text.split("\n")[0]


# --- nbval, in a subprocess -------------------------------------------------------------------


def run_nbval(content: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASEBOOK_CASES": str(content)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-sanitize-with", str(SANITIZE),
         "-q", "-rf", str(NOTEBOOKS / KEYS)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )


def checked_cells() -> dict[int, tuple[str, str, str]]:
    """nbval's cell number -> (function, case id, saved output) of each checked cell."""
    cells, number = {}, 0
    for cell in nbformat.read(NOTEBOOKS / KEYS, 4).cells:
        if cell.cell_type != "code":
            continue
        match = CALL.search(cell.source)
        if match:
            text = "".join(o.get("text", "") for o in cell.outputs)
            cells[number] = (match.group(1), match.group(2), text)
        number += 1
    return cells


def output_now(function: str, case_id: str, content: Path) -> str:
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(buffer):
        mp.setenv("CASEBOOK_CASES", str(content))
        getattr(app, function)(case_id)
    return buffer.getvalue()


def change_a_verdict(content: Path) -> tuple[str, set[int]]:
    """Change one rule's verdict in `content`; return what changed and the cells it changes."""
    cells = checked_cells()
    library = load_library(content)
    for guideline in library.guidelines.values():
        path = Path(library.path_of(guideline))
        original = path.read_text(encoding="utf-8")
        for i, rule in enumerate(guideline.rules):
            data, problems = read_yaml(path)
            assert not problems
            new = next(v for v in Verdict if v is not rule.verdict)
            data["rules"][i]["verdict"] = new.value
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
            changed = {n for n, (function, case_id, saved) in cells.items()
                       if output_now(function, case_id, content) != saved}
            if changed:
                return f"{guideline.id} rule {rule.id}: {rule.verdict.value} -> {new.value}", changed
            path.write_text(original, encoding="utf-8")
    raise AssertionError("no rule's verdict shows in the answer-keys notebook")


def failed_cells(output: str) -> set[int]:
    return {int(n) for n in re.findall(r"FAILED \S*answer-keys\.ipynb::Cell (\d+)", output)}


def test_nbval_passes_against_the_shipped_content():
    result = run_nbval(SHIPPED_ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert failed_cells(result.stdout) == set()


def test_nbval_catches_a_changed_verdict_and_names_the_cell(tmp_path):
    content = tmp_path / "cases"
    shutil.copytree(SHIPPED_ROOT, content)
    change, expected = change_a_verdict(content)
    result = run_nbval(content)
    assert result.returncode == 1, f"{change} went unnoticed:\n{result.stdout[-3000:]}"
    assert failed_cells(result.stdout) == expected, change
    cases = {checked_cells()[n][1] for n in expected}
    assert all(case_id in result.stdout for case_id in cases)
