"""Keep digest subscriptions, projects' snoozes, tags and links, and what digests remember.

What a digest reads of a workspace's projects is in `storage.digest_facts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models


@dataclass(frozen=True)
class Subscription:
    """A person (`target_kind` "user") or a channel that gets a workspace's digest.

    `scope_kind` None means every project; "channel" the projects of channel `scope_value`;
    "tag" those tagged `scope_value`. `every_weeks` is 1 (weekly) or 2 (fortnightly).
    """

    id: int
    workspace_id: int
    platform: str
    workspace: str  # the platform's id of the workspace (a Slack team, a Teams tenant)
    target_kind: str
    target_id: str
    timezone: str | None
    created_at: datetime
    created_by: dict[str, Any]
    scope_kind: str | None = None
    scope_value: str | None = None
    every_weeks: int = 1
    last_snapshot_id: int | None = None
    last_sent_at: datetime | None = None


async def subscribe(
    *,
    session: AsyncSession,
    workspace_id: int,
    target_kind: str,
    target_id: str,
    timezone: str | None,
    by: dict[str, Any],
    now: datetime,
    scope_kind: str | None = None,
    scope_value: str | None = None,
    every_weeks: int = 1,
) -> bool:
    """Subscribe a person or a channel to the digest (or change its scope); tell whether it is new."""
    existing = await session.scalar(
        sa.select(models.DigestSubscription).where(
            models.DigestSubscription.workspace_id == workspace_id,
            models.DigestSubscription.target_kind == target_kind,
            models.DigestSubscription.target_id == target_id,
        )
    )
    if existing is not None:
        existing.timezone = timezone or existing.timezone
        existing.scope_kind, existing.scope_value = scope_kind, scope_value
        existing.every_weeks = every_weeks
        return False
    session.add(
        models.DigestSubscription(
            workspace_id=workspace_id,
            target_kind=target_kind,
            target_id=target_id,
            timezone=timezone,
            created_by=by,
            created_at=now,
            scope_kind=scope_kind,
            scope_value=scope_value,
            every_weeks=every_weeks,
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
        sa.select(
            models.DigestSubscription, models.Workspace.platform, models.Workspace.external_id
        )
        .join(models.Workspace, models.Workspace.id == models.DigestSubscription.workspace_id)
        .where(models.Workspace.platform.in_(platforms))
        .order_by(models.DigestSubscription.id)
    )
    return [
        Subscription(
            id=row.id,
            workspace_id=row.workspace_id,
            platform=platform,
            workspace=external_id,
            target_kind=row.target_kind,
            target_id=row.target_id,
            timezone=row.timezone,
            created_at=row.created_at,
            created_by=row.created_by,
            scope_kind=row.scope_kind,
            scope_value=row.scope_value,
            every_weeks=row.every_weeks,
            last_snapshot_id=row.last_snapshot_id,
            last_sent_at=row.last_sent_at,
        )
        for row, platform, external_id in rows
    ]


async def _extra(session: AsyncSession, workspace_id: int, project_id: int) -> models.DigestProject:
    row = await session.get(models.DigestProject, project_id)
    if row is None or row.workspace_id != workspace_id:
        row = models.DigestProject(project_id=project_id, workspace_id=workspace_id, tags=[])
        session.add(row)
    return row


async def snooze(
    *,
    session: AsyncSession,
    workspace_id: int,
    project_id: int,
    until: date,
    by: dict[str, Any],
) -> None:
    """Keep a project out of "Needs you" until a day."""
    row = await _extra(session, workspace_id, project_id)
    row.snoozed_until, row.snoozed_by = until, by
    await session.flush()


async def set_tags(
    *, session: AsyncSession, workspace_id: int, project_id: int, tags: list[str]
) -> None:
    """Replace a project's tags, which a subscription may be scoped to."""
    row = await _extra(session, workspace_id, project_id)
    row.tags = sorted(set(tags))
    await session.flush()


async def keep_links(*, session: AsyncSession, workspace_id: int, links: dict[int, str]) -> None:
    """Keep the links to projects' threads, found once (a thread's link does not change)."""
    if not links:
        return
    known = {
        row.project_id: row
        for row in await session.scalars(
            sa.select(models.DigestProject).where(
                models.DigestProject.workspace_id == workspace_id,
                models.DigestProject.project_id.in_(list(links)),
            )
        )
    }
    for project_id, link in links.items():
        row = known.get(project_id)
        if row is not None:
            row.link = link
            continue
        try:  # another scheduler may keep the same link at the same moment: either will do
            async with session.begin_nested():
                session.add(
                    models.DigestProject(
                        project_id=project_id, workspace_id=workspace_id, link=link, tags=[]
                    )
                )
        except IntegrityError:
            continue
    await session.flush()


async def save_snapshot(
    *, session: AsyncSession, workspace_id: int, state: dict[str, Any], now: datetime
) -> int:
    """Keep the facts one tick's digests of a workspace showed; return the snapshot's id."""
    row = models.DigestSnapshot(workspace_id=workspace_id, taken_at=now, state=state)
    session.add(row)
    await session.flush()
    return row.id


async def snapshots(*, session: AsyncSession, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Read the snapshots previous digests showed, by id."""
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(models.DigestSnapshot.id, models.DigestSnapshot.state).where(
            models.DigestSnapshot.id.in_(ids)
        )
    )
    return {snapshot_id: state for snapshot_id, state in rows}


async def mark_sent(
    *, session: AsyncSession, subscription_id: int, snapshot_id: int, now: datetime
) -> None:
    """Remember which snapshot a subscription's digest showed, for the next one's trend."""
    await session.execute(
        sa.update(models.DigestSubscription)
        .where(models.DigestSubscription.id == subscription_id)
        .values(last_snapshot_id=snapshot_id, last_sent_at=now)
    )


async def prune_snapshots(*, session: AsyncSession, workspace_id: int) -> None:
    """Drop the snapshots of a workspace that no subscription refers to any more."""
    used = sa.select(models.DigestSubscription.last_snapshot_id).where(
        models.DigestSubscription.last_snapshot_id.is_not(None)
    )
    await session.execute(
        sa.delete(models.DigestSnapshot).where(
            models.DigestSnapshot.workspace_id == workspace_id,
            models.DigestSnapshot.id.not_in(used),
        )
    )


async def project_references(
    *, session: AsyncSession, workspace_id: int, project_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """Return the stored conversation reference of each project that has one (`project:<id>`)."""
    if not project_ids:
        return {}
    keys = {f"project:{pid}": pid for pid in project_ids}
    found: dict[int, dict[str, Any]] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        rows = await session.execute(
            sa.select(
                models.ConversationReference.key, models.ConversationReference.reference
            ).where(
                models.ConversationReference.workspace_id == workspace_id,
                models.ConversationReference.key.in_(ordered[start : start + 500]),
                models.ConversationReference.broken_at.is_(None),
            )
        )
        for key, reference in rows:
            found[keys[key]] = reference
    return found
