"""Do what is due at a moment (reminders, then sending): `tick(now)`, run by `mlplan tick` and the worker.

Reminders of milestones and documentation items are decided here; those of open questions and
sections owed in `bot.owed_reminders`, from the same batches of due projects.

The database is the source of truth: each reminder occasion and each reminder message is
claimed under a unique key in the transaction that queues it in the outbox, so a restart, a
missed tick or a second scheduler never sends anything twice. APScheduler only wakes us up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import zone
from bot.digests import Digests, Scope, last_fire
from bot.notify import LinkTarget
from bot.owed_reminders import OwedReminders
from flows.dates import format_day
from flows.digest import Digest
from flows.digest_facts import memory_of
from flows.reminders import Due, Tracked, due_items, next_day
from flows.replies import Reminder, RemindItem, Reply
from storage import assignments, deliveries, open_questions, people, tracked
from storage import digests as digests_store
from storage.assignments import DueAssignment
from storage.open_questions import DueQuestion
from storage.tracked import Item, ProjectItems

log = logging.getLogger("mlplan.scheduler")
# Reminders go out from this hour of the recipient's day on, never in the night.
REMINDER_HOUR = 9
TICK_EVERY = 60
CLAIM_BATCH = 50  # digests claimed and queued per transaction
# Projects looked at per round of a tick: each round costs a fixed number of statements.
BATCH = 200


class Notifier(Protocol):
    """A platform's way to reach a person directly, through the outbox."""

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

    async def enqueue_all(
        self,
        session: AsyncSession,
        *,
        messages: Sequence[tuple[int, str, Reply]],
        now: datetime,
    ) -> None:
        """Queue direct messages, (workspace id, person id, reply) each, in the current transaction."""

    def enqueue_digest(
        self, session: AsyncSession, *, workspace_id: int, target_id: str, digest, now: datetime
    ) -> None:
        """Queue a digest to a person or a channel in the current transaction."""

    async def send(self, now: datetime) -> int:
        """Send what is due in the outbox; return how many messages went out."""


@dataclass
class TickReport:
    """What one tick did."""

    reminders: int = 0
    digests: int = 0
    assignments: int = 0
    sent: int = 0


