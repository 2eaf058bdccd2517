"""Sections that a person owes, asked in a direct conversation with them (`assign`).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 19:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.String(length=64), nullable=False),
        sa.Column("assignee_id", sa.String(length=128), nullable=False),
        sa.Column("assignee", json, nullable=False),
        sa.Column("assigned_by", json, nullable=False),
        sa.Column("current_question_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_assignments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index("ix_assignments_assignee", "assignments", ["assignee_id", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_assignments_assignee", table_name="assignments")
    op.drop_table("assignments")
