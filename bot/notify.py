"""Reach people directly (reminders, digests) on any platform: the platform places, the core queues."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sender import OutboxSender
from flows.replies import Reply


@dataclass(frozen=True)
class LinkTarget:
    """Where a project's conversation lives, for a platform to link to it from a digest."""

    project_id: int
    channel: str | None
    thread: str | None
    reference: dict[str, Any] | None = None  # a stored conversation reference (Teams)


class Notifier:
    """Queue direct messages and digests in the scheduler's transaction; send them afterwards.

    The sender's `directions` say how its platform reaches a person or a channel.
    """

    def __init__(self, sender: OutboxSender):
        self.sender = sender
        self.directions = sender.directions

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
        row = self.directions.to_person(person_id, reply)
        self.sender.enqueue(session, workspace_id=workspace_id, row=row, now=now)

    async def enqueue_all(
        self,
        session: AsyncSession,
        *,
        messages: Sequence[tuple[int, str, Reply]],
        now: datetime,
    ) -> None:
        """Queue direct messages, (workspace id, person id, reply) each, in one statement."""
        rows = [
            (workspace_id, self.directions.to_person(person_id, reply))
            for workspace_id, person_id, reply in messages
        ]
        await self.sender.enqueue_all(session, rows=rows, now=now)

    def enqueue_digest(
        self, session: AsyncSession, *, workspace_id: int, target_id: str, digest, now: datetime
    ) -> None:
        """Queue a digest to a person or a channel in the current transaction."""
        for row in self.directions.digest(target_id, digest):
            self.sender.enqueue(session, workspace_id=workspace_id, row=row, now=now)

    async def links(self, workspace: str, targets: Sequence[LinkTarget]) -> dict[int, str]:
        """Find links to projects' conversations, where the platform can (else none)."""
        find = getattr(self.directions, "links", None)
        if find is None or not targets:
            return {}
        return await find(workspace, targets)

    async def send(self, now: datetime) -> int:
        """Send what is due in the platform's outbox."""
        return await self.sender.deliver(now)
