"""Act on milestones and documentation items: done, snooze, a new date; each act stored with who and when."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Place, Speaker, workspace_id_of, zone
from bot.outcome import Outcome, unknown_project
from flows.dates import format_day, parse_date
from flows.display import person_name
from flows.parse import ParseError, parse_user
from flows.replies import Card, Field, Say, Show
from storage import people, tracked
from storage import projects as store
from storage.projects import Project

KINDS = ("milestone", "doc")
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
        if kind not in KINDS or action not in ACTIONS:
            raise ValueError(f"unknown item kind or action: {kind} {action}")
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            item = await tracked.find(
                session=session, workspace_id=workspace_id, kind=kind, item_id=item_id
            )
            if item is None:
                return None
            zone_name = await people.timezone(
                session=session, workspace_id=workspace_id, person_id=speaker.id
            )
            today = now.astimezone(zone(zone_name, self.default_timezone)).date()
            act = {"session": session, "kind": kind, "item_id": item.id, "now": now}
            if action == "done":
                await tracked.mark_done(**act, by=speaker.person())
                shown = "done"
            elif action == "due":
                if due is None:
                    raise ValueError("pick a date first, then press Save")
                if due < today:
                    raise ValueError("a new due date must be today or later")
                await tracked.reschedule(**act, due=due, by=speaker.person())
                shown = f"new date {format_day(due)}"
            else:
                until = today + timedelta(days=1 if action == "snooze1" else 7)
                await tracked.snooze(**act, until=until, by=speaker.person())
                shown = f"snoozed until {format_day(until)}"
            acted = Acted(kind, item.id, item.title, shown, item.project_id)
            if sink is not None:
                await sink(session, workspace_id, acted, speaker)
            await session.commit()
        return acted

    async def add(
        self,
        *,
        place: Place,
        speaker: Speaker,
        kind: str,
        project: str,
        fields: tuple[str, ...],
        now: datetime,
    ) -> Outcome:
        """Add a milestone or documentation item (title; owner; due[; link]) to a project."""
        title, owner_text, due_text, *rest = fields
        async with self.sessions() as session:
            workspace_id, found = await self._project(session, place, project, now)
            if found is None:
                return await self._unknown(session, workspace_id, project)
            zone_name = await people.timezone(
                session=session, workspace_id=workspace_id, person_id=speaker.id
            )
            try:
                owner = parse_user(owner_text)
                due = date.fromisoformat(
                    parse_date(
                        due_text,
                        now=now.astimezone(zone(zone_name, self.default_timezone)),
                        future_only=True,
                    )
                )
                link = _link(rest[0]) if rest else None
            except ParseError as err:
                return _private(str(err))
            await tracked.add(
                session=session,
                project_id=found.id,
                kind=kind,
                title=title[:200],
                owner=owner,
                due=due,
                link=link,
                by=speaker.person(),
                now=now,
            )
            await session.commit()
        noun = "Milestone" if kind == "milestone" else "Documentation item"
        return _private(
            f"{noun} “{title}” added to {found.name!r}: {person_name(owner)}, due {format_day(due)}."
        )

    async def listing(self, *, place: Place, kind: str, project: str, now: datetime) -> Outcome:
        """Show a project's milestones or documentation items."""
        async with self.sessions() as session:
            workspace_id, found = await self._project(session, place, project, now)
            if found is None:
                return await self._unknown(session, workspace_id, project)
            items = await tracked.items(session=session, project_id=found.id, kind=kind)
            await session.commit()
        fields = tuple(
            Field(
                ("✓ " if i.status == "done" else "") + i.title,
                ", ".join(
                    part
                    for part in (
                        person_name(i.owner) if i.owner else "no owner",
                        f"due {format_day(i.due)}" if i.due else "no date",
                        i.link or ("no link yet" if kind == "doc" else None),
                    )
                    if part
                ),
            )
            for i in items
        )
        noun = "Milestones" if kind == "milestone" else "Documentation"
        if not fields:
            return _private(f"{found.name!r} has no {noun.lower()} yet.")
        return Outcome((Show(Card(title=f"{noun}: {found.name}", fields=fields)),), private=True)

    async def finish(
        self,
        *,
        place: Place,
        speaker: Speaker,
        kind: str,
        project: str,
        fields: tuple[str, ...],
        now: datetime,
    ) -> Outcome:
        """Mark a milestone or documentation item done by its title (a doc may get its link too)."""
        title, *rest = fields
        try:
            link = _link(rest[0]) if rest else None
        except ParseError as err:
            return _private(str(err))
        async with self.sessions() as session:
            workspace_id, found = await self._project(session, place, project, now)
            if found is None:
                return await self._unknown(session, workspace_id, project)
            items = await tracked.items(session=session, project_id=found.id, kind=kind)
            matches = [i for i in items if i.title.casefold() == title.casefold()]
            if not matches:
                known = ", ".join(repr(i.title) for i in items) or "none yet"
                return _private(f"{found.name!r} has no item called {title!r}. Its items: {known}.")
            item = await tracked.mark_done(
                session=session,
                kind=kind,
                item_id=matches[0].id,
                by=speaker.person(),
                now=now,
                link=link,
            )
            await session.commit()
        return _private(
            f"“{item.title}” of {found.name!r} is done." + (" Its link is saved." if link else "")
        )

    async def _project(
        self, session: AsyncSession, place: Place, name: str, now: datetime
    ) -> tuple[int, Project | None]:
        workspace_id = await workspace_id_of(session, place, now)
        return workspace_id, await store.find_project(
            session=session, workspace_id=workspace_id, name=name
        )

    async def _unknown(self, session: AsyncSession, workspace_id: int, name: str) -> Outcome:
        return unknown_project(
            await store.similar_names(session=session, workspace_id=workspace_id, name=name), name
        )


def _private(text: str) -> Outcome:
    return Outcome((Say(text),), private=True)


def _link(text: str) -> str:
    """Read a documentation link: a URL, as typed or as Slack wraps it (<https://…|label>)."""
    url = text.strip().removeprefix("<").removesuffix(">").split("|")[0]
    if not url.startswith(("https://", "http://")):
        raise ParseError(
            f"A link starts with https://, like `https://wiki.example.com/churn/model-card`; got {text!r}."
        )
    return url
