"""Say where and by whom something was said, in every platform's terms: places, speakers, zones."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage import workspaces


@dataclass(frozen=True)
class Place:
    """Where a message was typed: platform, workspace (team or tenant), channel and thread."""

    platform: str
    workspace: str
    channel: str | None = None
    thread: str | None = None


@dataclass(frozen=True)
class Speaker:
    """Who typed a message; `timezone` is theirs when the platform says it."""

    id: str
    name: str | None = None
    email: str | None = None
    timezone: str | None = None

    def person(self) -> dict[str, Any]:
        """Describe the speaker as stored with answers and owners."""
        return {k: v for k, v in (("id", self.id), ("name", self.name), ("email", self.email)) if v}


def zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """Return the named time zone, or the default when it is unset or unknown to this machine."""
    if name:
        with contextlib.suppress(ValueError, KeyError):
            return ZoneInfo(name)
    return default


async def workspace_id_of(session: AsyncSession, place: Place, now: datetime) -> int:
    """Return the id of the workspace a place belongs to, creating it on first sight."""
    ws = await workspaces.get_or_create(
        session=session, platform=place.platform, external_id=place.workspace, now=now
    )
    return ws.id
