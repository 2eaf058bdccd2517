"""Keep the questions left for later: whose they are, when to revisit them, when they were reminded."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models, tracked
from storage.projects import Project

TABLE = models.OpenQuestion.__table__


@dataclass(frozen=True)
class OpenQuestion:
    """A question of a project left for later by its owner, to revisit by a day."""

    id: int
    project_id: int
    question_id: str
    owner: dict[str, Any]
    revisit_on: date
    remind_at: datetime | None
    reminded_at: datetime | None
    created_at: datetime
    closed_at: datetime | None = None

    @property
    def owner_id(self) -> str:
        return self.owner["id"]

    @classmethod
    def of(cls, row: Any) -> OpenQuestion:
        """Copy a row (ORM or Core) into a value."""
        return cls(
            id=row.id,
            project_id=row.project_id,
            question_id=row.question_id,
            owner=row.owner,
            revisit_on=row.revisit_on,
            remind_at=row.remind_at,
            reminded_at=row.reminded_at,
            created_at=row.created_at,
            closed_at=row.closed_at,
        )


@dataclass(frozen=True)
class DueQuestion:
    """An open question whose reminder time has come, with its project and platform."""

    question: OpenQuestion
    project: Project
    platform: str


def _open(project_id: int, question_ids: Collection[str]) -> sa.ColumnElement[bool]:
    return sa.and_(
        TABLE.c.project_id == project_id,
        TABLE.c.question_id.in_(sorted(question_ids)),
        TABLE.c.closed_at.is_(None),
    )


async def leave(
    *,
    session: AsyncSession,
    project_id: int,
    question_id: str,
    owner: dict[str, Any],
    revisit_on: date,
    now: datetime,
) -> None:
    """Make a question open, the owner's to revisit by a day; one left before is replaced.

    The next tick looks at it (`remind_at` now) and sets when its reminder comes.
    """
    await close(session=session, project_id=project_id, question_ids=[question_id], now=now)
    await session.execute(
        sa.insert(TABLE).values(
            project_id=project_id,
            question_id=question_id,
            owner=owner,
            owner_id=owner["id"],
            revisit_on=revisit_on,
            remind_at=now,
            created_at=now,
            updated_at=now,
        )
    )


async def close(
    *, session: AsyncSession, project_id: int, question_ids: Collection[str], now: datetime
) -> None:
    """Close the open questions among these (they got another answer): no more reminders."""
    if not question_ids:
        return
    await session.execute(
        sa.update(TABLE)
        .where(_open(project_id, question_ids))
        .values(closed_at=now, updated_at=now, remind_at=None)
    )


async def of_project(*, session: AsyncSession, project_id: int) -> list[OpenQuestion]:
    """List a project's open questions, oldest first."""
    rows = await session.execute(
        sa.select(TABLE)
        .where(TABLE.c.project_id == project_id, TABLE.c.closed_at.is_(None))
        .order_by(TABLE.c.created_at, TABLE.c.id)
    )
    return [OpenQuestion.of(row) for row in rows]


async def find(*, session: AsyncSession, workspace_id: int, open_id: int) -> OpenQuestion | None:
    """Return an open question of a project of this workspace by id (closed ones too), or None."""
    row = (
        await session.execute(
            sa.select(TABLE)
            .join(models.Project, models.Project.id == TABLE.c.project_id)
            .where(TABLE.c.id == open_id, models.Project.workspace_id == workspace_id)
        )
    ).first()
    return OpenQuestion.of(row) if row is not None else None


async def snooze(*, session: AsyncSession, open_id: int, revisit_on: date, now: datetime) -> None:
    """Give an open question a new day to revisit it by: its owner is reminded again then."""
    await session.execute(
        sa.update(TABLE)
        .where(TABLE.c.id == open_id, TABLE.c.closed_at.is_(None))
        .values(revisit_on=revisit_on, reminded_at=None, remind_at=now, updated_at=now)
    )


async def due(
    *, session: AsyncSession, project_ids: Collection[int], now: datetime
) -> list[DueQuestion]:
    """List the open questions of these projects whose reminder time has come (an index finds them)."""
    rows = await tracked.due_rows(
        session=session,
        table=TABLE,
        still_open=TABLE.c.closed_at.is_(None),
        project_ids=project_ids,
        now=now,
    )
    return [
        DueQuestion(OpenQuestion.of(row), Project.of(row.Project), row.platform) for row in rows
    ]


async def reminded(*, session: AsyncSession, marks: list[tuple[int, date]], now: datetime) -> None:
    """Record that owners were reminded: (id, revisit day reminded of), unless it changed since."""
    if not marks:
        return
    await session.execute(
        sa.update(TABLE)
        .where(
            TABLE.c.id == sa.bindparam("b_id"),
            TABLE.c.revisit_on == sa.bindparam("b_revisit"),
            TABLE.c.closed_at.is_(None),
        )
        .values(reminded_at=now, remind_at=None),
        [{"b_id": i, "b_revisit": revisit} for i, revisit in marks],
    )


async def look_again_for(
    *, session: AsyncSession, workspace_id: int, person_id: str, now: datetime
) -> None:
    """Have the next tick look again at a person's open questions (their time zone changed)."""
    await tracked.look_again_at_rows(
        session=session,
        person=TABLE.c.owner_id,
        workspace_id=workspace_id,
        person_id=person_id,
        now=now,
    )


async def advance(
    *, session: AsyncSession, times: list[tuple[int, datetime | None, datetime | None]]
) -> None:
    """Set rows' next reminder time in one statement: (id, time read, new time), unless changed."""
    await tracked.advance_rows(session=session, table=TABLE, times=times)
