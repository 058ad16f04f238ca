"""Clinical cases scored against executable, cited guideline algorithms."""

__version__ = "0.1.0"
