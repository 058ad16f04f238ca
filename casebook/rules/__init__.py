"""Rules: the guideline engine, the scorer, a play-through, validation and the measures.

Pure functions over content models: a verdict for every action (engine), points for a stage
and a case (scoring), a learner's way through a case (play), the graph checks that prove a
library consistent by running the engine (validation), and `measures`, where stage points, case
score, concordance, safety events, playability and which vote counts are defined once for every
view. May import: `casebook.content`, `casebook.errors`. Never ipywidgets, SQLAlchemy, pandas
or Voila.
"""
