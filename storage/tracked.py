"""Keep milestones and documentation items, and what people did to them (done, snooze, a new date)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from flows.reminders import Tracked
from storage import models
from storage.projects import Project

MODELS: dict[str, type[models.Milestone] | type[models.DocItem]] = {
    "milestone": models.Milestone,
    "doc": models.DocItem,
}


@dataclass(frozen=True)
class Item:
    """A milestone (`kind` "milestone") or a documentation item ("doc", which may have a link)."""

    kind: str
    id: int
    project_id: int
    key: str | None
    title: str
    owner: dict[str, Any] | None
    due: date | None
    status: str
    done_at: datetime | None
    done_by: dict[str, Any] | None
    snoozed_until: date | None
    link: str | None
    created_at: datetime
    updated_at: datetime
    remind_at: datetime | None = None
    owner_notice_at: datetime | None = None

    @classmethod
    def of(cls, row: models.Milestone | models.DocItem) -> Item:
        """Copy a milestone or documentation item row into a value."""
        return cls(
            kind="doc" if isinstance(row, models.DocItem) else "milestone",
            id=row.id,
            project_id=row.project_id,
            key=row.key,
            title=row.title,
            owner=row.owner,
            due=row.due,
            status=row.status,
            done_at=row.done_at,
            done_by=row.done_by,
            snoozed_until=row.snoozed_until,
            link=getattr(row, "link", None),
            created_at=row.created_at,
            updated_at=row.updated_at,
            remind_at=row.remind_at,
            owner_notice_at=row.owner_notice_at,
        )

    def tracked(self) -> Tracked:
        """The item as reminders see it (`flows.reminders`)."""
        return Tracked(
            self.kind,
            self.id,
            self.key,
            self.title,
            self.due,
            self.status,
            self.snoozed_until,
            self.link,
        )


@dataclass(frozen=True)
class ProjectItems:
    """A project with its milestones and documentation items, and the platform it lives on."""

    project: Project
    platform: str
    milestones: tuple[Item, ...]
    docs: tuple[Item, ...]


def _notice(owner: dict[str, Any] | None, now: datetime) -> datetime | None:
    """Mark a new owner mlplan can message as to be told (None: nobody to tell)."""
    return now if owner and owner.get("id") else None


def _model(kind: str) -> type[models.Milestone] | type[models.DocItem]:
    if kind not in MODELS:
        raise ValueError(f"unknown item kind: {kind}")
    return MODELS[kind]


# A project's items of some keys, built once (building a statement costs more than running it).
_BY_KEYS = {
    kind: sa.select(model).where(
        model.project_id == sa.bindparam("project"),
        model.key.in_(sa.bindparam("keys", expanding=True)),
    )
    for kind, model in MODELS.items()
}


async def sync(
    *,
    session: AsyncSession,
    project_id: int,
    kind: str,
    items: list[dict[str, Any]],
    now: datetime,
) -> list[Item]:
    """Create or update the milestones or documentation items that the answers declare, by key."""
    if not items:
        return []
    model = _model(kind)
    keys = [item["key"] for item in items]
    existing = {
        row.key: row
        for row in await session.scalars(_BY_KEYS[kind], {"project": project_id, "keys": keys})
    }
    changed = []
    for item in items:
        due = date.fromisoformat(item["due"]) if item["due"] else None
        row = existing.get(item["key"])
        if row is None:
            row = model(
                project_id=project_id,
                key=item["key"],
                title=item["title"],
                created_at=now,
                updated_at=now,
            )
            session.add(row)
        elif row.owner == item["owner"] and row.due == due:
            continue
        if row.owner != item["owner"]:
            row.owner_notice_at = _notice(item["owner"], now)
        row.owner, row.due, row.updated_at, row.remind_at = item["owner"], due, now, now
        changed.append(row)
    await session.flush()
    return [Item.of(row) for row in changed]


async def items(*, session: AsyncSession, project_id: int, kind: str) -> list[Item]:
    """List a project's milestones or documentation items by due date."""
    model = _model(kind)
    result = await session.scalars(
        sa.select(model)
        .where(model.project_id == project_id)
        .order_by(model.due.is_(None), model.due, model.id)
    )
    return [Item.of(row) for row in result]


async def find(*, session: AsyncSession, workspace_id: int, kind: str, item_id: int) -> Item | None:
    """Return an item of a project of this workspace by id, or None (never another workspace's)."""
    model = _model(kind)
    row = await session.scalar(
        sa.select(model)
        .join(models.Project, models.Project.id == model.project_id)
        .where(model.id == item_id, models.Project.workspace_id == workspace_id)
    )
    return Item.of(row) if row is not None else None


