"""Keep digest subscriptions, and read what a workspace's digest is made of."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    DigestSubscription,
    DocItem,
    ItemAction,
    Milestone,
    Project,
    Workspace,
)


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
        sa.select(DigestSubscription).where(
            DigestSubscription.workspace_id == workspace_id,
            DigestSubscription.target_kind == target_kind,
            DigestSubscription.target_id == target_id,
        )
    )
    if existing is not None:
        existing.timezone = timezone or existing.timezone
        return False
    session.add(
        DigestSubscription(
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
        sa.delete(DigestSubscription).where(
            DigestSubscription.workspace_id == workspace_id,
            DigestSubscription.target_kind == target_kind,
            DigestSubscription.target_id == target_id,
        )
    )
    return result.rowcount > 0


async def subscriptions(
    *, session: AsyncSession, platforms: tuple[str, ...]
) -> list[tuple[DigestSubscription, str]]:
    """List every subscription in workspaces of these platforms, with its platform."""
    rows = await session.execute(
        sa.select(DigestSubscription, Workspace.platform)
        .join(Workspace, Workspace.id == DigestSubscription.workspace_id)
        .where(Workspace.platform.in_(platforms))
        .order_by(DigestSubscription.id)
    )
    return [(subscription, platform) for subscription, platform in rows]


async def workspace_projects(*, session: AsyncSession, workspace_id: int) -> list[dict[str, Any]]:
    """Load what the digest needs of each project: answers, tracked items, last activity."""
    projects = list(
        await session.scalars(sa.select(Project).where(Project.workspace_id == workspace_id))
    )
    ids = [p.id for p in projects]
    loaded: dict[int, dict[str, Any]] = {
        p.id: {
            "project": p,
            "answers": {},
            "milestones": [],
            "docs": [],
            "last_activity": p.updated_at,
        }
        for p in projects
    }
    if not ids:
        return []
    answers = await session.execute(
        sa.select(
            Answer.project_id, Answer.question_id, Answer.value, Answer.skipped, Answer.created_at
        )
        .where(Answer.project_id.in_(ids))
        .order_by(Answer.project_id, Answer.question_id, Answer.version)
    )
    for project_id, question_id, value, skipped, created_at in answers:
        entry = loaded[project_id]
        entry["answers"][question_id] = None if skipped else value
        entry["last_activity"] = max(entry["last_activity"], created_at)
    for model, key in ((Milestone, "milestones"), (DocItem, "docs")):
        for item in await session.scalars(
            sa.select(model).where(model.project_id.in_(ids)).order_by(model.id)
        ):
            loaded[item.project_id][key].append(item)
            loaded[item.project_id]["last_activity"] = max(
                loaded[item.project_id]["last_activity"], item.updated_at
            )
    return list(loaded.values())


async def changes_since(
    *, session: AsyncSession, project_ids: list[int], since: datetime
) -> dict[int, list[str]]:
    """Describe, per project, what changed since a moment: new answers and actions on items."""
    changes: dict[int, list[str]] = {pid: [] for pid in project_ids}
    if not project_ids:
        return changes
    counts = await session.execute(
        sa.select(Answer.project_id, sa.func.count())
        .where(Answer.project_id.in_(project_ids), Answer.created_at > since)
        .group_by(Answer.project_id)
    )
    for project_id, count in counts:
        changes[project_id].append(f"{count} answer{'s' if count != 1 else ''}")
    actions = await session.execute(
        sa.select(ItemAction.project_id, ItemAction.action, sa.func.count())
        .where(ItemAction.project_id.in_(project_ids), ItemAction.at > since)
        .group_by(ItemAction.project_id, ItemAction.action)
    )
    words = {"done": "done", "snooze": "snoozed", "due": "given a new date"}
    for project_id, action, count in actions:
        changes[project_id].append(
            f"{count} item{'s' if count != 1 else ''} {words.get(action, action)}"
        )
    return changes
