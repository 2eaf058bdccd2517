"""Do what is due at a moment (reminders, then sending): `tick(now)`, run by `mlplan tick` and the worker.

The database is the source of truth: each reminder occasion and each reminder message is
claimed under a unique key in the transaction that queues it in the outbox, so a restart, a
missed tick or a second scheduler never sends anything twice. APScheduler only wakes us up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import zone
from bot.digests import Digests, Scope, last_fire
from bot.notify import LinkTarget
from flows.dates import format_day
from flows.digest import Digest, memory_of
from flows.reminders import Due, Tracked, due_items
from flows.replies import Reminder, RemindItem, Reply
from storage import deliveries, people, tracked
from storage import digests as digests_store
from storage.tracked import ProjectItems

log = logging.getLogger("mlplan.scheduler")
# Reminders go out from this hour of the recipient's day on, never in the night.
REMINDER_HOUR = 9
TICK_EVERY = 60
CLAIM_BATCH = 50  # digests claimed and queued per transaction


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

    async def tick(self, now: datetime) -> TickReport:
        """Do, once, everything due at `now`."""
        report = TickReport()
        if not self.notifiers:
            return report
        async with self.sessions() as session:
            projects = await tracked.by_project(session=session, platforms=tuple(self.notifiers))
        report.assignments = await self._assignments(projects, now)
        report.reminders = await self._reminders(projects, now)
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
        ranked: dict[object, tuple[list, int]] = {}  # by the subscriber's day: one ranking each
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
                ranked[today] = (assessed, snapshot_id)
            assessed, snapshot_id = ranked[today]
            # Subscribers who see the same projects since the same digest get the same text.
            same = (
                today,
                subscription.scope_kind,
                subscription.scope_value,
                subscription.last_snapshot_id,
                subscription.every_weeks,
            )
            if same not in built:
                built[same] = self.digests.build(
                    assessed,
                    scope=Scope(subscription.scope_kind, subscription.scope_value),
                    now=now,
                    tz=tz,
                    previous=previous.get(subscription.last_snapshot_id),
                    every_weeks=subscription.every_weeks,
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
        """Tell each new owner of an open item, once per item and owner, in one message per project."""
        wanted = {
            f"assigned:{row.kind}:{row.id}:{row.owner['id']}"
            for entry in projects
            for row in (*entry.milestones, *entry.docs)
            if row.status == "open" and row.owner and row.owner.get("id")
        }
        async with self.sessions() as session:
            # Most owners were told long ago: skip those keys here rather than fail a claim each tick.
            pending = wanted - await deliveries.claimed(session=session, keys=wanted)
        told = 0
        for entry in projects:
            project = entry.project
            by_owner: dict[str, list[RemindItem]] = defaultdict(list)
            for row in (*entry.milestones, *entry.docs):
                if row.owner and f"assigned:{row.kind}:{row.id}:{row.owner.get('id')}" in pending:
                    due = f"due {format_day(row.due)}" if row.due else "no due date yet"
                    by_owner[row.owner["id"]].append(
                        RemindItem(row.kind, row.id, row.title, f"you own it; {due}")
                    )
            for person_id, items in by_owner.items():
                async with self.sessions() as session:
                    claim = {
                        "session": session,
                        "workspace_id": project.workspace_id,
                        "target_id": person_id,
                        "now": now,
                    }
                    fresh = [
                        i
                        for i in items
                        if await deliveries.claim(
                            key=f"assigned:{i.kind}:{i.id}:{person_id}", kind="assigned", **claim
                        )
                    ]
                    if not fresh:
                        await session.rollback()
                        continue
                    reply = Reminder(
                        project_id=project.id,
                        project=project.name,
                        items=tuple(fresh),
                        note="You were named the owner of these items; mlplan will remind you as they fall due.",
                        new_owner=True,
                    )
                    self.notifiers[entry.platform].enqueue(
                        session,
                        workspace_id=project.workspace_id,
                        person_id=person_id,
                        reply=reply,
                        now=now,
                    )
                    await session.commit()
                told += 1
        return told

    async def _reminders(self, projects: list[ProjectItems], now: datetime) -> int:
        async with self.sessions() as session:
            zones = await people.timezones(
                session=session, workspace_ids={e.project.workspace_id for e in projects}
            )
        queued = 0
        for entry in projects:
            project, platform = entry.project, entry.platform
            items: list[Tracked] = []
            owners: dict[tuple[str, int], dict[str, Any] | None] = {}
            for row in (*entry.milestones, *entry.docs):
                items.append(
                    Tracked(
                        row.kind,
                        row.id,
                        row.key,
                        row.title,
                        row.due,
                        row.status,
                        row.snoozed_until,
                        row.link,
                    )
                )
                owners[(row.kind, row.id)] = row.owner
            by_recipient: dict[str, list[Tracked]] = defaultdict(list)
            notes: dict[str, str | None] = {}
            for item in items:
                person_id, note = deliveries.recipient(owners[(item.kind, item.id)], project.owner)
                by_recipient[person_id].append(item)
                notes[person_id] = notes.get(person_id) or note
            for person_id, theirs in by_recipient.items():
                local = now.astimezone(self._zone(zones, project.workspace_id, person_id))
                if local.hour < REMINDER_HOUR:
                    continue
                mine = {(i.kind, i.id) for i in theirs}
                due = [
                    d
                    for d in due_items(items, today=local.date())
                    if (d.item.kind, d.item.id) in mine
                ]
                if due and await self._queue(
                    project, platform, person_id, due, notes[person_id], local, now
                ):
                    queued += 1
        return queued

    async def _queue(
        self,
        project,
        platform: str,
        person_id: str,
        due: list[Due],
        note: str | None,
        local: datetime,
        now: datetime,
    ) -> bool:
        """Claim the occasions not yet reminded of and today's message, and queue it; all or nothing."""
        async with self.sessions() as session:
            claim = {
                "session": session,
                "workspace_id": project.workspace_id,
                "target_id": person_id,
                "now": now,
            }
            fresh = [
                d
                for d in due
                if await deliveries.claim(key=f"occasion:{d.occasion}", kind="occasion", **claim)
            ]
            message_key = f"reminder:{project.id}:{person_id}:{local.date().isoformat()}"
            if not fresh or not await deliveries.claim(key=message_key, kind="reminder", **claim):
                await session.rollback()  # nothing new, or this person already had today's message
                return False
            reply = Reminder(
                project_id=project.id,
                project=project.name,
                items=tuple(
                    RemindItem(d.item.kind, d.item.id, d.item.title, d.reason) for d in fresh
                ),
                note=note,
            )
            self.notifiers[platform].enqueue(
                session,
                workspace_id=project.workspace_id,
                person_id=person_id,
                reply=reply,
                now=now,
            )
            await session.commit()
        return True


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
            next_run_time=clock(),
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