def _record(
    session: AsyncSession,
    row: models.Milestone | models.DocItem,
    kind: str,
    action: str,
    value: Any,
    by: dict[str, Any],
    now: datetime,
) -> Item:
    # Any act may change what is due: the next tick looks at the item's project again.
    row.updated_at = row.remind_at = now
    session.add(
        models.ItemAction(
            project_id=row.project_id,
            item_kind=kind,
            item_id=row.id,
            action=action,
            value=value,
            by=by,
            at=now,
        )
    )
    return Item.of(row)


async def add(
    *,
    session: AsyncSession,
    project_id: int,
    kind: str,
    title: str,
    owner: dict[str, Any] | None,
    due: date,
    by: dict[str, Any],
    now: datetime,
    link: str | None = None,
) -> Item:
    """Add an item by hand (it has no key from the answers), and record who added it."""
    model = _model(kind)
    row = model(
        project_id=project_id,
        key=None,
        title=title,
        owner=owner,
        due=due,
        status="open",
        owner_notice_at=_notice(owner, now),
        created_at=now,
        updated_at=now,
    )
    if link:
        row.link = link
    session.add(row)
    await session.flush()
    return _record(session, row, kind, "add", due.isoformat(), by, now)


async def mark_done(
    *,
    session: AsyncSession,
    kind: str,
    item_id: int,
    by: dict[str, Any],
    now: datetime,
    link: str | None = None,
) -> Item:
    """Mark an item done by someone (a documentation item may get its link), and record it."""
    row = await session.get(_model(kind), item_id)
    row.status, row.done_at, row.done_by = "done", now, by
    if link:
        row.link = link
    return _record(session, row, kind, "done", link, by, now)


async def reschedule(
    *, session: AsyncSession, kind: str, item_id: int, due: date, by: dict[str, Any], now: datetime
) -> Item:
    """Give an item a new due date (it is open again and no longer snoozed), and record it."""
    row = await session.get(_model(kind), item_id)
    row.due, row.snoozed_until, row.status = due, None, "open"
    return _record(session, row, kind, "due", due.isoformat(), by, now)


async def snooze(
    *,
    session: AsyncSession,
    kind: str,
    item_id: int,
    until: date,
    by: dict[str, Any],
    now: datetime,
) -> Item:
    """Hold an item's reminders until a day, and record it."""
    row = await session.get(_model(kind), item_id)
    row.snoozed_until = until
    return _record(session, row, kind, "snooze", until.isoformat(), by, now)


async def by_project(
    *,
    session: AsyncSession,
    platforms: tuple[str, ...],
    project_ids: Collection[int] | None = None,
) -> list[ProjectItems]:
    """Load projects with their milestones and documentation items, in workspaces of these platforms.

    Every such project, or only those of `project_ids` (the tick loads just the projects due).
    """
    found: dict[int, tuple[models.Project, str, dict[str, list[Item]]]] = {}
    for kind, model in MODELS.items():
        query = (
            sa.select(model, models.Project, models.Workspace.platform)
            .join(models.Project, models.Project.id == model.project_id)
            .join(models.Workspace, models.Workspace.id == models.Project.workspace_id)
            .where(models.Workspace.platform.in_(platforms))
            .order_by(models.Project.id, model.id)
        )
        if project_ids is not None:
            query = query.where(models.Project.id.in_(list(project_ids)))
        rows = await session.execute(query)
        for item, project, platform in rows:
            entry = found.setdefault(project.id, (project, platform, {k: [] for k in MODELS}))
            entry[2][kind].append(Item.of(item))
    return [
        ProjectItems(
            project=Project.of(project),
            platform=platform,
            milestones=tuple(lists["milestone"]),
            docs=tuple(lists["doc"]),
        )
        for project, platform, lists in sorted(found.values(), key=lambda e: e[0].id)
    ]


@dataclass(frozen=True)
class DueProject:
    """A project with something to look at now: items, open questions, owed sections."""

    id: int
    items: bool = False
    questions: bool = False
    owed: bool = False


def _due_rows(table: sa.Table, what: str, due: sa.ColumnElement[bool], after: int, platforms):
    return (
        sa.select(table.c.project_id.label("project_id"), sa.literal(what).label("what"))
        .join(models.Project, models.Project.id == table.c.project_id)
        .join(models.Workspace, models.Workspace.id == models.Project.workspace_id)
        .where(due, table.c.project_id > after, models.Workspace.platform.in_(platforms))
    )


