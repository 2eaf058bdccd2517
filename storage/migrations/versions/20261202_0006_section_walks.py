"""The section a project walks again question by question (`ask`).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 10:35:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("walking_section", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("walking_section")
