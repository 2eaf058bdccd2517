"""Tell each new owner of an open item, once per item and owner: the owner notices of a tick.

Marking an item's owner sets its `owner_notice_at`; the tick claims each (item, owner) under a
unique key in the transaction that queues the message and clears the mark, so a restore, a race
or a second scheduler tells nobody twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.dates import format_day
from flows.replies import Reminder, RemindItem
from storage import deliveries, tracked
from storage.tracked import Item, ProjectItems


class OwnerNotices:
    """Claim and queue the notices to new owners of a batch's items, and clear their marks."""

    def __init__(self, *, sessions: async_sessionmaker, notifiers: Mapping):
        self.sessions = sessions
        self.notifiers = notifiers

    async def tell(self, projects: list[ProjectItems], now: datetime) -> int:
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


def _owner_id(owner: dict[str, Any] | None) -> str | None:
    return (owner or {}).get("id")


def _assigned(row: Item) -> str:
    return f"assigned:{row.kind}:{row.id}:{_owner_id(row.owner)}"


def _owned(row: Item) -> str:
    due = f"due {format_day(row.due)}" if row.due else "no due date yet"
    return f"you own it; {due}"


async def _told(session: AsyncSession, rows: list[Item]) -> None:
    for kind in tracked.MODELS:
        await tracked.owners_told(
            session=session,
            kind=kind,
            marks=[(row.id, row.owner_notice_at) for row in rows if row.kind == kind],
        )
