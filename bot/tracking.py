"""Act on milestones and documentation items: done, snooze, a new date; each act stored with who and when."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import Place, Speaker
from flows.parse import format_day
from storage import projects as store
from storage.models import DocItem, ItemAction, Milestone, Project

MODELS = {"milestone": Milestone, "doc": DocItem}
ACTIONS = ("done", "snooze1", "snooze7", "due")


@dataclass(frozen=True)
class Acted:
    """What an act did, in words for the message it came from."""

    kind: str
    item_id: int
    title: str
    shown: str
    project_id: int


ActSink = Callable[[AsyncSession, int, Acted, Speaker], Awaitable[None]]


class Tracking:
    """The service behind reminder buttons and the milestone and doc commands."""

    def __init__(self, *, sessions: async_sessionmaker, default_timezone: ZoneInfo):
        self.sessions = sessions
        self.default_timezone = default_timezone

    async def act(
        self,
        *,
        place: Place,
        speaker: Speaker,
        kind: str,
        item_id: int,
        action: str,
        now: datetime,
        due: date | None = None,
        sink: ActSink | None = None,
    ) -> Acted | None:
        """Mark an item done, snooze it a day or a week, or give it a new date; None if not found here."""
        if kind not in MODELS or action not in ACTIONS:
            raise ValueError(f"unknown item kind or action: {kind} {action}")
        model = MODELS[kind]
        async with self.sessions() as session:
            ws = await store.workspace(
                session=session, platform=place.platform, external_id=place.workspace, now=now
            )
            item = await session.scalar(
                sa.select(model)
                .join(Project, Project.id == model.project_id)
                .where(model.id == item_id, Project.workspace_id == ws.id)
            )
            if item is None:
                return None
            zone_name = await store.person_timezone(
                session=session, workspace_id=ws.id, person_id=speaker.id
            )
            today = now.astimezone(self._zone(zone_name)).date()
            value: Any = None
            if action == "done":
                item.status, item.done_at, item.done_by = "done", now, speaker.person()
                shown = "done"
            elif action == "due":
                if due is None or due < today:
                    raise ValueError("a new due date must be today or later")
                item.due, item.snoozed_until, item.status = due, None, "open"
                value, shown = due.isoformat(), f"new date {format_day(due)}"
            else:
                days = 1 if action == "snooze1" else 7
                item.snoozed_until = today + timedelta(days=days)
                value, shown = (
                    item.snoozed_until.isoformat(),
                    f"snoozed until {format_day(item.snoozed_until)}",
                )
            item.updated_at = now
            session.add(
                ItemAction(
                    project_id=item.project_id,
                    item_kind=kind,
                    item_id=item.id,
                    action="snooze" if action.startswith("snooze") else action,
                    value=value,
                    by=speaker.person(),
                    at=now,
                )
            )
            acted = Acted(kind, item.id, item.title, shown, item.project_id)
            if sink is not None:
                await sink(session, ws.id, acted, speaker)
            await session.commit()
        return acted

    def _zone(self, name: str | None) -> ZoneInfo:
        if name:
            with contextlib.suppress(ValueError, KeyError):
                return ZoneInfo(name)
        return self.default_timezone
