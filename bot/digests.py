"""Digests: subscriptions, snoozes and tags, one workspace's facts read once, and when each is due."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Place, Speaker, workspace_id_of, zone
from bot.outcome import Outcome, unknown_project
from flows.dates import format_day
from flows.digest import SNOOZE_DAYS, Assessment, Digest, ProjectSnapshot, TrackedItem
from flows.digest_build import build_digest
from flows.digest_facts import assess_all, owing
from flows.model import Flow
from flows.owed import OpenAsk, OwedSection
from flows.replies import Say
from storage import digest_facts, people
from storage import digests as store
from storage import projects as project_store

PERIODS = {1: "weekly", 2: "fortnightly"}


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


@dataclass(frozen=True)
class Scope:
    """Which projects a digest covers: all, a channel's, or a tag's."""

    kind: str | None = None
    value: str | None = None

    def covers(self, project: ProjectSnapshot) -> bool:
        """Tell whether the project belongs to this scope."""
        if self.kind == "channel":
            return project.channel == self.value
        if self.kind == "tag":
            return self.value in project.tags
        return True

    def words(self) -> str:
        """Say which projects, for a confirmation."""
        if self.kind == "channel":
            return "the projects of that channel"
        if self.kind == "tag":
            return f"the projects tagged {self.value!r}"
        return "every project here"


def snapshot_of(loaded: digest_facts.DigestProject) -> ProjectSnapshot:
    """Turn what storage read of a project into what the digest builder reads."""
    project = loaded.project

    def item(i: digest_facts.DigestItem) -> TrackedItem:
        return TrackedItem(i.title, i.owner, i.due, i.status, i.link, i.key, i.id)

    return ProjectSnapshot(
        id=project.id,
        name=project.name,
        stage=project.stage,
        answers=loaded.answers,
        milestones=tuple(item(m) for m in loaded.milestones),
        docs=tuple(item(d) for d in loaded.docs),
        last_activity=loaded.last_activity,
        owner=project.owner,
        current_question=project.current_question_id,
        intake_done=project.intake_done_at is not None,
        channel=project.channel_id,
        thread=project.thread_id,
        tags=loaded.tags,
        link=loaded.link,
        snoozed_until=loaded.snoozed_until,
        open_questions=tuple(OpenAsk(*q) for q in loaded.open_questions),
        owed=tuple(OwedSection(*o) for o in loaded.owed),
    )


class Digests:
    """Subscribe, snooze, tag, and assemble digests from a workspace's facts read once."""

    def __init__(self, *, sessions: async_sessionmaker, flow: Flow, default_timezone: ZoneInfo):
        self.sessions = sessions
        self.flow = flow
        self.default_timezone = default_timezone

    async def subscribe(
        self,
        *,
        place: Place,
        speaker: Speaker,
        channel: str | None,
        now: datetime,
        scope: Scope = Scope(),
        every_weeks: int = 1,
    ) -> Outcome:
        """Send the digest to the speaker, or to a channel, weekly or fortnightly."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            tz = speaker.timezone or await people.timezone(
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
                scope_kind=scope.kind,
                scope_value=scope.value,
                every_weeks=every_weeks,
            )
            await session.commit()
        where = "this channel" if channel else "you, by direct message"
        period = PERIODS.get(every_weeks, "weekly")
        text = (
            f"The {period} digest of {scope.words()} will go to {where}."
            if new
            else f"The digest already goes to {where}; it now covers {scope.words()}, {period}."
        )
        return Outcome((Say(text),), private=True)

    async def unsubscribe(
        self, *, place: Place, speaker: Speaker, channel: str | None, now: datetime, **_: object
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

    async def snooze(
        self, *, place: Place, speaker: Speaker, project_id: int, now: datetime
    ) -> Outcome:
        """Keep a project out of "Needs you" for a week."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await project_store.get_project(
                session=session, workspace_id=workspace_id, project_id=project_id
            )
            if project is None:
                return Outcome((Say("That project no longer exists."),), private=True)
            tz = zone(
                await people.timezone(
                    session=session, workspace_id=workspace_id, person_id=speaker.id
                ),
                self.default_timezone,
            )
            until = now.astimezone(tz).date() + timedelta(days=SNOOZE_DAYS)
            await store.snooze(
                session=session,
                workspace_id=workspace_id,
                project_id=project_id,
                until=until,
                by=speaker.person(),
            )
            await session.commit()
        day = format_day(until)
        text = f"{project.name} is snoozed in digests until {day}: it stays listed, not flagged."
        return Outcome((Say(text),), private=True)

    async def tag(
        self, *, place: Place, project: str, tags: Sequence[str], now: datetime
    ) -> Outcome:
        """Set a project's tags, which a digest subscription may be scoped to."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            found = await project_store.find_project(
                session=session, workspace_id=workspace_id, name=project
            )
            if found is None:
                return unknown_project(
                    await project_store.similar_names(
                        session=session, workspace_id=workspace_id, name=project
                    ),
                    project,
                )
            await store.set_tags(
                session=session, workspace_id=workspace_id, project_id=found.id, tags=list(tags)
            )
            await session.commit()
        listed = ", ".join(sorted(set(tags))) or "none"
        return Outcome((Say(f"{found.name} is now tagged: {listed}."),), private=True)

    async def name_of(self, *, place: Place, project_id: int, now: datetime) -> str | None:
        """Return the name of a project of the place's workspace, or None."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await project_store.get_project(
                session=session, workspace_id=workspace_id, project_id=project_id
            )
        return project.name if project else None

    async def facts(self, session: AsyncSession, *, workspace_id: int) -> list[ProjectSnapshot]:
        """Read every project of a workspace once, for all of its digests."""
        loaded = await digest_facts.workspace_projects(session=session, workspace_id=workspace_id)
        return [snapshot_of(p) for p in loaded]

    def assess(
        self, projects: Iterable[ProjectSnapshot], *, now: datetime, tz: ZoneInfo
    ) -> list[Assessment]:
        """Rank a workspace's projects as of a moment in a zone (shared by its subscribers)."""
        return assess_all(self.flow, projects, today=now.astimezone(tz).date(), now=now)

    def build(
        self,
        assessed: Sequence[Assessment],
        *,
        scope: Scope,
        now: datetime,
        tz: ZoneInfo,
        previous: dict | None,
        every_weeks: int = 1,
        person: str | None = None,
    ) -> Digest:
        """Build one subscriber's digest from the shared ranking, limited to their scope.

        `person`: the subscriber, when what they owe is late (see `owing`).
        """
        mine = [a for a in assessed if scope.covers(a.project)]
        return build_digest(
            self.flow,
            today=now.astimezone(tz).date(),
            now=now,
            assessed=mine,
            previous=previous,
            every_weeks=every_weeks,
            person=person,
        )

    def owing(self, assessed: Sequence[Assessment], *, now: datetime, tz: ZoneInfo) -> set[str]:
        """Name who owes something late among a ranking's projects (their digest differs)."""
        return owing(assessed, today=now.astimezone(tz).date(), now=now)

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
            projects = await self.facts(session, workspace_id=workspace_id)
            await session.commit()
        return self.build(
            self.assess(projects, now=now, tz=tz),
            scope=Scope(),
            now=now,
            tz=tz,
            previous=None,
            person=speaker.id,
        )
