"""The whole first schema: learners, their attempts and submissions, teaching sessions.

- learners: a display name chosen once (unique), no password.
- teaching_sessions: a short join code, the instructor key (hashed only), the case, the stage
  being voted on, the phase (waiting/voting/closed/revealed) and round (1 vote, 2 re-vote).
- session_participants: a nickname per session; anonymous unless linked to a learner.
- attempts: every attempt at a case is kept, with the guideline id and version that scored it;
  an unfinished one (finished_at NULL) can be resumed. It belongs to a learner or a participant.
- submissions: one answered stage per attempt and round, with a client-generated id so that a
  retried write is never duplicated.

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(36)
SLUG = sa.String(80)


def when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "learners",
        sa.Column("id", ID, nullable=False),
        sa.Column("display_name", sa.String(80), nullable=False),
        when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_learners"),
        sa.UniqueConstraint("display_name", name="uq_learners_display_name"),
    )
    op.create_table(
        "teaching_sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("join_code", sa.String(12), nullable=False),
        sa.Column("instructor_key_hash", sa.String(255), nullable=False),
        sa.Column("case_id", SLUG, nullable=False),
        sa.Column("current_stage", SLUG, nullable=True),
        sa.Column("phase", sa.String(10), nullable=False, server_default="waiting"),
        sa.Column("round", sa.SmallInteger(), nullable=False, server_default="1"),
        when("created_at"),
        when("updated_at"),
        when("ended_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_teaching_sessions"),
        sa.UniqueConstraint("join_code", name="uq_teaching_sessions_join_code"),
        sa.CheckConstraint("phase IN ('waiting', 'voting', 'closed', 'revealed')",
                           name="ck_teaching_sessions_phase"),
        sa.CheckConstraint("round IN (1, 2)", name="ck_teaching_sessions_round"),
    )
    op.create_table(
        "session_participants",
        sa.Column("id", ID, nullable=False),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("nickname", sa.String(40), nullable=False),
        sa.Column("learner_id", ID, nullable=True),
        when("joined_at"),
        sa.PrimaryKeyConstraint("id", name="pk_session_participants"),
        sa.ForeignKeyConstraint(["session_id"], ["teaching_sessions.id"],
                                name="fk_session_participants_session_id"),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"],
                                name="fk_session_participants_learner_id"),
        sa.UniqueConstraint("session_id", "nickname",
                            name="uq_session_participants_session_id_nickname"),
    )
    op.create_table(
        "attempts",
        sa.Column("id", ID, nullable=False),
        sa.Column("learner_id", ID, nullable=True),
        sa.Column("participant_id", ID, nullable=True),
        sa.Column("session_id", ID, nullable=True),
        sa.Column("case_id", SLUG, nullable=False),
        sa.Column("guideline_id", SLUG, nullable=False),
        sa.Column("guideline_version", sa.String(20), nullable=False),
        when("started_at"),
        when("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"], name="fk_attempts_learner_id"),
        sa.ForeignKeyConstraint(["participant_id"], ["session_participants.id"],
                                name="fk_attempts_participant_id"),
        sa.ForeignKeyConstraint(["session_id"], ["teaching_sessions.id"],
                                name="fk_attempts_session_id"),
        sa.CheckConstraint("learner_id IS NOT NULL OR participant_id IS NOT NULL",
                           name="ck_attempts_who"),
    )
    op.create_index("ix_attempts_learner_id_case_id", "attempts", ["learner_id", "case_id"])
    op.create_index("ix_attempts_session_id", "attempts", ["session_id"])
    op.create_index("ix_attempts_started_at", "attempts", ["started_at"])
    op.create_table(
        "submissions",
        sa.Column("id", ID, nullable=False),
        sa.Column("attempt_id", ID, nullable=False),
        sa.Column("stage_id", SLUG, nullable=False),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("verdicts", sa.JSON(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("safety_events", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.String(20), nullable=True),
        sa.Column("seconds_on_stage", sa.Float(), nullable=False),
        when("submitted_at"),
        when("recorded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], name="fk_submissions_attempt_id"),
        sa.UniqueConstraint("attempt_id", "stage_id", "round",
                            name="uq_submissions_attempt_id_stage_id_round"),
        sa.CheckConstraint("round IN (1, 2)", name="ck_submissions_round"),
    )
    op.create_index("ix_submissions_submitted_at", "submissions", ["submitted_at"])


def downgrade() -> None:
    for table in ("submissions", "attempts", "session_participants", "teaching_sessions",
                  "learners"):
        op.drop_table(table)
