"""One base exception and a few focused ones that carry where a problem is.

A learner or author must never see a traceback: every error here has a one-line `str()`
that names the file, the field and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass


class CasebookError(Exception):
    """Base of every error the package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, as `path:field: message`."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.field}: {self.message}" if self.field else f"{self.path}: {self.message}"


class ContentError(CasebookError):
    """Content that failed loading or validation; holds every problem found, not the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class EvaluationError(CasebookError):
    """Findings the guideline cannot judge: unknown, of the wrong value, or matching no context."""


class ScoringError(CasebookError):
    """A play-through that names a stage or option the case does not have."""


class NotSaved(CasebookError):
    """An answer the records could not keep; `str()` is what the learner is told (no feedback
    is shown, and submitting again retries). The cause, for the log, is `__cause__`."""


class SessionError(CasebookError):
    """A class session cannot do what was asked; the message is worded for the person who asked
    (raised by `casebook.sessions` and by the session records in `casebook.records.sessions`)."""
