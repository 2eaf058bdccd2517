"""Send the outbox in order, retrying, for every platform: a platform only says how to send one row.

The core queues each message with the change that causes it (`bot.core`, `bot.notify`); this
sender claims what is due, keeps each conversation in order (nothing overtakes a waiting message
of its conversation, across passes, processes and restarts: `storage.outbox.heads`), records the
outcome, gives up after `MAX_ATTEMPTS` or at once on a permanent error, and tells someone once
when a message could not be sent. A platform supplies a `Transport` (one row in, a `Sent`,
`Retry` or `Failed` out; no storage) and `Directions` (how it places a notice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.placement import Row
from flows.replies import Reply, Say
from storage import db, outbox, people, projects, references
from storage.outbox import CLAIM_FOR, Claimed, Message

__all__ = ["Failed", "Message", "OutboxSender", "Retry", "Sent", "Transport", "Where"]
log = logging.getLogger("mlplan")
MAX_BACKOFF = timedelta(hours=1)
# After this many tries a message is given up (about an hour of backoff) and someone is told.
MAX_ATTEMPTS = 8
# A send that takes longer is abandoned and retried: a claim always outlives the send holding it.
SEND_WITHIN = CLAIM_FOR.total_seconds() / 3
# Conversations sent to at the same time; each one's messages still go out one by one. Also
# the most messages a sender has ever handed over and not yet recorded: all a crash can resend.
AT_ONCE = 8
# A retry the platform asked for within this long is tried at its time, not at the next flush.
WAKE_WITHIN = timedelta(seconds=10)
# A claimed row is sent only if its send can end this long before its claim runs out.
LATE_MARGIN = 5


def backoff(attempts: int) -> timedelta:
    """Wait longer after each failed try: 15 s, 30 s, 1 min … at most an hour."""
    return min(timedelta(seconds=15) * (2 ** min(attempts, 12)), MAX_BACKOFF)


@dataclass(frozen=True)
class Where:
    """What the core knows of where a row goes, read before it is sent.

    `workspace`: the platform's own id of the workspace (a Slack team); `channel` and `parent`:
    the project's conversation and the platform's id of its parent message, once sent;
    `reference`: the stored conversation reference of the row's destination (Teams), and `seed`:
    any working reference of the workspace, to open a person's chat when there is none yet.
    """

    workspace: str | None = None
    channel: str | None = None
    parent: str | None = None
    reference: Mapping[str, Any] | None = None
    seed: Mapping[str, Any] | None = None
    broken: str | None = None  # the destination was marked broken earlier: why


@dataclass(frozen=True)
class Sent:
    """The platform took the message: its id, the project's thread it started, references learnt."""

    message_id: str | None
    thread: tuple[str, str] | None = None  # (channel, parent id) when the row starts the thread
    remember: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """Try again later: after `after` (a Retry-After), else after the sender's backoff."""

    error: str
    after: timedelta | None = None


@dataclass(frozen=True)
class Failed:
    """Given up for good.

    `gone`: the destination itself refuses mlplan (bot removed, channel archived): every pending
    message to it is given up too. `broken`: a stored reference to mark broken. `told`: the
    platform already told the person (a Slack response_url). `explain`: what to tell them.
    """

    error: str
    gone: bool = False
    broken: str | None = None
    told: bool = False
    explain: str | None = None


Outcome = Sent | Retry | Failed


class Transport(Protocol):
    """How one platform sends one queued row (and nothing else: no storage, no ordering)."""

    platform: str
    uses_references: bool  # read the stored conversation reference of each row's destination

    async def send(self, message: Message, where: Where) -> Outcome:
        """Send one row; say what became of it."""

    async def tell(self, message: Message, text: str) -> bool:
        """Tell the person who caused a message at once, where the platform lets us (else False)."""


class Directions(Protocol):
    """How a platform reaches a person, a channel or a chat outside any conversation."""

    platform: str

    def to_person(self, person_id: str, reply: Reply) -> Row:
        """Place a direct message to a person."""

    def to_project(self, project_id: int, reply: Reply) -> Row:
        """Place a message in a project's conversation."""

    def digest(self, target_id: str, digest: Any) -> list[Row]:
        """Place a digest, in as few messages as the platform's limits allow."""


