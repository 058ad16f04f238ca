"""A participant's rejoin token, stored hashed: a reload, a lost connection or a phone that
slept comes back as the same participant, with the same votes.

- session_participants.rejoin_hash: the SHA-256 (hex) of the random token the learner's page
  carries in its address (`?session=CODE&rejoin=TOKEN`); NULL for participants who joined
  before this revision (they cannot rejoin). Unique: one token names one participant.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_participants") as batch:
        batch.add_column(sa.Column("rejoin_hash", sa.String(64), nullable=True))
    op.create_index("ix_session_participants_rejoin_hash", "session_participants",
                    ["rejoin_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_session_participants_rejoin_hash", table_name="session_participants")
    with op.batch_alter_table("session_participants") as batch:
        batch.drop_column("rejoin_hash")
