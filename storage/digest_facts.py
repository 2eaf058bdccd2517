"""Read what every digest of a workspace needs of its projects, in a fixed number of statements.

The database picks each question's latest answer and each project's last activity; the
statement count does not grow with the number of projects. Each statement is its own function;
`workspace_projects` puts their rows together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.projects import Project
from storage.tracked import MODELS

# A project's id and a moment it changed: its last activity is the latest of them.
Activity = list[tuple[int, datetime]]


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


async def workspace_projects(*, session: AsyncSession, workspace_id: int) -> list[DigestProject]:
    """Read what every digest of a workspace needs, in a fixed number of statements.

    The database picks each question's latest answer and each project's last activity; the
    statement count does not grow with the number of projects.
    """
    projects = await _projects(session, workspace_id)
    if not projects:
        return []
    last_activity = {p.id: p.updated_at for p in projects}
    answers, answered = await _latest_answers(session, workspace_id)
    _move_on(last_activity, answered)
    items: dict[tuple[int, str], list[DigestItem]] = defaultdict(list)
    for kind in MODELS:  # milestones, then documentation items
        found, changed = await _items(session, workspace_id, kind)
        for item_project, item in found:
            items[(item_project, kind)].append(item)
        _move_on(last_activity, changed)
    asks = await _open_questions(session, workspace_id)
    owed = await _owed_sections(session, workspace_id)
    extras = await _extras(session, workspace_id)
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


def _move_on(last_activity: dict[int, datetime], moments: Iterable[tuple[int, datetime]]) -> None:
    """Move each project's last activity on to the latest of these moments."""
    for project_id, at in moments:
        if at > last_activity[project_id]:
            last_activity[project_id] = at


async def _projects(session: AsyncSession, workspace_id: int) -> list[models.Project]:
    return list(
        await session.scalars(
            sa.select(models.Project)
            .where(models.Project.workspace_id == workspace_id)
            .order_by(models.Project.id)
        )
    )


async def _latest_answers(
    session: AsyncSession, workspace_id: int
) -> tuple[dict[int, dict[str, Any]], Activity]:
    """Read each question's latest answer, by project (a skipped one is None), and when given."""
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    answered: Activity = []
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
        answered.append((project_id, at))
    return answers, answered


async def _items(
    session: AsyncSession, workspace_id: int, kind: str
) -> tuple[list[tuple[int, DigestItem]], Activity]:
    """Read a workspace's items of one kind, (project id, item) each, and when each changed."""
    model = MODELS[kind]
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
    found: list[tuple[int, DigestItem]] = []
    changed: Activity = []
    for project_id, item_id, key, title, owner, due, status, url, updated in rows:
        found.append((project_id, DigestItem(kind, item_id, key, title, owner, due, status, url)))
        changed.append((project_id, updated))
    return found, changed


async def _open_questions(session: AsyncSession, workspace_id: int) -> dict[int, list[tuple]]:
    """Read a workspace's open questions, by project: (question id, owner, revisit day)."""
    asks: dict[int, list[tuple]] = defaultdict(list)
    question = models.OpenQuestion
    rows = await session.execute(
        sa.select(question.project_id, question.question_id, question.owner, question.revisit_on)
        .join(models.Project, models.Project.id == question.project_id)
        .where(models.Project.workspace_id == workspace_id, question.closed_at.is_(None))
        .order_by(question.project_id, question.revisit_on, question.id)
    )
    for project_id, question_id, owner, revisit_on in rows:
        asks[project_id].append((question_id, owner, revisit_on))
    return asks


async def _owed_sections(session: AsyncSession, workspace_id: int) -> dict[int, list[tuple]]:
    """Read a workspace's sections owed, by project: (section id, assignee, when assigned)."""
    owed: dict[int, list[tuple]] = defaultdict(list)
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
    return owed


async def _extras(session: AsyncSession, workspace_id: int) -> dict[int, models.DigestProject]:
    """Read the digest's own facts of a workspace's projects (link, snooze, tags), by project."""
    return {
        row.project_id: row
        for row in await session.scalars(
            sa.select(models.DigestProject).where(models.DigestProject.workspace_id == workspace_id)
        )
    }
