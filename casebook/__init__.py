"""Clinical cases scored against executable, cited guideline algorithms."""

from casebook.content.loading import load_case, load_guideline, load_library
from casebook.content.models import Case, Guideline, Verdict
from casebook.errors import CasebookError, ContentError, EvaluationError, ScoringError
from casebook.rules.engine import evaluate
from casebook.rules.play import Play, Submission
from casebook.rules.scoring import answer_key, score_case, score_stage
from casebook.rules.validation import validate

__version__ = "0.1.0"

__all__ = [
    "Case", "CasebookError", "ContentError", "EvaluationError", "Guideline", "Play", "ScoringError",
    "Submission", "Verdict", "answer_key", "evaluate", "load_case", "load_guideline", "load_library",
    "score_case", "score_stage", "validate", "__version__",
]
