"""Keep digest subscriptions, and read what a workspace's digest is made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.projects import Project
from storage.tracked import MODELS, Item


@dataclass(frozen=True)
class Subscription:
    """A person (`target_kind` "user") or a channel that gets a workspace's weekly digest."""

    id: int
    workspace_id: int
    platform: str
    target_kind: str
    target_id: str
    timezone: str | None
    created_at: datetime


@dataclass(frozen=True)
class DigestProject:
    """What a digest needs of one project: latest answers, tracked items, last activity."""

    project: Project
    answers: dict[str, Any]
    milestones: tuple[Item, ...]
    docs: tuple[Item, ...]
    last_activity: datetime


async def subscribe(
    *,
    session: AsyncSession,
    workspace_id: int,
    target_kind: str,
    target_id: str,
    timezone: str | None,
    by: dict[str, Any],
    now: datetime,
) -> bool:
    """Subscribe a person or a channel to the weekly digest; tell whether it is new."""
    existing = await session.scalar(
        sa.select(models.DigestSubscription).where(
            models.DigestSubscription.workspace_id == workspace_id,
            models.DigestSubscription.target_kind == target_kind,
            models.DigestSubscription.target_id == target_id,
        )
    )
    if existing is not None:
        existing.timezone = timezone or existing.timezone
        return False
    session.add(
        models.DigestSubscription(
            workspace_id=workspace_id,
            target_kind=target_kind,
            target_id=target_id,
            timezone=timezone,
            created_by=by,
            created_at=now,
        )
    )
    await session.flush()
    return True


async def unsubscribe(
    *, session: AsyncSession, workspace_id: int, target_kind: str, target_id: str
) -> bool:
    """Stop a person's or a channel's digest; tell whether there was one."""
    result = await session.execute(
        sa.delete(models.DigestSubscription).where(
            models.DigestSubscription.workspace_id == workspace_id,
            models.DigestSubscription.target_kind == target_kind,
            models.DigestSubscription.target_id == target_id,
        )
    )
    return result.rowcount > 0


async def subscriptions(*, session: AsyncSession, platforms: tuple[str, ...]) -> list[Subscription]:
    """List every subscription in workspaces of these platforms."""
    rows = await session.execute(
        sa.select(models.DigestSubscription, models.Workspace.platform)
        .join(models.Workspace, models.Workspace.id == models.DigestSubscription.workspace_id)
        .where(models.Workspace.platform.in_(platforms))
        .order_by(models.DigestSubscription.id)
    )
    return [
        Subscription(
            id=row.id,
            workspace_id=row.workspace_id,
            platform=platform,
            target_kind=row.target_kind,
            target_id=row.target_id,
            timezone=row.timezone,
            created_at=row.created_at,
        )
        for row, platform in rows
    ]


async def workspace_projects(*, session: AsyncSession, workspace_id: int) -> list[DigestProject]:
    """Load what the digest needs of each project: answers, tracked items, last activity."""
    projects = list(
        await session.scalars(
            sa.select(models.Project).where(models.Project.workspace_id == workspace_id)
        )
    )
    ids = [p.id for p in projects]
    if not ids:
        return []
    answers: dict[int, dict[str, Any]] = {p.id: {} for p in projects}
    items: dict[int, dict[str, list[Item]]] = {p.id: {k: [] for k in MODELS} for p in projects}
    last_activity = {p.id: p.updated_at for p in projects}
    rows = await session.execute(
        sa.select(
            models.Answer.project_id,
            models.Answer.question_id,
            models.Answer.value,
            models.Answer.skipped,
            models.Answer.created_at,
        )
        .where(models.Answer.project_id.in_(ids))
        .order_by(models.Answer.project_id, models.Answer.question_id, models.Answer.version)
    )
    for project_id, question_id, value, skipped, created_at in rows:
        answers[project_id][question_id] = None if skipped else value
        last_activity[project_id] = max(last_activity[project_id], created_at)
    for kind, model in MODELS.items():
        for row in await session.scalars(
            sa.select(model).where(model.project_id.in_(ids)).order_by(model.id)
        ):
            items[row.project_id][kind].append(Item.of(row))
            last_activity[row.project_id] = max(last_activity[row.project_id], row.updated_at)
    return [
        DigestProject(
            project=Project.of(p),
            answers=answers[p.id],
            milestones=tuple(items[p.id]["milestone"]),
            docs=tuple(items[p.id]["doc"]),
            last_activity=last_activity[p.id],
        )
        for p in projects
    ]


async def changes_since(
    *, session: AsyncSession, project_ids: list[int], since: datetime
) -> dict[int, list[str]]:
    """Describe, per project, what changed since a moment: new answers and actions on items."""
    changes: dict[int, list[str]] = {pid: [] for pid in project_ids}
    if not project_ids:
        return changes
    counts = await session.execute(
        sa.select(models.Answer.project_id, sa.func.count())
        .where(models.Answer.project_id.in_(project_ids), models.Answer.created_at > since)
        .group_by(models.Answer.project_id)
    )
    for project_id, count in counts:
        changes[project_id].append(f"{count} answer{'s' if count != 1 else ''}")
    actions = await session.execute(
        sa.select(models.ItemAction.project_id, models.ItemAction.action, sa.func.count())
        .where(models.ItemAction.project_id.in_(project_ids), models.ItemAction.at > since)
        .group_by(models.ItemAction.project_id, models.ItemAction.action)
    )
    words = {"done": "done", "snooze": "snoozed", "due": "given a new date"}
    for project_id, action, count in actions:
        changes[project_id].append(
            f"{count} item{'s' if count != 1 else ''} {words.get(action, action)}"
        )
    return changes
