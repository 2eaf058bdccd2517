"""Read and write the sections people owe (`assign`), always within one workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models


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

    @classmethod
    def of(cls, row: models.Assignment) -> Assignment:
        """Copy an assignment row into a value."""
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
        )


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
    """Make a person owe a section; an open assignment of that section passes to them."""
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
    row.updated_at = now
    row.done_at = None if current is not None else now
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
