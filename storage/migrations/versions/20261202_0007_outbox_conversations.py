"""Name each outbox row's conversation, so that nothing overtakes a waiting message of it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("project_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("status", sa.String),
    sa.column("platform", sa.String),
    sa.column("conversation", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("conversation", sa.String(length=300), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("tells_failure", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch.create_index(
            "ix_outbox_conversation", ["platform", "conversation", "status", "id"], unique=False
        )
    # Only messages still to be sent need their conversation; the rest are history. Teams rows
    # named their destination in the payload's `to`; they name it as their channel now.
    connection = op.get_bind()
    pending = connection.execute(
        sa.select(
            outbox.c.id, outbox.c.project_id, outbox.c.platform, outbox.c.channel, outbox.c.payload
        ).where(outbox.c.status == "pending")
    ).all()
    for row in pending:
        payload = row.payload or {}
        where = payload.get("to") if isinstance(payload, dict) else None
        conversation = (
            f"project:{row.project_id}"
            if row.project_id is not None
            else f"to:{where or row.channel or ''}"
        )
        values = {"conversation": conversation}
        if row.platform == "msteams" and row.channel is None:
            values["channel"] = where  # Teams rows now name their destination as their channel
        connection.execute(outbox.update().where(outbox.c.id == row.id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_conversation")
        batch.drop_column("tells_failure")
        batch.drop_column("conversation")