class Scheduler:
    """Find what is due, claim it, queue it, send it."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        default_timezone: ZoneInfo,
        notifiers: dict[str, Notifier],
        digests: Digests,
        digest_cron: str,
    ):
        self.sessions = sessions
        self.default_timezone = default_timezone
        self.notifiers = notifiers
        self.digests = digests
        self.digest_cron = digest_cron
        self.owed = OwedReminders(
            sessions=sessions,
            flow=digests.flow,
            default_timezone=default_timezone,
            notifiers=notifiers,
        )

    async def tick(self, now: datetime) -> TickReport:
        """Do, once, everything due at `now`."""
        report = TickReport()
        if not self.notifiers:
            return report
        platforms = tuple(self.notifiers)
        after = 0
        while True:  # the projects with something due, a batch at a time
            async with self.sessions() as session:
                due = await tracked.due_projects(
                    session=session, platforms=platforms, now=now, after=after, limit=BATCH
                )
                if not due:
                    break
                projects, questions, owed = await _load(session, platforms, due, now)
                zones = await people.timezones(
                    session=session,
                    workspace_ids={e.project.workspace_id for e in projects}
                    | {d.project.workspace_id for d in (*questions, *owed)},
                    person_ids={person for e in projects for person, _ in _recipients(e)}
                    | self.owed.people(questions, owed),
                )
            report.assignments += await self._assignments(projects, now)
            report.reminders += await self._reminders(projects, zones, now)
            report.reminders += await self.owed.remind(questions, owed, zones, now)
            if len(due) < BATCH:
                break
            after = due[-1].id
        report.digests = await self._digests(now)
        for notifier in self.notifiers.values():
            report.sent += await notifier.send(now)
        return report

    def _zone(
        self, zones: dict[tuple[int, str], str], workspace_id: int, person_id: str
    ) -> ZoneInfo:
        return zone(zones.get((workspace_id, person_id)), self.default_timezone)

    async def _digests(self, now: datetime) -> int:
        """Queue each due subscription's digest, once per period, from facts read once per workspace.

        A subscriber's zone is read at send time from the person (a channel's, from whoever
        subscribed it), so a first subscription made before mlplan knew the zone still goes
        out at nine in it. Each workspace's projects are read and ranked once per tick and
        day, and every subscriber's digest is cut from that ranking.
        """
        async with self.sessions() as session:
            subscriptions = await digests_store.subscriptions(
                session=session, platforms=tuple(self.notifiers)
            )
            zones = await people.timezones(
                session=session, workspace_ids={s.workspace_id for s in subscriptions}
            )
        due: dict[int, list[tuple[Any, ZoneInfo, str]]] = defaultdict(list)
        for subscription in subscriptions:
            person = (
                subscription.target_id
                if subscription.target_kind == "user"
                else (subscription.created_by or {}).get("id", "")
            )
            tz = zone(
                zones.get((subscription.workspace_id, person)) or subscription.timezone,
                self.default_timezone,
            )
            fire = last_fire(self.digest_cron, tz, now=now, since=subscription.created_at)
            if fire is None:
                continue
            last = subscription.last_sent_at
            if last is not None and fire - last < timedelta(days=7 * subscription.every_weeks - 1):
                continue  # fortnightly: this week is the off one
            key = f"digest:{subscription.id}:{fire.isoformat()}"
            due[subscription.workspace_id].append((subscription, tz, key))
        if not due:
            return 0
        async with self.sessions() as session:
            sent = await deliveries.claimed(
                session=session, keys={key for entries in due.values() for _, _, key in entries}
            )
        queued = 0
        for workspace_id, entries in due.items():
            entries = [e for e in entries if e[2] not in sent]
            if entries:
                queued += await self._workspace_digests(workspace_id, entries, now)
        return queued

    async def _workspace_digests(
        self, workspace_id: int, entries: list[tuple[Any, ZoneInfo, str]], now: datetime
    ) -> int:
        """Read one workspace's projects once, then queue each subscriber's digest from them."""
        platform, workspace = entries[0][0].platform, entries[0][0].workspace
        notifier = self.notifiers[platform]
        async with self.sessions() as session:
            projects = await self.digests.facts(session, workspace_id=workspace_id)
            unlinked = [p for p in projects if not p.link]
            refs = await digests_store.project_references(
                session=session, workspace_id=workspace_id, project_ids=[p.id for p in unlinked]
            )
            previous = await digests_store.snapshots(
                session=session,
                ids={s.last_snapshot_id for s, _, _ in entries if s.last_snapshot_id},
            )
        targets = [LinkTarget(p.id, p.channel, p.thread, refs.get(p.id)) for p in unlinked]
        try:
            links = await notifier.links(workspace, targets)
        except Exception:  # a link is a convenience: the digest goes out without it
            log.exception("could not find links to projects' threads")
            links = {}
        if links:
            async with self.sessions() as session:
                await digests_store.keep_links(
                    session=session, workspace_id=workspace_id, links=links
                )
                await session.commit()
            projects = [replace(p, link=links.get(p.id, p.link)) for p in projects]
        ranked: dict[object, tuple[list, int, set[str]]] = {}  # one ranking a subscriber's day
        built: dict[tuple, Digest] = {}
        ready: list[tuple[Any, str, Digest, int]] = []
        for subscription, tz, key in entries:
            today = now.astimezone(tz).date()
            if today not in ranked:
                assessed = self.digests.assess(projects, now=now, tz=tz)
                async with self.sessions() as session:
                    snapshot_id = await digests_store.save_snapshot(
                        session=session,
                        workspace_id=workspace_id,
                        state=memory_of(assessed),
                        now=now,
                    )
                    await session.commit()
                ranked[today] = (
                    assessed,
                    snapshot_id,
                    self.digests.owing(assessed, now=now, tz=tz),
                )
            assessed, snapshot_id, owing = ranked[today]
            # Who owes something late reads it first: only their digest is their own.
            person = subscription.target_id if subscription.target_kind == "user" else None
            person = person if person in owing else None
            # Subscribers who see the same projects since the same digest get the same text.
            same = (
                today,
                subscription.scope_kind,
                subscription.scope_value,
                subscription.last_snapshot_id,
                subscription.every_weeks,
                person,
            )
            if same not in built:
                built[same] = self.digests.build(
                    assessed,
                    scope=Scope(subscription.scope_kind, subscription.scope_value),
                    now=now,
                    tz=tz,
                    previous=previous.get(subscription.last_snapshot_id),
                    every_weeks=subscription.every_weeks,
                    person=person,
                )
            ready.append((subscription, key, built[same], snapshot_id))
        queued = 0
        # Claimed and queued a batch per transaction: one commit per subscriber would cost more
        # than building their digests.
        for start in range(0, len(ready), CLAIM_BATCH):
            async with self.sessions() as session:
                for subscription, key, digest, snapshot_id in ready[start : start + CLAIM_BATCH]:
                    target = {"workspace_id": workspace_id, "target_id": subscription.target_id}
                    if not await deliveries.claim(
                        session=session, key=key, kind="digest", now=now, **target
                    ):
                        continue
                    notifier.enqueue_digest(session, digest=digest, now=now, **target)
                    await digests_store.mark_sent(
                        session=session,
                        subscription_id=subscription.id,
                        snapshot_id=snapshot_id,
                        now=now,
                    )
                    queued += 1
                await session.commit()
        async with self.sessions() as session:
            await digests_store.prune_snapshots(session=session, workspace_id=workspace_id)
            await session.commit()
        return queued

    async def _assignments(self, projects: list[ProjectItems], now: datetime) -> int:
        """Tell each new owner of an open item, once per item and owner, in one message per project.

        One transaction for the batch: the claims in one statement (a key another scheduler
        holds is left out, not failed), the messages, and the cleared marks.
        """
        marked = [
            (entry, row)
            for entry in projects
            for row in (*entry.milestones, *entry.docs)
            if row.owner_notice_at is not None
        ]
        if not marked:
            return 0
        tellable = {
            _assigned(row): ("assigned", entry.project.workspace_id, row.owner["id"])
            for entry, row in marked
            if row.status == "open" and _owner_id(row.owner)
        }
        told = 0
        async with self.sessions() as session:
            # Owners told before (a restore, a race) are skipped here rather than fail a claim.
            pending = set(tellable) - await deliveries.claimed(session=session, keys=set(tellable))
            won = await deliveries.claim_all(
                session=session, claims={k: tellable[k] for k in pending}, now=now
            )
            for entry in projects:
                by_owner: dict[str, list[Item]] = defaultdict(list)
                for row in (*entry.milestones, *entry.docs):
                    if row.owner_notice_at is not None and _assigned(row) in won:
                        by_owner[row.owner["id"]].append(row)
                for person_id, fresh in by_owner.items():
                    self.notifiers[entry.platform].enqueue(
                        session,
                        workspace_id=entry.project.workspace_id,
                        person_id=person_id,
                        reply=Reminder(
                            project_id=entry.project.id,
                            project=entry.project.name,
                            items=tuple(
                                RemindItem(row.kind, row.id, row.title, _owned(row))
                                for row in fresh
                            ),
                            note="You were named the owner of these items; mlplan will remind you as they fall due.",
                            new_owner=True,
                        ),
                        now=now,
                    )
                    told += 1
            # Told now, before, or by another scheduler, or nobody to tell: the marks go.
            await _told(session, [row for _, row in marked])
            await session.commit()
        return told

    async def _reminders(
        self, projects: list[ProjectItems], zones: dict[tuple[int, str], str], now: datetime
    ) -> int:
        """Remind each recipient of what is due today, once a day per project; set the next times.

        One transaction for the batch: the claims in one statement, the messages, the next times.
        """
        plans: list[_Plan] = []
        for entry in projects:
            project = entry.project
            rows = (*entry.milestones, *entry.docs)
            items = [_tracked(row) for row in rows]
            by_recipient: dict[str, list[tuple[Item, Tracked]]] = defaultdict(list)
            notes: dict[str, str | None] = {}
            for row, item in zip(rows, items, strict=True):
                person_id, note = deliveries.recipient(row.owner, project.owner)
                by_recipient[person_id].append((row, item))
                notes[person_id] = notes.get(person_id) or note
            for person_id, theirs in by_recipient.items():
                tz = self._zone(zones, project.workspace_id, person_id)
                local = now.astimezone(tz)
                mine = {(i.kind, i.id) for _, i in theirs}
                due = [
                    d
                    for d in due_items(items, today=local.date())
                    if (d.item.kind, d.item.id) in mine
                ]
                plans.append(
                    _Plan(entry, person_id, items, theirs, notes[person_id], tz, local, due)
                )
        keys = {k for plan in plans for k in (plan.message_key, *map(_occasion_key, plan.due))}
        queued, times = 0, []
        async with self.sessions() as session:
            claimed = await deliveries.claimed(session=session, keys=keys)
            sending: dict[int, list[Due]] = {}
            claims: dict[str, tuple[str, int, str]] = {}
            for n, plan in enumerate(plans):
                fresh = [d for d in plan.due if _occasion_key(d) not in claimed]
                if plan.local.hour >= REMINDER_HOUR and fresh and plan.message_key not in claimed:
                    sending[n] = fresh
                    target = (plan.entry.project.workspace_id, plan.person_id)
                    claims[plan.message_key] = ("reminder", *target)
                    claims |= {_occasion_key(d): ("occasion", *target) for d in fresh}
            won = await deliveries.claim_all(session=session, claims=claims, now=now)
            orphans: set[str] = set()
            messages: dict[str, list[tuple[int, str, Reply]]] = defaultdict(list)
            for n, plan in enumerate(plans):
                fresh = [d for d in sending.get(n, ()) if _occasion_key(d) in won]
                if fresh and plan.message_key in won:
                    messages[plan.entry.platform].append(_reminder(plan, fresh))
                    queued += 1
                elif n in sending:  # another scheduler got there first: keep none of it
                    orphans |= {plan.message_key, *map(_occasion_key, fresh)} & won
            # The occasions taken, read once for the batch (an orphan names only its own plan's
            # items, so the whole batch's orphans can be left out for every plan).
            taken = _occasions(claimed)
            kept = taken | _occasions(won - orphans)
            for plan in plans:
                today = plan.local.date()
                if plan.local.hour < REMINDER_HOUR:  # not yet: look again at nine today
                    times += _next_times(plan, start=today, occasions=taken)
                else:  # sent, nothing new, or today's message went already: tomorrow on
                    start = today + timedelta(days=1)
                    times += _next_times(plan, start=start, occasions=kept)
            for platform, queue in messages.items():
                await self.notifiers[platform].enqueue_all(session, messages=queue, now=now)
            await deliveries.release(session=session, keys=orphans)
            await _advance(session, times)
            await session.commit()
        return queued


async def _load(
    session: AsyncSession, platforms: tuple[str, ...], due: list[tracked.DueProject], now: datetime
) -> tuple[list[ProjectItems], list[DueQuestion], list[DueAssignment]]:
    """Read what a batch of projects has due: items, open questions, owed sections.

    Each is read only when some project of the batch has one of its kind due.
    """
    with_items = [d.id for d in due if d.items]
    projects = (
        await tracked.by_project(session=session, platforms=platforms, project_ids=with_items)
        if with_items
        else []
    )
    questions = await open_questions.due(
        session=session, project_ids=[d.id for d in due if d.questions], now=now
    )
    owed = await assignments.due(
        session=session, project_ids=[d.id for d in due if d.owed], now=now
    )
    return projects, questions, owed


def _reminder(plan: _Plan, fresh: list[Due]) -> tuple[int, str, Reminder]:
    """Write today's reminder to one recipient of a project: (workspace id, person id, reply)."""
    project = plan.entry.project
    reply = Reminder(
        project_id=project.id,
        project=project.name,
        items=tuple(RemindItem(d.item.kind, d.item.id, d.item.title, d.reason) for d in fresh),
        note=plan.note,
    )
    return project.workspace_id, plan.person_id, reply


