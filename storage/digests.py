"""Keep digest subscriptions and what digests remember, and read a workspace's digest facts at once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.projects import Project


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


@dataclass(frozen=True)
class DigestItem:
    """A milestone or documentation item as a digest reads it."""

    kind: str
    id: int
    key: str | None
    title: str
    owner: dict[str, Any] | None
    due: date | None
    status: str
    link: str | None


@dataclass(frozen=True)
class DigestProject:
    """What a digest needs of one project: latest answers, tracked items, last activity, extras."""

    project: Project
    answers: dict[str, Any]
    milestones: tuple[DigestItem, ...]
    docs: tuple[DigestItem, ...]
    last_activity: datetime
    link: str | None = None
    snoozed_until: date | None = None
    tags: tuple[str, ...] = ()
    # (question id, owner, revisit day) of each question left for later, not answered since.
    open_questions: tuple[tuple[str, dict[str, Any], date], ...] = ()
    # (section id, assignee, when assigned) of each section owed, not answered yet.
    owed: tuple[tuple[str, dict[str, Any], datetime], ...] = ()


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


async def workspace_projects(*, session: AsyncSession, workspace_id: int) -> list[DigestProject]:
    """Read what every digest of a workspace needs, in a fixed number of statements.

    The database picks each question's latest answer and each project's last activity; the
    statement count does not grow with the number of projects.
    """
    projects = list(
        await session.scalars(
            sa.select(models.Project)
            .where(models.Project.workspace_id == workspace_id)
            .order_by(models.Project.id)
        )
    )
    if not projects:
        return []
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    last_activity = {p.id: p.updated_at for p in projects}
    answer = models.Answer
    latest = (
        sa.select(
            answer.project_id,
            answer.question_id,
            sa.func.max(answer.version).label("version"),
            sa.func.max(answer.created_at).label("at"),
        )
        .join(models.Project, models.Project.id == answer.project_id)
        .where(models.Project.workspace_id == workspace_id)
        .group_by(answer.project_id, answer.question_id)
        .subquery()
    )
    rows = await session.execute(
        sa.select(
            answer.project_id, answer.question_id, answer.value, answer.skipped, latest.c.at
        ).join(
            latest,
            sa.and_(
                latest.c.project_id == answer.project_id,
                latest.c.question_id == answer.question_id,
                latest.c.version == answer.version,
            ),
        )
    )
    for project_id, question_id, value, skipped, at in rows:
        answers[project_id][question_id] = None if skipped else value
        if at > last_activity[project_id]:
            last_activity[project_id] = at
    items: dict[tuple[int, str], list[DigestItem]] = defaultdict(list)
    for kind, model in (("milestone", models.Milestone), ("doc", models.DocItem)):
        link = model.link if model is models.DocItem else sa.null()
        rows = await session.execute(
            sa.select(
                model.project_id,
                model.id,
                model.key,
                model.title,
                model.owner,
                model.due,
                model.status,
                link,
                model.updated_at,
            )
            .join(models.Project, models.Project.id == model.project_id)
            .where(models.Project.workspace_id == workspace_id)
            .order_by(model.id)
        )
        for project_id, item_id, key, title, owner, due, status, url, updated in rows:
            items[(project_id, kind)].append(
                DigestItem(kind, item_id, key, title, owner, due, status, url)
            )
            if updated > last_activity[project_id]:
                last_activity[project_id] = updated
    asks, owed = await _owed(session, workspace_id)
    extras = {
        row.project_id: row
        for row in await session.scalars(
            sa.select(models.DigestProject).where(models.DigestProject.workspace_id == workspace_id)
        )
    }
    loaded = []
    for p in projects:
        extra = extras.get(p.id)
        loaded.append(
            DigestProject(
                project=Project.of(p),
                answers=answers[p.id],
                milestones=tuple(items[(p.id, "milestone")]),
                docs=tuple(items[(p.id, "doc")]),
                last_activity=last_activity[p.id],
                link=extra.link if extra else None,
                snoozed_until=extra.snoozed_until if extra else None,
                tags=tuple(extra.tags or ()) if extra else (),
                open_questions=tuple(asks[p.id]),
                owed=tuple(owed[p.id]),
            )
        )
    return loaded


async def _owed(
    session: AsyncSession, workspace_id: int
) -> tuple[dict[int, list[tuple]], dict[int, list[tuple]]]:
    """Read a workspace's open questions and owed sections, by project: one statement each."""
    asks: dict[int, list[tuple]] = defaultdict(list)
    owed: dict[int, list[tuple]] = defaultdict(list)
    question = models.OpenQuestion
    rows = await session.execute(
        sa.select(question.project_id, question.question_id, question.owner, question.revisit_on)
        .join(models.Project, models.Project.id == question.project_id)
        .where(models.Project.workspace_id == workspace_id, question.closed_at.is_(None))
        .order_by(question.project_id, question.revisit_on, question.id)
    )
    for project_id, question_id, owner, revisit_on in rows:
        asks[project_id].append((question_id, owner, revisit_on))
    assignment = models.Assignment
    rows = await session.execute(
        sa.select(
            assignment.project_id,
            assignment.section_id,
            assignment.assignee,
            assignment.assigned_at,
        )
        .join(models.Project, models.Project.id == assignment.project_id)
        .where(models.Project.workspace_id == workspace_id, assignment.done_at.is_(None))
        .order_by(assignment.project_id, assignment.assigned_at, assignment.id)
    )
    for project_id, section_id, assignee, assigned_at in rows:
        owed[project_id].append((section_id, assignee, assigned_at))
    return asks, owed


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
