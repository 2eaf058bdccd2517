"""What digests remember: subscription scope and period, shared snapshots, snoozes and links.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 18:30:06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "digest_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_digest_snapshots_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_snapshots")),
    )
    op.create_table(
        "digest_projects",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("snoozed_by", _json(), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_digest_projects_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_digest_projects_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_digest_projects")),
    )
    with op.batch_alter_table("digest_projects") as batch:
        batch.create_index(batch.f("ix_digest_projects_workspace_id"), ["workspace_id"])
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.add_column(sa.Column("scope_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("scope_value", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("every_weeks", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("last_snapshot_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_digest_subscriptions_last_snapshot_id_digest_snapshots"),
            "digest_snapshots",
            ["last_snapshot_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.drop_constraint(
            batch.f("fk_digest_subscriptions_last_snapshot_id_digest_snapshots"),
            type_="foreignkey",
        )
        for column in ("last_sent_at", "last_snapshot_id", "every_weeks", "scope_value"):
            batch.drop_column(column)
        batch.drop_column("scope_kind")
    with op.batch_alter_table("digest_projects") as batch:
        batch.drop_index(batch.f("ix_digest_projects_workspace_id"))
    op.drop_table("digest_projects")
    op.drop_table("digest_snapshots")
