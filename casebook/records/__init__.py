"""Records: the database (engine, schema, migrations), the store and the exports.

The only package that talks SQL: every read and write of learners, attempts, submissions,
teaching sessions and their participants goes through here, on SQLite or PostgreSQL.
May import: `casebook.content`, `casebook.rules`, `casebook.errors`. Never ipywidgets or Voila.
"""
