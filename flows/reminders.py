"""Decide which milestones and documentation items to remind of on a day, each once per occasion.

An occasion is a stable key: a few days before the due date, on the day, each week overdue,
after a snooze ends, and the nudge to document a stage once it is done. The scheduler claims a
key before it sends, so a restart or a second scheduler never reminds twice, and `next_day`
tells it when an item's next unclaimed occasion comes, so that it looks again only then.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from flows.dates import format_day

LEAD_DAYS = 3
# Reminders go out from this hour of the recipient's day on, never in the night.
REMINDER_HOUR = 9
# Documentation that a stage should leave behind ("document as you go"): once the milestone is
# done and the document still has no link, its owner is nudged.
STAGE_DOCS = {
    "data_pipeline": ("data_lineage",),
    "baseline": ("model_card",),
    "deployment": ("api_docs", "runbook"),
}


def reminder_time(day: date, tz: tzinfo) -> datetime:
    """The moment, in UTC, when `day` reaches the reminder hour in zone `tz`."""
    return datetime.combine(day, time(REMINDER_HOUR), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Tracked:
    """A milestone or documentation item as reminders see it."""

    kind: str  # "milestone" or "doc"
    id: int
    key: str | None
    title: str
    due: date | None
    status: str = "open"
    snoozed_until: date | None = None
    link: str | None = None


@dataclass(frozen=True)
class Due:
    """One item to remind of today: why, and the occasion's key."""

    item: Tracked
    reason: str
    occasion: str


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def due_items(items: list[Tracked], *, today: date, lead_days: int = LEAD_DAYS) -> list[Due]:
    """List the items of one project to remind of on `today`, most urgent first."""
    found = [d for d in (_dated(item, today, lead_days) for item in items) if d is not None]
    listed = {(d.item.kind, d.item.id) for d in found}
    found.extend(
        d for d in _document_as_you_go(items, today=today) if (d.item.kind, d.item.id) not in listed
    )
    return sorted(found, key=lambda d: (d.item.due or today, d.item.title))


def _dated(item: Tracked, today: date, lead_days: int) -> Due | None:
    """Return the occasion an item's due date gives it on `today`, if any."""
    if item.status != "open" or item.due is None:
        return None
    if item.snoozed_until is not None and today < item.snoozed_until:
        return None
    days = (item.due - today).days
    base = f"{item.kind}:{item.id}:{item.due.isoformat()}"
    if 0 < days <= lead_days:
        reason, occasion = f"due in {_days(days)} ({format_day(item.due)})", f"{base}:before"
    elif days == 0:
        reason, occasion = "due today", f"{base}:today"
    elif days < 0:
        week = (-days - 1) // 7  # overdue: a reminder the first day, then once a week
        reason, occasion = (
            f"{_days(-days)} overdue (was due {format_day(item.due)})",
            f"{base}:overdue:{week}",
        )
    else:
        return None
    if item.snoozed_until is not None:
        occasion += f":after-snooze:{item.snoozed_until.isoformat()}"
    return Due(item, reason, occasion)


def _last_day_of_occasion(item: Tracked, day: date, lead_days: int) -> date:
    """Return the last day that shares `day`'s occasion (a dated item, on a day it has one)."""
    days = (item.due - day).days
    if days > 0:
        return item.due - timedelta(days=1)
    if days == 0:
        return item.due
    return item.due + timedelta(days=7 * ((-days - 1) // 7 + 1))


def next_day(
    items: list[Tracked],
    item: Tracked,
    *,
    start: date,
    claimed: Collection[str],
    lead_days: int = LEAD_DAYS,
) -> date | None:
    """Return the first day from `start` on when `due_items` has an unclaimed occasion for `item`.

    `items` is the item's whole project (a finished stage nudges its documentation); None when
    no such day will come while the items stay as they are.
    """
    found: list[date] = []
    floor = max(start, item.snoozed_until or start)
    first_dated = None
    if item.status == "open" and item.due is not None:
        first_dated = item.due - timedelta(days=lead_days)
        day = max(floor, first_dated)
        for _ in range(len(claimed) + 1):  # each claimed occasion skips one stretch of days
            due = _dated(item, day, lead_days)
            if due.occasion not in claimed:
                found.append(day)
                break
            day = _last_day_of_occasion(item, day, lead_days) + timedelta(days=1)
    # The nudge comes only on a day without a dated occasion, i.e. before the first one.
    if first_dated is None or floor < first_dated:
        nudges = _document_as_you_go(items, today=floor)
        if any(d.item == item and d.occasion not in claimed for d in nudges):
            found.append(floor)
    return min(found, default=None)


def _document_as_you_go(items: list[Tracked], *, today: date) -> list[Due]:
    done = {i.key: i for i in items if i.kind == "milestone" and i.status == "done" and i.key}
    docs = {i.key: i for i in items if i.kind == "doc" and i.key}
    found = []
    for stage, doc_keys in STAGE_DOCS.items():
        if stage not in done:
            continue
        for doc_key in doc_keys:
            doc = docs.get(doc_key)
            if doc is None or doc.status != "open" or doc.link:
                continue
            if doc.snoozed_until is not None and today < doc.snoozed_until:
                continue
            reason = f"“{done[stage].title}” is done: document it as you go (no link yet)"
            found.append(Due(doc, reason, f"doc:{doc.id}:after:{stage}"))
    return found


# What people owe the plan: a question they left for later, a section assigned to them.
# A question is reminded once per day to revisit it by (a snooze gives a new day); a section
# owed 3 days after it was handed over, then weekly, until it is answered or handed on.
OWED_FIRST_DAYS = 3
OWED_EVERY_DAYS = 7


def question_occasion(open_id: int, revisit_on: date) -> str:
    """Name the one reminder of an open question for a revisit day."""
    return f"question:{open_id}:{revisit_on.isoformat()}"


def question_day(revisit_on: date, *, reminded: bool, start: date) -> date | None:
    """Return the day from `start` on when an open question is reminded; None once it was."""
    return None if reminded else max(start, revisit_on)


def owed_occasion(assignment_id: int, assigned_at: str, count: int) -> str:
    """Name the `count`-th reminder (from 0) of a section since it was handed over at a moment."""
    return f"owed:{assignment_id}:{assigned_at}:{count}"


def owed_day(assigned_on: date, *, last_reminded_on: date | None, start: date) -> date:
    """Return the day from `start` on of an owed section's next reminder.

    The first comes OWED_FIRST_DAYS after it was handed over, each next one OWED_EVERY_DAYS
    after the last (so a reminder missed while mlplan was down comes once, then weekly again).
    """
    if last_reminded_on is None:
        return max(start, assigned_on + timedelta(days=OWED_FIRST_DAYS))
    return max(start, last_reminded_on + timedelta(days=OWED_EVERY_DAYS))


def owed_reason(assigned_on: date, today: date, by: str, at: str | None) -> str:
    """Say, in a reminder, since when a section is owed and where its assignee stands."""
    days = (today - assigned_on).days
    where = f"; next: “{at}”" if at else ""
    return f"assigned by {by} {_days(days)} ago ({format_day(assigned_on)}){where}"


def question_reason(left_on: date, revisit_on: date, prompt: str) -> str:
    """Say, in a reminder, what an open question asks and since when it waits."""
    return (
        f"left for later on {format_day(left_on)}, to revisit by {format_day(revisit_on)}: {prompt}"
    )
