"""Remind people of what they owe a plan: questions they left for later, sections assigned to them.

The tick's other half, beside milestones' (`bot.scheduler`), and built the same way: each row
has a due time (`remind_at`, indexed) that the database finds; each reminder is an occasion
claimed once under a unique key in the transaction that queues it; what was sent is kept on the
row itself (an open question's `reminded_at`, an owed section's count and last time), so the
next occasion is worked out from the row alone, and a restore that carries those columns sends
nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import zone
from flows.display import person_name
from flows.model import Flow
from flows.reminders import (
    OWED_EVERY_DAYS,
    REMINDER_HOUR,
    owed_day,
    owed_occasion,
    owed_reason,
    question_day,
    question_occasion,
    question_reason,
    reminder_time,
)
from flows.replies import Reminder, RemindItem
from storage import assignments, deliveries, open_questions
from storage.assignments import DueAssignment
from storage.open_questions import DueQuestion
from storage.projects import Project

NOTES = {
    frozenset({"question"}): (
        "You left these for later. Answer now asks the question again in the project's"
        " conversation; Skip says it does not apply."
    ),
    frozenset({"owed"}): (
        "You were asked to answer this section. Reply in this conversation to go on, or press"
        " Continue to have the question asked again."
    ),
}
NOTE_BOTH = "Questions you left for later and sections you were asked to answer."


@dataclass
class _Look:
    """One row looked at by a tick: whom it reminds, the occasion due now, when to look next."""

    kind: str  # "question" or "owed"
    row_id: int
    project: Project
    platform: str
    person: str
    read: datetime | None  # its remind_at as the tick read it
    at: datetime | None  # when to look again if nothing is sent now
    key: str | None = None  # the occasion due now
    item: RemindItem | None = None
    mark: tuple = field(default=())  # what records the reminder once it is sent


class OwedReminders:
    """Decide, claim and queue the reminders of open questions and owed sections of a batch."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        flow: Flow,
        default_timezone: ZoneInfo,
        notifiers: Mapping,
    ):
        self.sessions = sessions
        self.flow = flow
        self.default_timezone = default_timezone
        self.notifiers = notifiers

    def people(self, questions: list[DueQuestion], owed: list[DueAssignment]) -> set[str]:
        """Name whom these rows remind (the tick reads their time zones with the items')."""
        return {q.question.owner_id for q in questions} | {
            a.assignment.assignee["id"] for a in owed
        }

    async def remind(
        self,
        questions: list[DueQuestion],
        owed: list[DueAssignment],
        zones: Mapping[tuple[int, str], str],
        now: datetime,
    ) -> int:
        """Remind what is due now of these rows, once per occasion; set each row's next time.

        One transaction: the claims in one statement, the messages, what was sent, the times.
        """
        looks = [self._question(q, zones, now) for q in questions]
        looks += [self._owed(a, zones, now) for a in owed]
        if not looks:
            return 0
        queued = 0
        async with self.sessions() as session:
            claims = {
                look.key: ("occasion", look.project.workspace_id, look.person)
                for look in looks
                if look.key is not None
            }
            won = await deliveries.claim_all(session=session, claims=claims, now=now)
            sent = [look for look in looks if look.key in won]
            queued = await self._queue(session, sent, now)
            await open_questions.reminded(
                session=session,
                marks=[look.mark for look in sent if look.kind == "question"],
                now=now,
            )
            await assignments.reminded(
                session=session, marks=[look.mark for look in sent if look.kind == "owed"], now=now
            )
            for kind, store in (("question", open_questions), ("owed", assignments)):
                times = [
                    (look.row_id, look.read, look.at)
                    for look in looks
                    if look.kind == kind and look.key not in won and look.at != look.read
                ]
                await store.advance(session=session, times=times)
            await session.commit()
        return queued

    async def _queue(self, session: AsyncSession, sent: list[_Look], now: datetime) -> int:
        """Queue one message per project and person with every row reminded in it."""
        grouped: dict[tuple[str, int, str], list[_Look]] = defaultdict(list)
        for look in sent:
            grouped[(look.platform, look.project.id, look.person)].append(look)
        messages: dict[str, list] = defaultdict(list)
        for (platform, _, person), theirs in grouped.items():
            project = theirs[0].project
            kinds = frozenset(look.kind for look in theirs)
            reply = Reminder(
                project_id=project.id,
                project=project.name,
                items=tuple(look.item for look in theirs),
                note=NOTES.get(kinds, NOTE_BOTH),
                about="owed",
            )
            messages[platform].append((project.workspace_id, person, reply))
        for platform, queue in messages.items():
            await self.notifiers[platform].enqueue_all(session, messages=queue, now=now)
        return len(grouped)

    def _local(
        self, zones, workspace_id: int, person: str, now: datetime
    ) -> tuple[ZoneInfo, datetime]:
        tz = zone(zones.get((workspace_id, person)), self.default_timezone)
        return tz, now.astimezone(tz)

    def _question(self, due: DueQuestion, zones, now: datetime) -> _Look:
        """Look at an open question: reminded on its revisit day, once, from nine."""
        q, project = due.question, due.project
        tz, local = self._local(zones, project.workspace_id, q.owner_id, now)
        today = local.date()
        look = _Look("question", q.id, project, due.platform, q.owner_id, q.remind_at, None)
        question = self.flow.questions.get(q.question_id)
        day = question_day(q.revisit_on, reminded=q.reminded_at is not None, start=today)
        if question is None or day is None:  # the flow no longer asks it, or reminded already
            return look
        if day == today and local.hour >= REMINDER_HOUR:
            look.key = f"occasion:{question_occasion(q.id, q.revisit_on)}"
            left_on = q.created_at.astimezone(tz).date()
            reason = question_reason(left_on, q.revisit_on, question.prompt)
            look.item = RemindItem("question", q.id, question.label, reason)
            look.mark = (q.id, q.revisit_on)
            return look
        look.at = reminder_time(day, tz)
        return look

    def _owed(self, due: DueAssignment, zones, now: datetime) -> _Look:
        """Look at an owed section: reminded 3 days after it was handed over, then weekly."""
        a, project = due.assignment, due.project
        person = a.assignee["id"]
        tz, local = self._local(zones, project.workspace_id, person, now)
        today = local.date()
        look = _Look("owed", a.id, project, due.platform, person, a.remind_at, None)
        if a.section_id not in {s.id for s in self.flow.sections}:
            return look
        assigned_on = a.assigned_at.astimezone(tz).date()
        last = a.reminded_at.astimezone(tz).date() if a.reminded_at else None
        day = owed_day(assigned_on, last_reminded_on=last, start=today)
        if day == today and local.hour >= REMINDER_HOUR:
            following = reminder_time(today + timedelta(days=OWED_EVERY_DAYS), tz)
            stamp = a.assigned_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
            look.key = f"occasion:{owed_occasion(a.id, stamp, a.reminded)}"
            question = self.flow.questions.get(a.current_question_id or "")
            reason = owed_reason(
                assigned_on, today, person_name(a.assigned_by), question.label if question else None
            )
            title = self.flow.section(a.section_id).title
            look.item = RemindItem("owed", a.id, title, reason)
            look.mark = (a.id, a.assigned_at, a.reminded, following)
            look.at = following  # taken by another scheduler: the same next time
            return look
        look.at = reminder_time(day, tz)
        return look
