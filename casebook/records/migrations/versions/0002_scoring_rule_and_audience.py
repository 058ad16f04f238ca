"""Which scoring rule gave each submission its points, and who each learner is (audience).

- submissions.scoring_rule: the version of `casebook.rules.measures.stage_points` that scored
  the answer. Every row recorded before this migration was scored by rule "1" (multi-answer:
  keyed chosen / keyed required) and keeps its points and that rule; new rows carry the rule
  current when they were scored. Only `casebook rescore --apply` changes recorded points.
- learners.audience: the learner's answer to "Which best describes you?" (student, resident,
  attending); NULL until they answer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the server default fills the rows already there, then goes: a new row must say its rule
    # (SQLite drops a default by copying the table, constraints and index as they are)
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("scoring_rule", sa.String(10), nullable=False,
                                   server_default="1"))
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("scoring_rule", server_default=None)
    with op.batch_alter_table("learners") as batch:
        batch.add_column(sa.Column("audience", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("learners") as batch:
        batch.drop_column("audience")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("scoring_rule")
