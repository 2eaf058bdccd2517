"""Decide which milestones and documentation items to remind of on a day, each once per occasion.

An occasion is a stable key: a few days before the due date, on the day, each week overdue,
after a snooze ends, and the nudge to document a stage once it is done. The scheduler claims a
key before it sends, so a restart or a second scheduler never reminds twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flows.dates import format_day

LEAD_DAYS = 3
# Documentation that a stage should leave behind ("document as you go"): once the milestone is
# done and the document still has no link, its owner is nudged.
STAGE_DOCS = {
    "data_pipeline": ("data_lineage",),
    "baseline": ("model_card",),
    "deployment": ("api_docs", "runbook"),
}


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
    found: list[Due] = []
    for item in items:
        if item.status != "open" or item.due is None:
            continue
        if item.snoozed_until is not None and today < item.snoozed_until:
            continue
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
            continue
        if item.snoozed_until is not None:
            occasion += f":after-snooze:{item.snoozed_until.isoformat()}"
        found.append(Due(item, reason, occasion))
    listed = {(d.item.kind, d.item.id) for d in found}
    found.extend(
        d for d in _document_as_you_go(items, today=today) if (d.item.kind, d.item.id) not in listed
    )
    return sorted(found, key=lambda d: (d.item.due or today, d.item.title))


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
