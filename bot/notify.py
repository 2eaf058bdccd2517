"""Reach people directly (reminders, digests) on any platform: the platform places, the core queues."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.placement import Row
from bot.sender import OutboxSender
from flows.replies import Reply
from storage import outbox


@dataclass(frozen=True)
class LinkTarget:
    """Where a project's conversation lives, for a platform to link to it from a digest."""

    project_id: int
    channel: str | None
    thread: str | None
    reference: dict[str, Any] | None = None  # a stored conversation reference (Teams)


class Directions(Protocol):
    """How a platform reaches a person, a channel or a chat outside any conversation."""

    platform: str

    def to_person(self, person_id: str, reply: Reply) -> Row:
        """Place a direct message to a person."""

    def digest(self, target_id: str, digest: Any) -> list[Row]:
        """Place a digest, in as few messages as the platform's limits allow."""


class Notifier:
    """Queue direct messages and digests in the scheduler's transaction; send them afterwards."""

    def __init__(self, directions: Directions, sender: OutboxSender):
        self.directions = directions
        self.sender = sender

    def _enqueue(self, session: AsyncSession, workspace_id: int, row: Row, now: datetime) -> None:
        outbox.enqueue(
            session=session,
            workspace_id=workspace_id,
            platform=self.directions.platform,
            now=now,
            project_id=row.project_id,
            **row.options(),
        )

    def enqueue(
        self,
        session: AsyncSession,
        *,
        workspace_id: int,
        person_id: str,
        reply: Reply,
        now: datetime,
    ) -> None:
        """Queue a direct message in the current transaction."""
        self._enqueue(session, workspace_id, self.directions.to_person(person_id, reply), now)

    def enqueue_digest(
        self, session: AsyncSession, *, workspace_id: int, target_id: str, digest, now: datetime
    ) -> None:
        """Queue a digest to a person or a channel in the current transaction."""
        for row in self.directions.digest(target_id, digest):
            self._enqueue(session, workspace_id, row, now)

    async def links(self, workspace: str, targets: Sequence[LinkTarget]) -> dict[int, str]:
        """Find links to projects' conversations, where the platform can (else none)."""
        find = getattr(self.directions, "links", None)
        if find is None or not targets:
            return {}
        return await find(workspace, targets)

    async def send(self, now: datetime) -> int:
        """Send what is due in the platform's outbox."""
        return await self.sender.deliver(now)
