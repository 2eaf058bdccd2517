"""Queue each due digest subscription's digest once per period: the digest half of a tick.

A subscriber's zone is read at send time from the person (a channel's, from whoever
subscribed it), so a first subscription made before mlplan knew the zone still goes out at
nine in it. Each workspace's projects are read and ranked once per tick and day, and every
subscriber's digest is cut from that ranking. Each digest is claimed under a unique key in the
transaction that queues it, so a restart or a second scheduler never sends it twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import zone
from bot.digests import Digests, Scope, last_fire
from bot.notify import LinkTarget
from flows.digest import Assessment, Digest, ProjectSnapshot
from flows.digest_facts import memory_of
from storage import deliveries, people
from storage import digests as digests_store
from storage.digests import Subscription

log = logging.getLogger("mlplan.scheduler")
CLAIM_BATCH = 50  # digests claimed and queued per transaction


class DigestNotifier(Protocol):
    """What the digests need of a platform: links to projects' threads, and a digest queued."""

    async def links(self, workspace: str, targets: Sequence[LinkTarget]) -> dict[int, str]:
        """Find links to projects' conversations, where the platform can (else none)."""

    def enqueue_digest(
        self,
        session: AsyncSession,
        *,
        workspace_id: int,
        target_id: str,
        digest: Digest,
        now: datetime,
    ) -> None:
        """Queue a digest to a person or a channel in the current transaction."""


@dataclass(frozen=True)
class _Due:
    """A subscription whose digest is due: the zone it is read in, its delivery key."""

    subscription: Subscription
    tz: ZoneInfo
    key: str


@dataclass(frozen=True)
class _Ranking:
    """One workspace's projects ranked for one day, the snapshot kept of it, who owes late."""

    assessed: list[Assessment]
    snapshot_id: int
    owing: set[str]


@dataclass(frozen=True)
class _Ready:
    """A subscriber's digest, built, waiting to be claimed and queued."""

    subscription: Subscription
    key: str
    digest: Digest
    snapshot_id: int


