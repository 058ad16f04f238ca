"""The import contracts of pyproject.toml hold, and they would catch a bad import.

The contracts (`[tool.importlinter]`) are the architecture written down: the layers, a pure core
(content and rules import no widgets, SQL, pandas or Voila), SQL only in `casebook.records`, and
no package importing `casebook.apps`. Each contract is shown to fail on a copy of the package
with one deliberate bad import, so a contract that could never fail would be caught here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_shipped_package_keeps_every_contract():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("arch")
    shutil.copytree(REPO / "casebook", root / "casebook",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


BAD_IMPORTS = [  # (module to edit, the bad import, the contract that must break)
    ("casebook/rules/engine.py", "import sqlalchemy", "Content and rules are pure"),
    ("casebook/content/models.py", "import ipywidgets", "Content and rules are pure"),
    ("casebook/ui/player.py", "import sqlalchemy", "Only casebook.records talks SQL"),
    ("casebook/records/store.py", "import ipywidgets", "Records, rules and content import no widgets"),
    ("casebook/sessions/room.py", "import casebook.apps", "Each layer imports only the layers below it"),
    ("casebook/rules/scoring.py", "import casebook.ui.player", "Each layer imports only the layers below it"),
]


@pytest.mark.parametrize(("module", "line", "contract"), BAD_IMPORTS,
                         ids=[f"{m.split('/')[-1]}:{line}" for m, line, _ in BAD_IMPORTS])
def test_a_bad_import_breaks_its_contract(copy, module, line, contract):
    path = copy / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # deliberate: the contract must catch this\n")
    try:
        result = lint(copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in broken, result.stdout
