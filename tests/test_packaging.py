"""Packaging: every package casebook imports is declared, and a built wheel carries the
content that a plain `pip install .` serves."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from casebook.content import roots

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
RUNTIME_ONLY = {"ipykernel"}  # never imported, but no notebook runs without its kernel


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: list[str]) -> set[str]:
    return {_normalized(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def imported_modules(package: Path) -> dict[str, str]:
    """Every top-level module imported anywhere under `package` (in functions too), with
    the first file importing it."""
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.partition(".")[0], str(path.relative_to(package.parent)))
    return found


def undeclared(modules: dict[str, str], declared: set[str]) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for module, where in sorted(modules.items()):
        if module in sys.stdlib_module_names or module == "casebook":
            continue
        names = {_normalized(d) for d in distributions.get(module, [])}
        if not names:
            missing.append(f"{module} (imported by {where}) is not installed at all")
        elif not names & declared:
            missing.append(f"{module} (imported by {where}): declare {' or '.join(sorted(names))}")
    return missing


def test_every_imported_package_is_declared():
    declared = _declared(PYPROJECT["project"]["dependencies"])
    assert undeclared(imported_modules(REPO / "casebook"), declared) == []
    assert RUNTIME_ONLY <= declared


def test_the_scan_names_an_undeclared_import_even_inside_a_function(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text("import os\n\ndef f():\n    from yaml import safe_load\n")
    assert undeclared(imported_modules(package), {"pydantic"}) == [
        "yaml (imported by pkg/mod.py): declare pyyaml"]


def test_extras_for_authors_and_tests():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "jupyterlab" in _declared(extras["author"])
    assert {"pytest", "nbval"} <= _declared(extras["test"])


def test_the_wheel_build_step_copies_both_content_folders():
    setup = (REPO / "setup.py").read_text()
    manifest = (REPO / "MANIFEST.in").read_text().split()
    assert 'CONTENT = ("cases", "notebooks")' in setup and '"_content"' in setup
    assert {"cases", "notebooks"} <= set(manifest)


def test_a_checkout_uses_its_own_folders_and_an_installed_package_its_copy(tmp_path):
    assert roots.shipped_content(REPO / "casebook") == REPO
    installed = tmp_path / "site-packages" / "casebook"
    installed.mkdir(parents=True)
    assert roots.shipped_content(installed) == installed / "_content"


def test_settings_point_at_other_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEBOOK_CASES", str(tmp_path / "c"))
    monkeypatch.setenv("CASEBOOK_NOTEBOOKS", str(tmp_path / "n"))
    assert (roots.content_root(), roots.notebooks_root()) == (tmp_path / "c", tmp_path / "n")


@pytest.mark.parametrize("setting", ["CASEBOOK_CASES", "CASEBOOK_NOTEBOOKS"])
def test_a_missing_content_folder_is_one_line_naming_the_setting(monkeypatch, tmp_path, setting):
    monkeypatch.setenv(setting, str(tmp_path / "nowhere"))
    with pytest.raises(roots.CasebookError) as caught:
        roots.require_content()
    what = "cases" if setting == "CASEBOOK_CASES" else "notebooks"
    assert str(caught.value) == (f"no {what} folder at {tmp_path / 'nowhere'} (from ${setting}): "
                                 f"set {setting} to the casebook's {what} folder")


def test_serve_hands_both_folders_to_the_servers_and_the_kernels(monkeypatch, tmp_path):
    import casebook.serve.servers as servers
    from casebook.cli import main

    for name in ("cases", "notebooks"):
        (tmp_path / name).mkdir()
    called = []
    monkeypatch.setattr(servers, "main", lambda argv: called.append(argv) or 0)
    monkeypatch.delenv("CASEBOOK_CASES", raising=False)
    monkeypatch.delenv("CASEBOOK_NOTEBOOKS", raising=False)
    assert main(["serve", "--port", "9100", "--content", str(tmp_path)]) == 0
    assert called == [["--port=9100", f"--notebooks={tmp_path / 'notebooks'}"]]
    assert roots.content_root() == tmp_path / "cases"  # what the kernels inherit


def test_serve_without_content_is_one_line(monkeypatch, tmp_path, capsys):
    from casebook.cli import main

    assert main(["serve", "--content", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (f"casebook: --content {tmp_path}: "
                                       "needs both cases/ and notebooks/ in it\n")
