"""Content: the case and guideline file formats, safe loading and two-level validation.

Owns what an author writes (models), how it is read (loading: safe YAML, every problem
collected), how it is checked (validation: structure, then the graph) and the JSON Schema
exported for editors. May import: `casebook.errors` and `casebook.rules.engine` (validation
proves verdicts by evaluating the algorithm). Never ipywidgets, SQLAlchemy, pandas or Voila.
"""
