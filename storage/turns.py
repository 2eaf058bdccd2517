"""Read in one statement what a turn needs: its workspace, its project and what is known of the speaker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models, workspaces
from storage.people import Person
from storage.projects import Project


@dataclass(frozen=True)
class Opened:
    """Where a turn is: the workspace's id, the project found (if any), the speaker as stored.

    `person` is None when nothing is stored of the speaker yet (or no speaker was asked for).
    """

    workspace_id: int
    project: Project | None
    person: Person | None


async def open_turn(
    *,
    session: AsyncSession,
    platform: str,
    workspace: str,
    now: datetime,
    person_id: str | None = None,
    channel_id: str | None = None,
    thread_id: str | None = None,
    project_id: int | None = None,
) -> Opened:
    """Read a workspace (creating it on first sight) with its project and the speaker.

    The project is the one whose conversation lives in this channel and thread (the most
    recently active one, where a chat holds several), or the workspace's project of this id;
    none when neither is given. Every read is scoped by the workspace.
    """
    project = models.Project.workspace_id == models.Workspace.id
    if project_id is not None:
        project = sa.and_(project, models.Project.id == project_id)
    elif channel_id is not None and thread_id is not None:
        project = sa.and_(
            project, models.Project.channel_id == channel_id, models.Project.thread_id == thread_id
        )
    else:
        project = sa.false()
    person = (
        sa.and_(
            models.Person.workspace_id == models.Workspace.id,
            models.Person.external_id == person_id,
        )
        if person_id is not None
        else sa.false()
    )
    # Columns, not ORM rows: nothing to track, and `people.remember` updates with a statement.
    query = (
        sa.select(
            models.Workspace.id.label("workspace_row"),
            *models.Project.__table__.c,
            models.Person.id.label("person_row"),
            models.Person.name.label("person_name"),
            models.Person.email.label("person_email"),
            models.Person.timezone.label("person_timezone"),
        )
        .select_from(models.Workspace)
        .outerjoin(models.Project, project)
        .outerjoin(models.Person, person)
        .where(models.Workspace.platform == platform, models.Workspace.external_id == workspace)
        .order_by(models.Project.updated_at.desc(), models.Project.id.desc())
        .limit(1)
    )
    row = (await session.execute(query)).first()
    if row is None:
        created = await workspaces.get_or_create(
            session=session, platform=platform, external_id=workspace, now=now
        )
        return Opened(created.id, None, None)
    known = (
        Person(
            workspace_id=row.workspace_row,
            id=person_id,
            name=row.person_name,
            email=row.person_email,
            timezone=row.person_timezone,
        )
        if row.person_row is not None
        else None
    )
    return Opened(row.workspace_row, Project.of(row) if row.id is not None else None, known)
