"""Keep Bot Framework conversation references: where mlplan can reach a Teams person, chat or project."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TeamsConversation


async def remember(
    *,
    session: AsyncSession,
    workspace_id: int,
    key: str,
    reference: dict[str, Any],
    now: datetime,
) -> None:
    """Store or refresh a reference; a fresh one heals a reference that was marked broken."""
    query = sa.select(TeamsConversation).where(
        TeamsConversation.workspace_id == workspace_id, TeamsConversation.key == key
    )
    found = await session.scalar(query)
    if found is None:
        try:
            async with session.begin_nested():
                found = TeamsConversation(
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


async def find(*, session: AsyncSession, workspace_id: int, key: str) -> TeamsConversation | None:
    """Return the reference stored under a key in this workspace, if any."""
    return await session.scalar(
        sa.select(TeamsConversation).where(
            TeamsConversation.workspace_id == workspace_id, TeamsConversation.key == key
        )
    )


async def any_working(*, session: AsyncSession, workspace_id: int) -> TeamsConversation | None:
    """Return the workspace's most recent working reference: it names the service URL and bot."""
    return await session.scalar(
        sa.select(TeamsConversation)
        .where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.broken_at.is_(None),
        )
        .order_by(TeamsConversation.updated_at.desc(), TeamsConversation.id.desc())
        .limit(1)
    )


async def mark_broken(
    *, session: AsyncSession, workspace_id: int, key: str, reason: str, now: datetime
) -> bool:
    """Mark a reference broken; return True when it was working until now (so: report it once)."""
    result = await session.execute(
        sa.update(TeamsConversation)
        .where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.key == key,
            TeamsConversation.broken_at.is_(None),
        )
        .values(broken_at=now, broken_reason=reason[:200], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
