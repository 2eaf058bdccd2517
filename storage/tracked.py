"""Keep milestones and documentation items, and what people did to them (done, snooze, a new date)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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
        )


@dataclass(frozen=True)
class ProjectItems:
    """A project with its milestones and documentation items, and the platform it lives on."""

    project: Project
    platform: str
    milestones: tuple[Item, ...]
    docs: tuple[Item, ...]


def _model(kind: str) -> type[models.Milestone] | type[models.DocItem]:
    if kind not in MODELS:
        raise ValueError(f"unknown item kind: {kind}")
    return MODELS[kind]


async def sync(
    *,
    session: AsyncSession,
    project_id: int,
    kind: str,
    items: list[dict[str, Any]],
    now: datetime,
) -> list[Item]:
    """Create or update the milestones or documentation items that the answers declare, by key."""
    model = _model(kind)
    existing = {
        item.key: item
        for item in await session.scalars(
            sa.select(model).where(model.project_id == project_id, model.key.is_not(None))
        )
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
        row.owner, row.due, row.updated_at = item["owner"], due, now
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
    row.updated_at = now
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


async def by_project(*, session: AsyncSession, platforms: tuple[str, ...]) -> list[ProjectItems]:
    """Load every project with milestones or documentation items, in workspaces of these platforms."""
    found: dict[int, tuple[models.Project, str, dict[str, list[Item]]]] = {}
    for kind, model in MODELS.items():
        rows = await session.execute(
            sa.select(model, models.Project, models.Workspace.platform)
            .join(models.Project, models.Project.id == model.project_id)
            .join(models.Workspace, models.Workspace.id == models.Project.workspace_id)
            .where(models.Workspace.platform.in_(platforms))
            .order_by(models.Project.id, model.id)
        )
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
        for project, platform, lists in found.values()
    ]