class OutboxSender:
    """Claim due outbox rows of one platform and send them through its transport, in order."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        clock: Callable[[], datetime],
        transport: Transport,
        directions: Directions,
    ):
        self.sessions = sessions
        self.single = db.single_statements(sessions)  # one statement: no BEGIN, no COMMIT
        self.clock = clock
        self.transport = transport
        self.directions = directions
        self.platform = transport.platform
        self._tasks: set[asyncio.Task] = set()
        self._lock = asyncio.Lock()
        self._wake: asyncio.TimerHandle | None = None
        self._kicked = False  # a kicked pass waits for its turn and has not read the outbox yet

    def kick(self) -> None:
        """Send what is due, in the background, after the current request is answered.

        A pass that has not begun yet sees what was queued before this kick: no second one.
        """
        if self._kicked:
            return
        self._kicked = True
        self.spawn(self.deliver())

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run work in the background, tracked so that shutdown (and tests) can wait for it."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every background send started so far (for shutdown and tests)."""
        if self._wake is not None:  # a wake-up not due yet: the flush loop or a restart takes it
            self._wake.cancel()
            self._wake = None
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def enqueue(self, session: AsyncSession, *, workspace_id: int, row: Row, now: datetime) -> None:
        """Queue one placed row in the current transaction."""
        outbox.enqueue(
            session=session,
            workspace_id=workspace_id,
            platform=self.platform,
            now=now,
            **row.options(),
        )

    async def enqueue_all(
        self, session: AsyncSession, *, rows: list[tuple[int, Row]], now: datetime
    ) -> None:
        """Queue many placed rows, (workspace id, row) each, in order, in the current transaction."""
        await outbox.enqueue_all(
            session=session,
            platform=self.platform,
            now=now,
            messages=[(workspace_id, row.options()) for workspace_id, row in rows],
        )

    async def deliver(self, now: datetime | None = None) -> int:
        """Send everything due, the head of each conversation at a time; return how many went out.

        Each pass claims its heads in one statement that also says where they go; the sends
        are recorded a few at a time (`_Recorder`), each before its pass ends, so that a
        conversation's next message is only taken once the one before is recorded. A pass
        follows only while a claimed message had another behind it (or the pass was full):
        what is queued meanwhile comes with a kick of its own; a failure's notice with it.
        """
        async with self._lock:  # one pass at a time per process; claims keep processes apart
            self._kicked = False
            now = now or self.clock()
            sent = 0
            limit = asyncio.Semaphore(AT_ONCE)
            recorder = _Recorder(self._sent_all)
            while True:
                async with self.single() as session:  # the claim is one statement
                    claimed = await outbox.claim_heads(
                        session=session, platform=self.platform, now=now
                    )
                    rows = [c.message for c in claimed]
                    wheres = await self._wheres(session, claimed) if rows else {}
                    await session.commit()
                if not rows:  # nothing due, or all claimed elsewhere
                    return sent
                # A claim lasts CLAIM_FOR; a row whose turn comes too late to be sent inside
                # it is given back rather than risk a second process sending it as well.
                last_start = asyncio.get_running_loop().time() + CLAIM_FOR.total_seconds()
                last_start -= SEND_WITHIN + LATE_MARGIN
                results = await asyncio.gather(
                    *(
                        self._one(row, wheres[row.id], now, limit, recorder, last_start)
                        for row in rows
                    )
                )
                late = [row.id for row, result in zip(rows, results, strict=True) if result is None]
                if late:
                    async with self.single() as session:
                        await outbox.release(session=session, ids=late)
                        await session.commit()
                sent += sum(1 for result in results if isinstance(result, Sent))
                self._wake_for(results)
                # A failure may have queued a notice of its own (`_tell`): look again then too.
                more = (
                    len(claimed) >= outbox.HEADS
                    or any(c.behind for c in claimed)
                    or any(isinstance(result, Failed) for result in results)
                )
                if len(late) == len(rows) or not (more or late):
                    return sent

    def _wake_for(self, results: list[Outcome | None]) -> None:
        """Come back when the platform said it may be tried again (a 429's Retry-After), soon.

        Later tries (backoff) are the flush loop's; a rate limit of a second or two should not
        hold a conversation for the loop's whole period.
        """
        waits = [
            r.after.total_seconds()
            for r in results
            if isinstance(r, Retry)
            and r.after is not None
            and timedelta(0) < r.after <= WAKE_WITHIN
        ]
        if not waits or (self._wake is not None and not self._wake.cancelled()):
            return
        self._wake = asyncio.get_running_loop().call_later(min(waits), self._woken)

    def _woken(self) -> None:
        self._wake = None
        self.kick()

    async def _one(
        self,
        row: Message,
        where: Where,
        now: datetime,
        limit: asyncio.Semaphore,
        recorder: _Recorder,
        last_start: float,
    ) -> Outcome | None:
        # The slot is held until the outcome is recorded: a message the platform took but
        # mlplan has not recorded is sent again after a crash, and so at most AT_ONCE are.
        async with limit:
            if asyncio.get_running_loop().time() > last_start:
                return None
            try:
                if where.broken is not None:  # reported when it broke; not tried again
                    result: Outcome = Failed(f"conversation_gone: {where.broken}", told=True)
                elif row.in_thread and where.parent is None and not row.starts_thread:
                    result = Retry("waiting for the parent message", timedelta(seconds=5))
                else:
                    result = await asyncio.wait_for(
                        self.transport.send(row, where), timeout=SEND_WITHIN
                    )
            except TimeoutError:
                result = Retry("timeout")
            except Exception as error:  # one bad row must not stop the others: retry it later
                log.exception("sending a %s message failed", self.platform)
                result = Retry(type(error).__name__)
            if isinstance(result, Sent):
                await recorder.record((row, result, now))
            else:
                await self._record(row, result, now)
        return result

    async def _wheres(self, session: AsyncSession, claimed: list[Claimed]) -> dict[int, Where]:
        """Say where each claimed row goes (the claim read its project; Teams reads references)."""
        parents: dict[int, str | None] = {}
        wheres: dict[int, Where] = {}
        for c in claimed:
            row, parent = c.message, None
            if c.project and row.project_id is not None:
                if row.project_id not in parents:
                    parents[row.project_id] = await self._parent(session, row.project_id, c)
                parent = parents[row.project_id]
            where = Where(
                workspace=c.workspace, channel=c.channel if c.project else None, parent=parent
            )
            if self.transport.uses_references and row.channel:
                where = await self._referenced(session, row, where)
            wheres[row.id] = where
        return wheres

    async def _parent(self, session: AsyncSession, project_id: int, claimed: Claimed) -> str | None:
        """Return the platform's id of a project's parent message, once it is known.

        Slack's thread is its parent message; a Teams project's thread_id names its
        conversation, so there the parent is the first message the outbox sent.
        """
        if claimed.thread is not None and not self.transport.uses_references:
            return claimed.thread
        return await outbox.parent_id(session=session, project_id=project_id)

    async def _referenced(self, session: AsyncSession, row: Message, where: Where) -> Where:
        """Add the stored conversation reference of the row's destination (or any working one)."""
        stored = await references.find(
            session=session, workspace_id=row.workspace_id, key=row.channel
        )
        if stored is not None and stored.broken_at is not None:
            return Where(broken=stored.broken_reason or "broken")
        if stored is not None and stored.reference is not None:
            return replace(where, reference=stored.reference)
        working = await references.any_working(session=session, workspace_id=row.workspace_id)
        return replace(where, seed=working.reference if working is not None else None)

    async def _record(self, row: Message, result: Outcome, now: datetime) -> None:
        if isinstance(result, Sent):
            await self._sent_all([(row, result, now)])
            return
        if isinstance(result, Retry) and row.attempts + 1 < MAX_ATTEMPTS:
            log.warning("a %s message failed (%s); will retry", self.platform, result.error)
            after = result.after if result.after is not None else backoff(row.attempts)
            await self._finish(row, now, error=result.error, retry_at=now + after)
            return
        if isinstance(result, Retry):
            result = Failed(f"gave up after {MAX_ATTEMPTS} tries: {result.error}")
        log.warning("a %s message failed for good: %s", self.platform, result.error)
        await self._failed(row, result, now)

    async def _sent_all(self, records: list[tuple[Message, Sent, datetime]]) -> None:
        """Record sends in one transaction: the rows, threads they started, references learnt."""
        by_time: dict[datetime, list[tuple[int, str | None]]] = {}
        for row, sent, now in records:
            by_time.setdefault(now, []).append((row.id, sent.message_id))
        alone = len(by_time) == 1 and not any(s.thread or s.remember for _, s, _ in records)
        async with (self.single if alone else self.sessions)() as session:
            for now, done in by_time.items():
                await outbox.finish_sent(session=session, sent=done, now=now)
            for row, sent, now in records:
                if sent.thread is not None and row.project_id is not None:
                    channel, parent = sent.thread
                    await projects.set_thread(
                        session=session,
                        project_id=row.project_id,
                        channel_id=channel,
                        thread_id=parent,
                    )
                for key, reference in sent.remember.items():
                    await references.remember(
                        session=session,
                        workspace_id=row.workspace_id,
                        key=key,
                        reference=dict(reference),
                        now=now,
                    )
            await session.commit()

    async def _finish(
        self, row: Message, now: datetime, *, error: str, retry_at: datetime | None
    ) -> None:
        async with self.single() as session:
            await outbox.finish(
                session=session, outgoing_id=row.id, now=now, error=error, retry_at=retry_at
            )
            await session.commit()

    async def _failed(self, row: Message, failed: Failed, now: datetime) -> None:
        """Give a row up; with it what can no longer arrive; tell someone once."""
        newly_broken = False
        async with self.sessions() as session:
            await outbox.finish(
                session=session, outgoing_id=row.id, now=now, error=failed.error, retry_at=None
            )
            if row.starts_thread and row.project_id is not None:
                await outbox.fail_pending(
                    session=session,
                    project_id=row.project_id,
                    error=f"the parent message failed: {failed.error}",
                )
            elif failed.gone and row.channel:
                await outbox.fail_pending(
                    session=session,
                    workspace_id=row.workspace_id,
                    platform=self.platform,
                    channel=row.channel,
                    error=f"mlplan cannot write there: {failed.error}",
                )
            if failed.broken is not None:
                newly_broken = await self._break(session, row, failed, now)
            await session.commit()
        if failed.broken is not None and not newly_broken:
            return  # reported when it broke
        if failed.told or not row.tells_failure:
            return
        await self._tell(row, failed, now)

    async def _break(self, session: AsyncSession, row: Message, failed: Failed, now) -> bool:
        key = failed.broken
        found = await references.find(session=session, workspace_id=row.workspace_id, key=key)
        if found is None:  # a chat that could not even be opened: remember it as broken
            await references.remember(
                session=session, workspace_id=row.workspace_id, key=key, reference={}, now=now
            )
        newly = await references.mark_broken(
            session=session, workspace_id=row.workspace_id, key=key, reason=failed.error, now=now
        )
        if newly:
            log.warning("%s conversation %s marked broken", self.platform, key.split(":")[0])
        return newly

    async def _tell(self, row: Message, failed: Failed, now: datetime) -> None:
        """Tell the person who caused the message, else the project's conversation or owner."""
        text = failed.explain or (
            f"A message of mine could not be delivered ({failed.error}). Type status to see"
            " where the plan stands."
        )
        if row.response_url and await self.transport.tell(row, text):
            return
        if row.project_id is None:
            return  # a reminder or digest to someone unreachable: logged above
        async with self.sessions() as session:
            project = await projects.get_project(
                session=session, workspace_id=row.workspace_id, project_id=row.project_id
            )
            if project is None:
                return
            if failed.broken and failed.broken.startswith("person:"):
                text = await self._unreachable(session, row, failed.broken)
            if failed.gone and _in_conversation_of(row, project):
                owner = (project.owner or {}).get("id")
                if not owner:
                    return
                placed = self.directions.to_person(owner, Say(f"About {project.name}: {text}"))
            else:
                placed = self.directions.to_project(project.id, Say(text))
            outbox.enqueue(
                session=session,
                workspace_id=row.workspace_id,
                platform=self.platform,
                now=now,
                **(placed.options() | {"tells_failure": False}),
            )
            await session.commit()

    async def _unreachable(self, session: AsyncSession, row: Message, key: str) -> str:
        person = await people.find(
            session=session, workspace_id=row.workspace_id, person_id=key.removeprefix("person:")
        )
        name = person.name if person is not None and person.name else "someone"
        return (
            f"I could not reach {name} (the app was removed from their chat with me, or the chat"
            " is gone), so their reminders are paused until they message me."
        )


class _Recorder:
    """Record sends a few at a time (group commit): each waits for the transaction holding it.

    While one transaction writes, the sends that end meanwhile gather for the next one, so a
    busy pass costs a commit per few messages and a quiet one a commit per message, and no send
    stays unrecorded longer than one such transaction.
    """

    def __init__(self, write: Callable[[list[Any]], Awaitable[None]]):
        self._write = write
        self._waiting: list[tuple[Any, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None

    async def record(self, item: Any) -> None:
        """Record one item; return once it is committed (raise what the commit raised)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.ensure_future(self._drain())
        await done

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write([item for item, _ in batch])
            except Exception as error:  # each waiting send sees it, as it would have alone
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


def _in_conversation_of(row: Message, project: projects.Project) -> bool:
    """Tell whether a row goes to its project's own conversation (not to a person's chat)."""
    return (
        row.in_thread
        or row.starts_thread
        or row.channel in (project.channel_id, f"project:{project.id}")
    )


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