@dataclass(frozen=True)
class _Plan:
    """One recipient's items of one project, as a tick sees them."""

    entry: ProjectItems
    person_id: str
    items: list[Tracked]
    theirs: list[tuple[Item, Tracked]]
    note: str | None
    tz: ZoneInfo
    local: datetime
    due: list[Due]

    @property
    def message_key(self) -> str:
        """Name today's message to this recipient about this project: one a day."""
        return f"reminder:{self.entry.project.id}:{self.person_id}:{self.local.date().isoformat()}"


def _recipients(entry: ProjectItems) -> list[tuple[str, str | None]]:
    return [
        deliveries.recipient(row.owner, entry.project.owner)
        for row in (*entry.milestones, *entry.docs)
    ]


def _tracked(row: Item) -> Tracked:
    return Tracked(
        row.kind, row.id, row.key, row.title, row.due, row.status, row.snoozed_until, row.link
    )


def _occasion_key(due: Due) -> str:
    return f"occasion:{due.occasion}"


def _owner_id(owner: dict[str, Any] | None) -> str | None:
    return (owner or {}).get("id")


def _assigned(row: Item) -> str:
    return f"assigned:{row.kind}:{row.id}:{_owner_id(row.owner)}"


def _owned(row: Item) -> str:
    due = f"due {format_day(row.due)}" if row.due else "no due date yet"
    return f"you own it; {due}"


