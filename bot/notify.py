"""Reach people directly (reminders, digests) on any platform: the platform places, the core queues."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.placement import Row
from bot.sender import OutboxSender
from flows.replies import Reply
from storage import outbox


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

    async def send(self, now: datetime) -> int:
        """Send what is due in the platform's outbox."""
        return await self.sender.deliver(now)
