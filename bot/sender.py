"""Send an outbox in order, retrying: the part every platform's delivery shares.

A platform's delivery subclasses `OutboxSender` and says how to send one row (`_send`) and
which conversation a row belongs to; this class claims due rows, keeps each conversation in
order (a later message waits while an earlier one is being retried), and records the outcome.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from storage import outbox
from storage.outbox import Message

log = logging.getLogger("mlplan")
MAX_BACKOFF = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """Wait longer after each failed try: 15 s, 30 s, 1 min … at most an hour."""
    return min(timedelta(seconds=15) * (2 ** min(attempts, 12)), MAX_BACKOFF)


class OutboxSender(abc.ABC):
    """Claim due outbox rows of one platform and send them, one conversation in order."""

    platform: str

    def __init__(self, *, sessions: async_sessionmaker, clock: Callable[[], datetime]):
        self.sessions = sessions
        self.clock = clock
        self._tasks: set[asyncio.Task] = set()
        self._lock = asyncio.Lock()

    def kick(self) -> None:
        """Send what is due, in the background, after the current request is answered."""
        self.spawn(self.deliver())

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run work in the background, tracked so that shutdown (and tests) can wait for it."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every background send started so far (for shutdown and tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def deliver(self, now: datetime | None = None) -> int:
        """Send every due message, oldest first; a conversation's later messages wait for its earlier ones."""
        async with self._lock:  # one sender per process keeps each conversation in order
            return await self._deliver(now or self.clock())

    def conversation_of(self, row: Message) -> Hashable:
        """Name the conversation a row belongs to: a project's thread, or one channel."""
        return (
            ("project", row.project_id) if row.project_id is not None else ("channel", row.channel)
        )

    async def _deliver(self, now: datetime) -> int:
        async with self.sessions() as session:
            rows = await outbox.due(session=session, platform=self.platform, now=now)
        sent, held = 0, set()
        for row in rows:
            conversation = self.conversation_of(row)
            if conversation in held:
                continue
            async with self.sessions() as session:
                claimed = await outbox.claim(session=session, outgoing_id=row.id, now=now)
                await session.commit()
            if not claimed:
                held.add(conversation)
                continue
            outcome = await self._send(row, now)
            if outcome:
                sent += 1
            elif outcome is False:  # to be tried again: what follows it waits
                held.add(conversation)
        return sent

    @abc.abstractmethod
    async def _send(self, row: Message, now: datetime) -> bool | None:
        """Send one claimed row and record the outcome.

        Return True when it went out, False when it is to be tried again (the conversation's
        later messages wait for it), None when it was given up (they go on without it).
        """

    async def _finish(
        self, row: Message, now: datetime, *, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed try: to be tried again at `retry_at`, or (None) failed for good."""
        async with self.sessions() as session:
            await outbox.finish(
                session=session, outgoing_id=row.id, now=now, error=error, retry_at=retry_at
            )
            await session.commit()


async def flush_forever(sender: OutboxSender, every: float) -> None:
    """Send pending messages every few seconds: the later tries of anything not taken at once."""
    while True:
        await asyncio.sleep(every)
        try:
            await sender.deliver()
        except Exception:  # the next round tries again; one bad round must not stop the loop
            log.exception("sending pending %s messages failed", sender.platform)


@contextlib.asynccontextmanager
async def flushing(sender: OutboxSender, *, every: float):
    """Run the pending-message loop while the block runs; finish in-flight sends at the end."""
    task = asyncio.create_task(flush_forever(sender, every)) if every > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await sender.drain()
