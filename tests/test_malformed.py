"""A bad file only takes itself out: each file in `fixtures/malformed/` (one defect each, named
by it) is reported as `path:field: message` with no traceback, and a library holding it beside
the shipped cases still plays every shipped case."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from widget_tree import one

from casebook import cli
from casebook.apps import case_app, home_app
from casebook.content.loading import SHIPPED_ROOT, load_library, read_yaml
from casebook.content.yamlcheck import MAX_BYTES
from casebook.ui.player import CasePlayer
from conftest import FIXTURES

MALFORMED = FIXTURES / "malformed"
FILES = sorted(MALFORMED.rglob("*.yaml"))
SHIPPED_CASES = sorted(load_library().cases)


def test_the_corpus_is_there():
    assert len(FILES) >= 50
    kinds = " ".join(p.stem for p in FILES)
    for defect in ("huge-integer", "duplicate", "invalid-utf8", "tab", "deep-nesting",
                   "alias-bomb", "bom", "nul-byte", "empty-file", "list-where-mapping"):
        assert defect in kinds


def _library_with(bad: Path, root: Path) -> Path:
    """A copy of the shipped content with `bad` added where a file of its kind lives."""
    shutil.copytree(SHIPPED_ROOT, root)
    folder = root / "guidelines" if bad.parent.name == "guidelines" else root
    target = folder / f"zz-{bad.name}"
    shutil.copyfile(bad, target)
    return target


@pytest.mark.parametrize("bad", FILES, ids=[str(p.relative_to(MALFORMED)) for p in FILES])
def test_a_malformed_file_is_reported_and_takes_only_itself_out(bad, tmp_path, monkeypatch,
                                                                capsys):
    target = _library_with(bad, tmp_path / "content")
    code = cli.main(["validate", str(tmp_path / "content")])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    lines = [line for line in out.splitlines() if line.startswith(f"{target}:")]
    assert lines, out
    for line in lines:  # path:field: message, the field never empty
        field, _, message = line[len(f"{target}:"):].partition(": ")
        assert field.strip() and message.strip(), line
    assert not [line for line in out.splitlines() if not line.startswith(f"{target}:")], out

    monkeypatch.setenv("CASEBOOK_CASES", str(tmp_path / "content"))
    home = home_app()
    listing = one(home, "cb-home").value
    for case_id in SHIPPED_CASES:
        assert f'href="cases/{case_id}.ipynb"' in listing, case_id
    assert str(target.name) in one(home, "cb-error").value
    unrelated = SHIPPED_CASES[FILES.index(bad) % len(SHIPPED_CASES)]  # each, over the corpus
    assert isinstance(case_app(unrelated), CasePlayer), unrelated


def test_the_whole_corpus_at_once_gives_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "casebook", "validate", str(MALFORMED)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert "problem(s) found" in proc.stderr


def test_a_file_too_large_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("title: " + "x" * MAX_BYTES + "\n")
    _, problems = read_yaml(path)
    assert [(p.field, p.message.split(";")[0]) for p in problems] == [
        ("(file)", f"is {MAX_BYTES + 8} bytes")]


def test_a_duplicate_key_names_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("id: a\nstages:\n  - id: x\n    title: one\n    title: two\n")
    _, problems = read_yaml(path)
    assert [str(p) for p in problems] == [
        f"{path}:stages[0].title: key written twice on line 4 and line 5"]


def test_aliases_within_limits_still_load(tmp_path):
    path = tmp_path / "alias.yaml"
    path.write_text("a: &x [1, 2]\nb: *x\nc: {<<: {d: 1}, e: 2}\n")
    data, problems = read_yaml(path)
    assert problems == [] and data == {"a": [1, 2], "b": [1, 2], "c": {"d": 1, "e": 2}}
