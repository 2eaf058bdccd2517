"""Weekly digests: subscriptions, a workspace's digest at a moment, and which are due when."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Place, Speaker, workspace_id_of, zone
from bot.outcome import Outcome
from flows.digest import Digest, ProjectSnapshot, TrackedItem, build_digest
from flows.model import Flow
from flows.replies import Say
from storage import digests as store
from storage import people


def last_fire(cron: str, tz: ZoneInfo, *, now: datetime, since: datetime) -> datetime | None:
    """Return the latest moment at or before `now` (and after `since`) that the crontab names, in tz.

    A week of downtime still yields one moment: the latest period is sent once, not a flood.
    """
    trigger = CronTrigger.from_crontab(cron, timezone=tz)
    start = max(since, now - timedelta(days=8))
    fire = trigger.get_next_fire_time(None, start)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


class Digests:
    """Subscribe, unsubscribe, and assemble a workspace's digest."""

    def __init__(self, *, sessions: async_sessionmaker, flow: Flow, default_timezone: ZoneInfo):
        self.sessions = sessions
        self.flow = flow
        self.default_timezone = default_timezone

    async def subscribe(
        self, *, place: Place, speaker: Speaker, channel: str | None, now: datetime
    ) -> Outcome:
        """Send the weekly digest to the speaker, or to a channel."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            tz = await people.timezone(
                session=session, workspace_id=workspace_id, person_id=speaker.id
            )
            kind, target = ("channel", channel) if channel else ("user", speaker.id)
            new = await store.subscribe(
                session=session,
                workspace_id=workspace_id,
                target_kind=kind,
                target_id=target,
                timezone=tz,
                by=speaker.person(),
                now=now,
            )
            await session.commit()
        where = "this channel" if channel else "you, by direct message"
        text = (
            f"The weekly digest of every project here will go to {where}."
            if new
            else f"The weekly digest already goes to {where}."
        )
        return Outcome((Say(text),), private=True)

    async def unsubscribe(
        self, *, place: Place, speaker: Speaker, channel: str | None, now: datetime
    ) -> Outcome:
        """Stop the speaker's (or a channel's) digest."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            kind, target = ("channel", channel) if channel else ("user", speaker.id)
            removed = await store.unsubscribe(
                session=session, workspace_id=workspace_id, target_kind=kind, target_id=target
            )
            await session.commit()
        text = (
            "No more weekly digests there."
            if removed
            else "There was no digest subscription to stop."
        )
        return Outcome((Say(text),), private=True)

    async def for_workspace(
        self,
        session: AsyncSession,
        *,
        workspace_id: int,
        now: datetime,
        tz: ZoneInfo,
        since: datetime,
    ) -> Digest:
        """Assemble the digest of one workspace as of `now`; changes are counted from `since`."""
        loaded = await store.workspace_projects(session=session, workspace_id=workspace_id)
        changes = await store.changes_since(
            session=session, project_ids=[e.project.id for e in loaded], since=since
        )
        snapshots = [
            ProjectSnapshot(
                id=e.project.id,
                name=e.project.name,
                stage=e.project.stage,
                answers=e.answers,
                milestones=tuple(
                    TrackedItem(m.title, m.owner, m.due, m.status) for m in e.milestones
                ),
                docs=tuple(TrackedItem(d.title, d.owner, d.due, d.status, d.link) for d in e.docs),
                last_activity=e.last_activity,
                changes_since_last=tuple(changes[e.project.id]),
            )
            for e in loaded
        ]
        return build_digest(self.flow, snapshots, today=now.astimezone(tz).date(), now=now)

    async def preview(self, *, place: Place, speaker: Speaker, now: datetime) -> Digest:
        """Assemble this workspace's digest now, as the speaker would receive it."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            tz = zone(
                await people.timezone(
                    session=session, workspace_id=workspace_id, person_id=speaker.id
                ),
                self.default_timezone,
            )
            digest = await self.for_workspace(
                session, workspace_id=workspace_id, now=now, tz=tz, since=now - timedelta(days=7)
            )
            await session.commit()
        return digest
