"""Keep workspaces: a Slack team, a Teams tenant or the local terminal, the boundary of every query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models


@dataclass(frozen=True)
class Workspace:
    """A workspace as mlplan knows it: its id and the platform's id for it."""

    id: int
    platform: str
    external_id: str

    @classmethod
    def of(cls, row: models.Workspace) -> Workspace:
        """Copy a workspace row into a value."""
        return cls(id=row.id, platform=row.platform, external_id=row.external_id)


async def get_or_create(
    *, session: AsyncSession, platform: str, external_id: str, now: datetime
) -> Workspace:
    """Return the workspace for a platform's team or tenant id, creating it on first sight."""
    query = sa.select(models.Workspace).where(
        models.Workspace.platform == platform, models.Workspace.external_id == external_id
    )
    found = await session.scalar(query)
    if found is None:
        try:
            async with session.begin_nested():
                found = models.Workspace(platform=platform, external_id=external_id, created_at=now)
                session.add(found)
        except IntegrityError:  # created by a concurrent request in the meantime
            found = await session.scalar(query)
    return Workspace.of(found)


async def get(*, session: AsyncSession, workspace_id: int) -> Workspace | None:
    """Return the workspace of an id, if it exists."""
    found = await session.get(models.Workspace, workspace_id)
    return Workspace.of(found) if found is not None else None