async def due_projects(
    *,
    session: AsyncSession,
    platforms: tuple[str, ...],
    now: datetime,
    after: int = 0,
    limit: int = 200,
) -> list[DueProject]:
    """List the projects (ids above `after`, ascending) with something to look at now.

    An item is to be looked at when its reminder time has come or its owner is to be told; an
    open question or an owed section when its reminder time has come. Every one of these
    columns is indexed, so this one statement costs what is due, not what exists.
    """
    queries = [
        _due_rows(
            model.__table__,
            "items",
            sa.or_(model.remind_at <= now, model.owner_notice_at.is_not(None)),
            after,
            platforms,
        )
        for model in MODELS.values()
    ]
    for table, what in (
        (models.OpenQuestion.__table__, "questions"),
        (models.Assignment.__table__, "owed"),
    ):
        queries.append(_due_rows(table, what, table.c.remind_at <= now, after, platforms))
    union = sa.union(*queries).subquery()

    def has(what: str):
        return sa.func.max(sa.case((union.c.what == what, 1), else_=0)).label(what)

    rows = await session.execute(
        sa.select(union.c.project_id, has("items"), has("questions"), has("owed"))
        .group_by(union.c.project_id)
        .order_by(union.c.project_id)
        .limit(limit)
    )
    return [DueProject(pid, bool(i), bool(q), bool(o)) for pid, i, q, o in rows]


async def advance(
    *, session: AsyncSession, kind: str, times: list[tuple[int, datetime | None, datetime | None]]
) -> None:
    """Set items' next reminder times: (id, time read, new time), unless changed since it was read.

    A person's act between the tick's read and this write wins: its item is looked at again.
    """
    await advance_rows(session=session, table=_model(kind).__table__, times=times)


async def advance_rows(
    *,
    session: AsyncSession,
    table: sa.Table,
    times: list[tuple[int, datetime | None, datetime | None]],
) -> None:
    """Set rows' `remind_at` in one statement: (id, time read, new time), unless changed since.

    Shared by every table the tick reminds from (items, open questions, owed sections).
    """
    if not times:
        return
    await session.execute(
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("b_id"),
            table.c.remind_at.is_not_distinct_from(sa.bindparam("b_old")),
        )
        .values(remind_at=sa.bindparam("b_new")),
        [{"b_id": i, "b_old": old, "b_new": new} for i, old, new in times],
    )


async def owners_told(
    *, session: AsyncSession, kind: str, marks: list[tuple[int, datetime]]
) -> None:
    """Clear items' owner-notice marks: (id, mark read), unless an owner changed since."""
    if not marks:
        return
    table = _model(kind).__table__
    await session.execute(
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("b_id"),
            table.c.owner_notice_at == sa.bindparam("b_old"),
        )
        .values(owner_notice_at=None),
        [{"b_id": i, "b_old": old} for i, old in marks],
    )


async def look_again_for(
    *, session: AsyncSession, workspace_id: int, person_id: str, now: datetime
) -> None:
    """Have the next tick look again at the items a person is reminded of (their zone changed)."""
    of_workspace = sa.select(models.Project.id).where(models.Project.workspace_id == workspace_id)
    owned = of_workspace.where(models.Project.owner["id"].as_string() == person_id)
    for model in MODELS.values():
        owner_id = model.owner["id"].as_string()
        await session.execute(
            sa.update(model)
            .where(
                model.remind_at > now,
                model.project_id.in_(of_workspace),
                sa.or_(
                    owner_id == person_id,
                    sa.and_(owner_id.is_(None), model.project_id.in_(owned)),
                ),
            )
            .values(remind_at=now)
            .execution_options(synchronize_session=False)
        )


async def look_again_at_rows(
    *, session: AsyncSession, person: sa.Column, workspace_id: int, person_id: str, now: datetime
) -> None:
    """Bring forward to now the next reminder time of a person's rows of `person`'s table.

    Shared by the tables reminded per person (open questions, owed sections), whose rows
    belong to a project of the workspace.
    """
    table = person.table
    of_workspace = sa.select(models.Project.id).where(models.Project.workspace_id == workspace_id)
    await session.execute(
        sa.update(table)
        .where(person == person_id, table.c.remind_at > now, table.c.project_id.in_(of_workspace))
        .values(remind_at=now)
    )


async def due_rows(
    *,
    session: AsyncSession,
    table: sa.Table,
    still_open: sa.ColumnElement[bool],
    project_ids: Collection[int],
    now: datetime,
) -> list[sa.Row]:
    """Read the rows of these projects whose reminder time has come, with project and platform.

    Shared by the tables reminded per person (open questions, owed sections); an index on
    `remind_at` finds them.
    """
    if not project_ids:
        return []
    rows = await session.execute(
        sa.select(table, models.Project, models.Workspace.platform)
        .join(models.Project, models.Project.id == table.c.project_id)
        .join(models.Workspace, models.Workspace.id == models.Project.workspace_id)
        .where(table.c.remind_at <= now, still_open, table.c.project_id.in_(sorted(project_ids)))
        .order_by(table.c.project_id, table.c.id)
    )
    return list(rows)
