"""Clinical cases scored against executable, cited guideline algorithms."""

from .engine import evaluate
from .errors import CasebookError, ContentError, EvaluationError, ScoringError
from .loading import load_case, load_guideline, load_library
from .models import Case, Guideline, Verdict
from .play import Play, Submission
from .scoring import answer_key, score_case, score_stage
from .validation import validate

__version__ = "0.1.0"

__all__ = [
    "Case", "CasebookError", "ContentError", "EvaluationError", "Guideline", "Play", "ScoringError",
    "Submission", "Verdict", "answer_key", "evaluate", "load_case", "load_guideline", "load_library",
    "score_case", "score_stage", "validate", "__version__",
]
