"""When each milestone and documentation item is next due a look: reminders and owner notices.

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-02 18:40:00

Existing items are backfilled as due now: the first tick after the upgrade looks at each open
item once (what was already sent is in `deliveries` and is not sent again) and sets its exact
next time; from then on a tick reads only what is due.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("milestones", "doc_items")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(
                sa.Column("owner_notice_at", sa.DateTime(timezone=True), nullable=True)
            )
            batch.create_index(f"ix_{table}_remind_at", ["remind_at"], unique=False)
            batch.create_index(f"ix_{table}_owner_notice_at", ["owner_notice_at"], unique=False)
        # Each open item is looked at once by the next tick, which sets its exact time.
        op.execute(
            sa.text(
                f"UPDATE {table} SET remind_at = CURRENT_TIMESTAMP,"
                " owner_notice_at = CURRENT_TIMESTAMP WHERE status = 'open'"
            )
        )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_owner_notice_at")
            batch.drop_index(f"ix_{table}_remind_at")
            batch.drop_column("owner_notice_at")
            batch.drop_column("remind_at")
