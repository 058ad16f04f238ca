"""Content: the case and guideline file formats, their safe loading and their JSON Schema.

Owns what an author writes (models) and how it is read (loading: safe YAML, every problem
collected with its file and field). Checking the graph needs the guideline engine, so it lives
in `casebook.rules.validation`. May import: `casebook.errors` only. Never ipywidgets,
SQLAlchemy, pandas or Voila.
"""