class DueDigests:
    """Find the subscriptions due, read each workspace's facts once, claim and queue digests."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        default_timezone: ZoneInfo,
        notifiers: dict[str, DigestNotifier],
        digests: Digests,
        cron: str,
    ):
        self.sessions = sessions
        self.default_timezone = default_timezone
        self.notifiers = notifiers
        self.digests = digests
        self.cron = cron

    async def queue(self, now: datetime) -> int:
        """Queue each due subscription's digest, once per period; return how many were queued."""
        async with self.sessions() as session:
            subscriptions = await digests_store.subscriptions(
                session=session, platforms=tuple(self.notifiers)
            )
            zones = await people.timezones(
                session=session, workspace_ids={s.workspace_id for s in subscriptions}
            )
        due: dict[int, list[_Due]] = defaultdict(list)
        for subscription in subscriptions:
            entry = self._due(subscription, zones, now)
            if entry is not None:
                due[subscription.workspace_id].append(entry)
        if not due:
            return 0
        async with self.sessions() as session:
            sent = await deliveries.claimed(
                session=session, keys={e.key for entries in due.values() for e in entries}
            )
        queued = 0
        for workspace_id, entries in due.items():
            entries = [e for e in entries if e.key not in sent]
            if entries:
                queued += await self._workspace(workspace_id, entries, now)
        return queued

    def _due(
        self, subscription: Subscription, zones: dict[tuple[int, str], str], now: datetime
    ) -> _Due | None:
        """Tell whether a subscription's digest is due at `now`, and under which key."""
        person = (
            subscription.target_id
            if subscription.target_kind == "user"
            else (subscription.created_by or {}).get("id", "")
        )
        tz = zone(
            zones.get((subscription.workspace_id, person)) or subscription.timezone,
            self.default_timezone,
        )
        fire = last_fire(self.cron, tz, now=now, since=subscription.created_at)
        if fire is None:
            return None
        last = subscription.last_sent_at
        if last is not None and fire - last < timedelta(days=7 * subscription.every_weeks - 1):
            return None  # fortnightly: this week is the off one
        return _Due(subscription, tz, f"digest:{subscription.id}:{fire.isoformat()}")

    async def _workspace(self, workspace_id: int, entries: list[_Due], now: datetime) -> int:
        """Read one workspace's projects once, then queue each subscriber's digest from them."""
        first = entries[0].subscription
        notifier = self.notifiers[first.platform]
        async with self.sessions() as session:
            projects = await self.digests.facts(session, workspace_id=workspace_id)
            unlinked = [p for p in projects if not p.link]
            refs = await digests_store.project_references(
                session=session, workspace_id=workspace_id, project_ids=[p.id for p in unlinked]
            )
            shown = [e.subscription.last_snapshot_id for e in entries]
            previous = await digests_store.snapshots(session=session, ids={i for i in shown if i})
        targets = [LinkTarget(p.id, p.channel, p.thread, refs.get(p.id)) for p in unlinked]
        projects = await self._linked(notifier, first.workspace, workspace_id, projects, targets)
        ready = await self._build(workspace_id, entries, projects, previous, now)
        queued = await self._enqueue(workspace_id, notifier, ready, now)
        async with self.sessions() as session:
            await digests_store.prune_snapshots(session=session, workspace_id=workspace_id)
            await session.commit()
        return queued

    async def _linked(
        self,
        notifier: DigestNotifier,
        workspace: str,
        workspace_id: int,
        projects: list[ProjectSnapshot],
        targets: list[LinkTarget],
    ) -> list[ProjectSnapshot]:
        """Find the links to the threads of projects that have none yet, and keep them."""
        try:
            links = await notifier.links(workspace, targets)
        except Exception:  # a link is a convenience: the digest goes out without it
            log.exception("could not find links to projects' threads")
            links = {}
        if not links:
            return projects
        async with self.sessions() as session:
            await digests_store.keep_links(session=session, workspace_id=workspace_id, links=links)
            await session.commit()
        return [replace(p, link=links.get(p.id, p.link)) for p in projects]

    async def _build(
        self,
        workspace_id: int,
        entries: list[_Due],
        projects: list[ProjectSnapshot],
        previous: dict[int, dict[str, Any]],
        now: datetime,
    ) -> list[_Ready]:
        """Build each subscriber's digest from one ranking a subscriber's day."""
        ranked: dict[date, _Ranking] = {}
        built: dict[tuple, Digest] = {}
        ready: list[_Ready] = []
        for entry in entries:
            subscription, tz = entry.subscription, entry.tz
            today = now.astimezone(tz).date()
            if today not in ranked:
                ranked[today] = await self._rank(workspace_id, projects, tz, now)
            ranking = ranked[today]
            # Who owes something late reads it first: only their digest is their own.
            person = subscription.target_id if subscription.target_kind == "user" else None
            person = person if person in ranking.owing else None
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
                    ranking.assessed,
                    scope=Scope(subscription.scope_kind, subscription.scope_value),
                    now=now,
                    tz=tz,
                    previous=previous.get(subscription.last_snapshot_id),
                    every_weeks=subscription.every_weeks,
                    person=person,
                )
            ready.append(_Ready(subscription, entry.key, built[same], ranking.snapshot_id))
        return ready

    async def _rank(
        self, workspace_id: int, projects: list[ProjectSnapshot], tz: ZoneInfo, now: datetime
    ) -> _Ranking:
        """Rank a workspace's projects for the day in `tz`, and keep what the ranking showed."""
        assessed = self.digests.assess(projects, now=now, tz=tz)
        async with self.sessions() as session:
            snapshot_id = await digests_store.save_snapshot(
                session=session, workspace_id=workspace_id, state=memory_of(assessed), now=now
            )
            await session.commit()
        return _Ranking(assessed, snapshot_id, self.digests.owing(assessed, now=now, tz=tz))

    async def _enqueue(
        self, workspace_id: int, notifier: DigestNotifier, ready: list[_Ready], now: datetime
    ) -> int:
        """Claim and queue the digests, a batch per transaction; return how many were queued.

        One commit per subscriber would cost more than building their digests.
        """
        queued = 0
        for start in range(0, len(ready), CLAIM_BATCH):
            async with self.sessions() as session:
                for r in ready[start : start + CLAIM_BATCH]:
                    target = {"workspace_id": workspace_id, "target_id": r.subscription.target_id}
                    if not await deliveries.claim(
                        session=session, key=r.key, kind="digest", now=now, **target
                    ):
                        continue
                    notifier.enqueue_digest(session, digest=r.digest, now=now, **target)
                    await digests_store.mark_sent(
                        session=session,
                        subscription_id=r.subscription.id,
                        snapshot_id=r.snapshot_id,
                        now=now,
                    )
                    queued += 1
                await session.commit()
        return queued
