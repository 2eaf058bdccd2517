"""Keep conversation references: how mlplan reaches a person, a chat or a project's conversation later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationReference


@dataclass(frozen=True)
class Reference:
    """A stored reference under its key; `broken_at` is set once the platform refused it for good."""

    key: str
    reference: dict[str, Any]
    broken_at: datetime | None
    broken_reason: str | None
    updated_at: datetime

    @classmethod
    def of(cls, row: ConversationReference) -> Reference:
        """Copy a reference row into a value."""
        return cls(
            key=row.key,
            reference=row.reference,
            broken_at=row.broken_at,
            broken_reason=row.broken_reason,
            updated_at=row.updated_at,
        )


def _query(workspace_id: int, key: str) -> sa.Select:
    return sa.select(ConversationReference).where(
        ConversationReference.workspace_id == workspace_id, ConversationReference.key == key
    )


async def remember(
    *,
    session: AsyncSession,
    workspace_id: int,
    key: str,
    reference: dict[str, Any],
    now: datetime,
) -> None:
    """Store or refresh a reference; a fresh one heals a reference that was marked broken."""
    query = _query(workspace_id, key)
    found = await session.scalar(query)
    if found is None:
        try:
            async with session.begin_nested():
                found = ConversationReference(
                    workspace_id=workspace_id, key=key, reference=reference, updated_at=now
                )
                session.add(found)
            return
        except IntegrityError:
            found = await session.scalar(query)
    if found.reference != reference or found.broken_at is not None:
        found.reference = reference
        found.broken_at = None
        found.broken_reason = None
        found.updated_at = now


async def find(*, session: AsyncSession, workspace_id: int, key: str) -> Reference | None:
    """Return the reference stored under a key in this workspace, if any."""
    found = await session.scalar(_query(workspace_id, key))
    return Reference.of(found) if found is not None else None


async def any_working(*, session: AsyncSession, workspace_id: int) -> Reference | None:
    """Return the workspace's most recent working reference: it names the service URL and bot."""
    found = await session.scalar(
        sa.select(ConversationReference)
        .where(
            ConversationReference.workspace_id == workspace_id,
            ConversationReference.broken_at.is_(None),
        )
        .order_by(ConversationReference.updated_at.desc(), ConversationReference.id.desc())
        .limit(1)
    )
    return Reference.of(found) if found is not None else None


async def mark_broken(
    *, session: AsyncSession, workspace_id: int, key: str, reason: str, now: datetime
) -> bool:
    """Mark a reference broken; return True when it was working until now (so: report it once)."""
    result = await session.execute(
        sa.update(ConversationReference)
        .where(
            ConversationReference.workspace_id == workspace_id,
            ConversationReference.key == key,
            ConversationReference.broken_at.is_(None),
        )
        .values(broken_at=now, broken_reason=reason[:200], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