def _occasions(keys: set[str]) -> set[str]:
    """Return the occasions among claimed delivery keys."""
    return {k.removeprefix("occasion:") for k in keys if k.startswith("occasion:")}


def _next_times(
    plan: _Plan, *, start: date, occasions: set[str]
) -> list[tuple[str, int, datetime | None, datetime | None]]:
    """Work out when each of the plan's items is next due a look: nine on its next occasion's day.

    `occasions`: those claimed already (the plan's own among them).
    """
    times = []
    for row, item in plan.theirs:
        day = next_day(plan.items, item, start=start, claimed=occasions)
        at = (
            datetime.combine(day, time(REMINDER_HOUR), tzinfo=plan.tz).astimezone(UTC)
            if day is not None
            else None
        )
        if at != row.remind_at:
            times.append((row.kind, row.id, row.remind_at, at))
    return times


async def _advance(
    session: AsyncSession, times: list[tuple[str, int, datetime | None, datetime | None]]
) -> None:
    for kind in tracked.MODELS:
        await tracked.advance(
            session=session,
            kind=kind,
            times=[(i, old, new) for k, i, old, new in times if k == kind],
        )


async def _told(session: AsyncSession, rows: list[Item]) -> None:
    for kind in tracked.MODELS:
        await tracked.owners_told(
            session=session,
            kind=kind,
            marks=[(row.id, row.owner_notice_at) for row in rows if row.kind == kind],
        )


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class Ticker:
    """APScheduler calling `tick(now)` every minute, and a stop that lets a running tick finish.

    APScheduler's `shutdown(wait=False)` leaves a running coroutine job behind; closing the
    database under it would leave it waiting forever on a connection that is gone.
    """

    def __init__(self, scheduler: Scheduler, clock: Callable[[], datetime], every: int):
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.scheduler = scheduler
        self.clock = clock
        self._running: set[asyncio.Task] = set()
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_job(
            self._run,
            "interval",
            seconds=every,
            # APScheduler keeps its times on the wall clock; `clock` is only what a tick is told
            # (a clock started elsewhere, `mlplan serve --now`, would put the first tick off).
            next_run_time=utcnow(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=30,
        )

    async def _run(self) -> None:
        task = asyncio.current_task()
        self._running.add(task)
        try:
            report = await self.scheduler.tick(self.clock())
        except Exception:  # the next tick tries again; claims make that safe
            log.exception("tick failed")
            return
        finally:
            self._running.discard(task)
        if report.reminders or report.digests or report.sent:
            log.info(
                "tick: %d reminders, %d digests queued; %d messages sent",
                report.reminders,
                report.digests,
                report.sent,
            )

    async def stop(self, timeout: float = 30) -> None:
        """Stop ticking; wait (a while) for a tick that is running to finish."""
        self._aps.shutdown(wait=False)
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)


