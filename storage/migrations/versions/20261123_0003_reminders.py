"""Add what reminders need: snoozes, who finished an item, and the history of actions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:03:55.837415
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "by",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_item_actions_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_actions")),
    )
    with op.batch_alter_table("item_actions", schema=None) as batch_op:
        batch_op.create_index("ix_item_actions_item", ["item_kind", "item_id"], unique=False)

    with op.batch_alter_table("doc_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "done_by",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("snoozed_until", sa.Date(), nullable=True))

    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "done_by",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("snoozed_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("done_by")

    with op.batch_alter_table("doc_items", schema=None) as batch_op:
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("done_by")

    with op.batch_alter_table("item_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_item_actions_item")

    op.drop_table("item_actions")
