"""Do what is due at a moment (reminders, then sending): `tick(now)`, run by `mlplan tick` and the worker.

Reminders of milestones and documentation items are decided here; those of open questions and
sections owed in `bot.owed_reminders`, and the notices to new owners in `bot.owner_notices`,
from the same batches of due projects; digests in `bot.digest_ticks`. `bot.ticker` runs the
tick every minute.

The database is the source of truth: each reminder occasion and each reminder message is
claimed under a unique key in the transaction that queues it in the outbox, so a restart, a
missed tick or a second scheduler never sends anything twice. APScheduler only wakes us up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import zone
from bot.digest_ticks import DueDigests
from bot.digests import Digests
from bot.owed_reminders import OwedReminders
from bot.owner_notices import OwnerNotices
from flows.reminders import REMINDER_HOUR, Due, Tracked, due_items, next_day, reminder_time
from flows.replies import Reminder, RemindItem, Reply
from storage import assignments, deliveries, open_questions, people, tracked
from storage.assignments import DueAssignment
from storage.open_questions import DueQuestion
from storage.tracked import Item, ProjectItems

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
        self.owner_notices = OwnerNotices(sessions=sessions, notifiers=notifiers)
        self.due_digests = DueDigests(
            sessions=sessions,
            default_timezone=default_timezone,
            notifiers=notifiers,
            digests=digests,
            cron=digest_cron,
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
            report.assignments += await self.owner_notices.tell(projects, now)
            report.reminders += await self._reminders(projects, zones, now)
            report.reminders += await self.owed.remind(questions, owed, zones, now)
            if len(due) < BATCH:
                break
            after = due[-1].id
        # What people owe goes out before the digests are built: at 1,000 subscribers that
        # takes seconds, and a reminder should not wait for it.
        early = bool(report.reminders or report.assignments)
        if early:
            report.sent += await self._send(now)
        report.digests = await self.due_digests.queue(now)
        if report.digests or not early:
            report.sent += await self._send(now)
        return report

    async def _send(self, now: datetime) -> int:
        return sum([await notifier.send(now) for notifier in self.notifiers.values()])

    def _zone(
        self, zones: dict[tuple[int, str], str], workspace_id: int, person_id: str
    ) -> ZoneInfo:
        return zone(zones.get((workspace_id, person_id)), self.default_timezone)

    async def _reminders(
        self, projects: list[ProjectItems], zones: dict[tuple[int, str], str], now: datetime
    ) -> int:
        """Remind each recipient of what is due today, once a day per project; set the next times.

        One transaction for the batch: the claims in one statement, the messages, the next times.
        """
        plans = self._plans(projects, zones, now)
        keys = {k for plan in plans for k in (plan.message_key, *map(_occasion_key, plan.due))}
        async with self.sessions() as session:
            claimed = await deliveries.claimed(session=session, keys=keys)
            sending, claims = _to_claim(plans, claimed)
            won = await deliveries.claim_all(session=session, claims=claims, now=now)
            messages, orphans = _messages(plans, sending, won)
            # The occasions taken, read once for the batch (an orphan names only its own plan's
            # items, so the whole batch's orphans can be left out for every plan).
            taken = _occasions(claimed)
            times = _times(plans, taken=taken, kept=taken | _occasions(won - orphans))
            for platform, queue in messages.items():
                await self.notifiers[platform].enqueue_all(session, messages=queue, now=now)
            await deliveries.release(session=session, keys=orphans)
            await _advance(session, times)
            await session.commit()
        return sum(len(queue) for queue in messages.values())

    def _plans(
        self, projects: list[ProjectItems], zones: dict[tuple[int, str], str], now: datetime
    ) -> list[_Plan]:
        """Split each project's items by recipient, with what is due today in their zone."""
        plans: list[_Plan] = []
        for entry in projects:
            project = entry.project
            rows = (*entry.milestones, *entry.docs)
            items = [row.tracked() for row in rows]
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
        return plans


def _to_claim(
    plans: list[_Plan], claimed: set[str]
) -> tuple[dict[int, list[Due]], dict[str, tuple[str, int, str]]]:
    """Pick the plans to send now (from nine, something new, no message yet today): their claims.

    Returns what each plan sends, by its index, and the claims: its message and its occasions.
    """
    sending: dict[int, list[Due]] = {}
    claims: dict[str, tuple[str, int, str]] = {}
    for n, plan in enumerate(plans):
        fresh = [d for d in plan.due if _occasion_key(d) not in claimed]
        if plan.local.hour >= REMINDER_HOUR and fresh and plan.message_key not in claimed:
            sending[n] = fresh
            target = (plan.entry.project.workspace_id, plan.person_id)
            claims[plan.message_key] = ("reminder", *target)
            claims |= {_occasion_key(d): ("occasion", *target) for d in fresh}
    return sending, claims


def _messages(
    plans: list[_Plan], sending: dict[int, list[Due]], won: set[str]
) -> tuple[dict[str, list[tuple[int, str, Reply]]], set[str]]:
    """Write the reminders whose message was won, by platform; name the won claims to give back."""
    orphans: set[str] = set()
    messages: dict[str, list[tuple[int, str, Reply]]] = defaultdict(list)
    for n, plan in enumerate(plans):
        fresh = [d for d in sending.get(n, ()) if _occasion_key(d) in won]
        if fresh and plan.message_key in won:
            messages[plan.entry.platform].append(_reminder(plan, fresh))
        elif n in sending:  # another scheduler got there first: keep none of it
            orphans |= {plan.message_key, *map(_occasion_key, fresh)} & won
    return messages, orphans


def _times(
    plans: list[_Plan], *, taken: set[str], kept: set[str]
) -> list[tuple[str, int, datetime | None, datetime | None]]:
    """Work out when each plan's items are next due a look.

    `taken`: the occasions claimed before this tick; `kept`: those and the ones it won and kept.
    """
    times = []
    for plan in plans:
        today = plan.local.date()
        if plan.local.hour < REMINDER_HOUR:  # not yet: look again at nine today
            times += _next_times(plan, start=today, occasions=taken)
        else:  # sent, nothing new, or today's message went already: tomorrow on
            start = today + timedelta(days=1)
            times += _next_times(plan, start=start, occasions=kept)
    return times


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


def _occasion_key(due: Due) -> str:
    return f"occasion:{due.occasion}"


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
        at = reminder_time(day, plan.tz) if day is not None else None
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
