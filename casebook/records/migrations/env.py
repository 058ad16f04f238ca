"""Alembic's entry point for casebook's schema; run it through `casebook.records.database.upgrade(engine)`.

`upgrade` hands in a connection that already holds the migration lock inside a transaction, so
every migration below runs in that one transaction. To write the next migration, change the
tables in `casebook/database.py`, then let alembic draft the difference against a database at head:

    from alembic import command
    from casebook.records import database
    config = database.alembic_config()
    with database.connect("sqlite:///draft.db").begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, "what changes", autogenerate=True, rev_id="0002")

and review the draft by hand: migrations are code that runs on learners' records.
"""

from alembic import context

from casebook.records.database import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("casebook's migrations run through casebook.records.database.upgrade(engine)")

context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
