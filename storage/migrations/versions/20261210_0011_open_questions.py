"""Open questions (`Answer later`) and owed sections get reminders: due times, what was sent.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00

Questions already left for later (their latest version says `later`) become open questions,
theirs who left them, to revisit a week after; open assignments count as handed over when they
were last changed. Both are due a look now: the first tick sets each one's exact time.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

REVISIT_DAYS = 7  # flows.engine.REVISIT_DAYS when this was written


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    stamp = sa.DateTime(timezone=True)
    questions = op.create_table(
        "open_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("owner", json, nullable=False),
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("revisit_on", sa.Date(), nullable=False),
        sa.Column("remind_at", stamp, nullable=True),
        sa.Column("reminded_at", stamp, nullable=True),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
        sa.Column("closed_at", stamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_open_questions_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_questions")),
    )
    op.create_index("ix_open_questions_project", "open_questions", ["project_id", "question_id"])
    op.create_index("ix_open_questions_remind_at", "open_questions", ["remind_at"])
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("assigned_at", stamp, nullable=True))
        batch.add_column(sa.Column("remind_at", stamp, nullable=True))
        batch.add_column(sa.Column("reminded", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("reminded_at", stamp, nullable=True))
        batch.create_index("ix_assignments_remind_at", ["remind_at"], unique=False)
    op.execute(
        sa.text(
            "UPDATE assignments SET assigned_at = updated_at,"
            " remind_at = CASE WHEN done_at IS NULL THEN CURRENT_TIMESTAMP END"
        )
    )
    with op.batch_alter_table("assignments") as batch:
        batch.alter_column("assigned_at", existing_type=stamp, nullable=False)
    _carry_later_answers(questions)


def _carry_later_answers(questions: sa.Table) -> None:
    """Make an open question of each question whose latest version was left for later."""
    bind = op.get_bind()
    answers = sa.table(
        "answers",
        sa.column("project_id", sa.Integer),
        sa.column("question_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("raw", sa.Text),
        sa.column("skipped", sa.Boolean),
        sa.column("author", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    latest = (
        sa.select(
            answers.c.project_id,
            answers.c.question_id,
            sa.func.max(answers.c.version).label("version"),
        )
        .group_by(answers.c.project_id, answers.c.question_id)
        .subquery()
    )
    rows = bind.execute(
        sa.select(
            answers.c.project_id, answers.c.question_id, answers.c.author, answers.c.created_at
        )
        .join(
            latest,
            sa.and_(
                latest.c.project_id == answers.c.project_id,
                latest.c.question_id == answers.c.question_id,
                latest.c.version == answers.c.version,
            ),
        )
        .where(answers.c.skipped.is_(True), answers.c.raw == "later")
    ).all()
    now = datetime.now(UTC)
    carried = []
    for project_id, question_id, author, created_at in rows:
        author = author if isinstance(author, dict) else {}
        if not author.get("id"):
            continue
        if isinstance(created_at, str):  # SQLite hands back text through a bare table
            created_at = datetime.fromisoformat(created_at)
        carried.append(
            {
                "project_id": project_id,
                "question_id": question_id,
                "owner": author,
                "owner_id": author["id"],
                "revisit_on": created_at.date() + timedelta(days=REVISIT_DAYS),
                "remind_at": now,
                "created_at": created_at,
                "updated_at": now,
            }
        )
    if carried:
        op.bulk_insert(questions, carried)


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_index("ix_assignments_remind_at")
        batch.drop_column("reminded_at")
        batch.drop_column("reminded")
        batch.drop_column("remind_at")
        batch.drop_column("assigned_at")
    op.drop_index("ix_open_questions_remind_at", table_name="open_questions")
    op.drop_index("ix_open_questions_project", table_name="open_questions")
    op.drop_table("open_questions")
