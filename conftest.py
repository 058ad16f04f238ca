"""Every pytest run from this repository (tests/, and the notebooks nbval runs) is isolated.

Before anything is collected, the run makes a scratch folder of its own and points CASEBOOK_DB
at a SQLite file in it, and JUPYTER_RUNTIME_DIR at it: every process started from the run
inherits both (nbval's notebook kernels, the Voila servers of tests/voila_server.py, `python -m
casebook` children), so nothing falls back to the repository's `data/casebook.db`. Each
pytest-xdist worker makes its own, so two workers never share a database.

Under `--dist loadfile` (as `make test` runs), a test file, or a notebook's cells, stays in one
worker, and so do all of tests/browser/: one worker starts the browser suite's Chromium and
Voila server, instead of each worker starting its own.

The run (xdist's controller, or the only process) also notes the repository's `data/` folder at
the start and fails at the end, saying what changed, if any file in it was created, changed or
removed: a test wrote where only `make serve` should.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
DATA = REPO / "data"
PLUGIN = "casebook-isolation"
SET = ("CASEBOOK_DB", "JUPYTER_RUNTIME_DIR")


class FolderGuard:
    """What a folder holds (each file's size and mtime), and what changed in it since."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple[int, int]] | None:
        if not self.folder.exists():
            return None
        return {p.relative_to(self.folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
                for p in sorted(self.folder.rglob("*")) if p.is_file()}

    def changes(self) -> list[str]:
        """One line per change: the folder or a file in it created, changed or removed."""
        before, after = self.before, self.snapshot()
        if before == after:
            return []
        lines = [f"{self.folder} was created"] if before is None else []
        lines += [f"{self.folder} was removed"] if after is None else []
        before, after = before or {}, after or {}
        for name in sorted(before.keys() | after.keys()):
            what = ("created" if name not in before else "removed" if name not in after
                    else "changed" if before[name] != after[name] else "")
            if what:
                lines.append(f"{self.folder / name} was {what}")
        return lines


class Isolation:
    """The run's scratch folder and environment, and (in the controller) the data/ guard."""

    guard_class = FolderGuard

    def __init__(self, controller: bool):
        self.scratch = Path(tempfile.mkdtemp(prefix="casebook-tests-"))
        self.saved = {name: os.environ.get(name) for name in SET}
        os.environ["CASEBOOK_DB"] = f"sqlite:///{self.scratch / 'casebook.db'}"
        os.environ["JUPYTER_RUNTIME_DIR"] = str(self.scratch)
        self.guard = FolderGuard(DATA) if controller else None
        self.changed: list[str] = []

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.changed = self.guard.changes() if self.guard else []
        if self.changed and session.exitstatus in (pytest.ExitCode.OK,
                                                   pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.changed:
            terminalreporter.write_sep("=", "the repository's data/ changed during the run",
                                       red=True)
            for line in self.changed:
                terminalreporter.write_line(line, red=True)
            terminalreporter.write_line("Tests must use the run's CASEBOOK_DB "
                                        f"({os.environ['CASEBOOK_DB']}) or a tmp_path database.")

    def pytest_unconfigure(self) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(self.scratch, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    controller = not hasattr(config, "workerinput")  # an xdist worker has workerinput
    config.pluginmanager.register(Isolation(controller), PLUGIN)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """pytest-xdist's loadfile, with tests/browser/ one unit; other --dist modes as they are."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "tests/browser/" if scope.startswith("tests/browser/") else scope

    return BrowserTogether(config, log)
