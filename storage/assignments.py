"""Read and write the sections people owe (`assign`), always within one workspace."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models, tracked
from storage.projects import Project

TABLE = models.Assignment.__table__


@dataclass(frozen=True)
class Assignment:
    """A section of a project that one person owes, and the question open with them."""

    id: int
    project_id: int
    section_id: str
    assignee: dict[str, Any]
    assigned_by: dict[str, Any]
    current_question_id: str | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None
    assigned_at: datetime | None = None
    remind_at: datetime | None = None
    reminded: int = 0
    reminded_at: datetime | None = None

    @classmethod
    def of(cls, row: Any) -> Assignment:
        """Copy an assignment row (ORM or Core) into a value."""
        return cls(
            id=row.id,
            project_id=row.project_id,
            section_id=row.section_id,
            assignee=row.assignee,
            assigned_by=row.assigned_by,
            current_question_id=row.current_question_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            done_at=row.done_at,
            assigned_at=row.assigned_at,
            remind_at=row.remind_at,
            reminded=row.reminded,
            reminded_at=row.reminded_at,
        )


@dataclass(frozen=True)
class DueAssignment:
    """A section owed whose reminder time has come, with its project and platform."""

    assignment: Assignment
    project: Project
    platform: str


def _select() -> sa.Select:
    return sa.select(models.Assignment).execution_options(populate_existing=True)


async def assign(
    *,
    session: AsyncSession,
    project_id: int,
    section_id: str,
    assignee: dict[str, Any],
    assigned_by: dict[str, Any],
    current: str | None,
    now: datetime,
) -> Assignment:
    """Make a person owe a section; an open assignment of that section passes to them.

    Either way it is a new assignment: its reminders start over, 3 days on, from the next tick.
    """
    row = await session.scalar(
        _select().where(
            models.Assignment.project_id == project_id,
            models.Assignment.section_id == section_id,
            models.Assignment.done_at.is_(None),
        )
    )
    if row is None:
        row = models.Assignment(project_id=project_id, section_id=section_id, created_at=now)
        session.add(row)
    row.assignee_id = assignee["id"]
    row.assignee = assignee
    row.assigned_by = assigned_by
    row.current_question_id = current
    row.updated_at = row.assigned_at = now
    row.done_at = None if current is not None else now
    row.remind_at = now if current is not None else None
    row.reminded, row.reminded_at = 0, None
    await session.flush()
    return Assignment.of(row)


async def open_for(
    *, session: AsyncSession, workspace_id: int, person_id: str
) -> Assignment | None:
    """Return the open assignment of this person most recently asked, within the workspace."""
    row = await session.scalar(
        _select()
        .join(models.Project, models.Project.id == models.Assignment.project_id)
        .where(
            models.Project.workspace_id == workspace_id,
            models.Assignment.assignee_id == person_id,
            models.Assignment.done_at.is_(None),
        )
        .order_by(models.Assignment.updated_at.desc(), models.Assignment.id.desc())
        .limit(1)
    )
    return Assignment.of(row) if row is not None else None


async def of_project(*, session: AsyncSession, project_id: int) -> list[Assignment]:
    """List a project's open assignments, oldest first."""
    rows = await session.scalars(
        _select()
        .where(models.Assignment.project_id == project_id, models.Assignment.done_at.is_(None))
        .order_by(models.Assignment.created_at, models.Assignment.id)
    )
    return [Assignment.of(row) for row in rows]


async def move(
    *, session: AsyncSession, assignment_id: int, current: str | None, now: datetime
) -> None:
    """Record the question now open with the assignee; None marks the section answered."""
    await session.execute(
        sa.update(models.Assignment)
        .where(models.Assignment.id == assignment_id)
        .values(current_question_id=current, updated_at=now, done_at=None if current else now)
        .execution_options(synchronize_session=False)
    )
    if current is None:  # answered: no more reminders
        await session.execute(
            sa.update(TABLE).where(TABLE.c.id == assignment_id).values(remind_at=None)
        )


async def find(
    *, session: AsyncSession, workspace_id: int, assignment_id: int
) -> tuple[Assignment, Project] | None:
    """Return an assignment of a project of this workspace by id, with its project, or None."""
    row = (
        await session.execute(
            sa.select(TABLE, models.Project)
            .join(models.Project, models.Project.id == TABLE.c.project_id)
            .where(TABLE.c.id == assignment_id, models.Project.workspace_id == workspace_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    return (Assignment.of(row), Project.of(row.Project)) if row is not None else None


async def due(
    *, session: AsyncSession, project_ids: Collection[int], now: datetime
) -> list[DueAssignment]:
    """List the open assignments of these projects whose reminder time has come (an index finds them)."""
    rows = await tracked.due_rows(
        session=session,
        table=TABLE,
        still_open=TABLE.c.done_at.is_(None),
        project_ids=project_ids,
        now=now,
    )
    return [
        DueAssignment(Assignment.of(row), Project.of(row.Project), row.platform) for row in rows
    ]


async def reminded(
    *,
    session: AsyncSession,
    marks: list[tuple[int, datetime, int, datetime]],
    now: datetime,
) -> None:
    """Record reminders sent: (id, assigned at, reminders before, next time), unless it changed.

    A reassignment or an answer since the tick read the row wins: its count is left alone.
    """
    if not marks:
        return
    await session.execute(
        sa.update(TABLE)
        .where(
            TABLE.c.id == sa.bindparam("b_id"),
            TABLE.c.assigned_at == sa.bindparam("b_assigned"),
            TABLE.c.reminded == sa.bindparam("b_count"),
            TABLE.c.done_at.is_(None),
        )
        .values(reminded=TABLE.c.reminded + 1, reminded_at=now, remind_at=sa.bindparam("b_next")),
        [
            {"b_id": i, "b_assigned": assigned, "b_count": count, "b_next": at}
            for i, assigned, count, at in marks
        ],
    )


async def look_again_for(
    *, session: AsyncSession, workspace_id: int, person_id: str, now: datetime
) -> None:
    """Have the next tick look again at the sections a person owes (their time zone changed)."""
    await tracked.look_again_at_rows(
        session=session,
        person=TABLE.c.assignee_id,
        workspace_id=workspace_id,
        person_id=person_id,
        now=now,
    )


async def advance(
    *, session: AsyncSession, times: list[tuple[int, datetime | None, datetime | None]]
) -> None:
    """Set rows' next reminder time in one statement: (id, time read, new time), unless changed."""
    await tracked.advance_rows(session=session, table=TABLE, times=times)