def start_ticking(
    scheduler: Scheduler, *, clock: Callable[[], datetime] = utcnow, every: int = TICK_EVERY
) -> Ticker:
    """Run `tick(now)` every minute in the running loop with APScheduler; `await stop()` it."""
    ticker = Ticker(scheduler, clock, every)
    ticker._aps.start()
    return ticker


# Build, inside the ticker's own loop, a scheduler and what closes it (its engine, its clients).
SchedulerFactory = Callable[[], Awaitable[tuple[Scheduler, Callable[[], Awaitable[None]]]]]


class ThreadTicker:
    """Tick in a thread with an event loop of its own, so a tick never holds up a web request.

    Database connections and HTTP clients belong to the loop that made them: the factory builds
    the scheduler's own engine, sessions and platform clients inside the thread's loop.
    """

    def __init__(self, build: SchedulerFactory, clock: Callable[[], datetime], every: int):
        self._build = build
        self.clock = clock
        self.every = every
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="mlplan-ticker", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # reported by start(); the web process goes on
            self._failed = err
            log.exception("the ticker thread stopped")
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        scheduler, close = await self._build()
        try:
            ticker = start_ticking(scheduler, clock=self.clock, every=self.every)
            self._ready.set()
            try:
                await self._stopping.wait()
            finally:
                await ticker.stop()
        finally:
            await close()

    async def start(self) -> ThreadTicker:
        """Start the thread and wait until it ticks (or raise what stopped it)."""
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._failed is not None:
            raise RuntimeError("the scheduler could not start") from self._failed
        return self

    async def stop(self, timeout: float = 30) -> None:
        """Stop ticking, let a running tick finish (a while), close the thread's connections."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        await asyncio.to_thread(self._thread.join, timeout)


async def start_ticking_in_thread(
    build: SchedulerFactory, *, clock: Callable[[], datetime] = utcnow, every: int = TICK_EVERY
) -> ThreadTicker:
    """Run `tick(now)` every minute in a thread of its own; `await stop()` it."""
    return await ThreadTicker(build, clock, every).start()
