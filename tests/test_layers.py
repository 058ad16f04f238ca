"""The package's layers, read from its source: SQL only in `casebook.records`, the measures free
of pandas and SQLAlchemy, and nothing importing `casebook.apps` (what notebooks call), so the
package has no import cycle through it."""

from __future__ import annotations

import ast
from pathlib import Path

import casebook

PACKAGE = Path(casebook.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (TYPE_CHECKING and function bodies too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)  # and `from casebook import apps` as casebook.apps:
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _modules() -> dict[str, set[str]]:
    return {str(p.relative_to(PACKAGE.parent)): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_only_the_records_import_sqlalchemy():
    outside = {path for path, names in _modules().items()
               if not path.startswith("casebook/records/")
               and any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for n in names)}
    assert outside == set()


def test_the_measures_are_pure():
    names = _imports(PACKAGE / "rules" / "measures.py")
    assert not [n for n in names if n.split(".")[0] in ("pandas", "sqlalchemy", "ipywidgets")]


def test_no_module_imports_the_notebooks_face():
    assert {path for path, names in _modules().items() if "casebook.apps" in names} == set()
