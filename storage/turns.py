"""Read in one statement what a turn needs: its workspace, its project and what is known of the speaker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models, workspaces
from storage.people import Person
from storage.projects import Answers, Project, answers_in, versions_json

_W, _P, _PEOPLE = models.Workspace.__table__, models.Project.__table__, models.Person.__table__


@dataclass(frozen=True)
class Opened:
    """Where a turn is: the workspace's id, the project found (if any), the speaker as stored.

    `person` is None when nothing is stored of the speaker yet (or no speaker was asked for);
    `answers`, the project's latest answers, when they were asked for and a project was found.
    """

    workspace_id: int
    project: Project | None
    person: Person | None
    answers: Answers | None = None


def _read(project: sa.ColumnElement[bool], answers: str | None = None) -> sa.Select:
    """Build the read once (building a statement costs more than running it): values are bound.

    `answers`: the dialect to read the project's answers in, in the same statement.
    """
    more = [] if answers is None else [versions_json(answers, _P.c.id).label("answer_versions")]
    return (
        sa.select(
            _W.c.id.label("workspace_row"),
            *_P.c,
            _PEOPLE.c.id.label("person_row"),
            _PEOPLE.c.name.label("person_name"),
            _PEOPLE.c.email.label("person_email"),
            _PEOPLE.c.timezone.label("person_timezone"),
            *more,
        )
        .select_from(_W)
        .outerjoin(_P, sa.and_(_P.c.workspace_id == _W.c.id, project))
        .outerjoin(
            _PEOPLE,
            sa.and_(
                _PEOPLE.c.workspace_id == _W.c.id,
                _PEOPLE.c.external_id == sa.bindparam("person", type_=sa.String),
            ),
        )
        .where(_W.c.platform == sa.bindparam("platform"), _W.c.external_id == sa.bindparam("ws"))
        # A chat without threads (Teams) may hold several projects: the most recently active.
        .order_by(_P.c.updated_at.desc(), _P.c.id.desc())
        .limit(1)
    )


_IN = sa.and_(
    _P.c.channel_id == sa.bindparam("channel", type_=sa.String),
    _P.c.thread_id == sa.bindparam("thread", type_=sa.String),
)
_ID = _P.c.id == sa.bindparam("project_id", type_=sa.Integer)
# By (how the project is found, the dialect its answers are read in, or None).
_READS = {
    (found, answers): _read(where, answers)
    for found, where in (("thread", _IN), ("id", _ID))
    for answers in (None, "postgresql", "sqlite")
}
_NO_PROJECT = _read(sa.false())


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
    with_answers: bool = False,
) -> Opened:
    """Read a workspace (creating it on first sight) with its project and the speaker.

    The project is the one whose conversation lives in this channel and thread (the most
    recently active one, where a chat holds several), or the workspace's project of this id;
    none when neither is given. Every read is scoped by the workspace. `with_answers`: read
    the project's latest answers too (what a turn on it starts from).
    """
    values = {"platform": platform, "ws": workspace, "person": person_id}
    dialect = session.bind.dialect.name if with_answers else None
    if project_id is not None:
        query, values["project_id"] = _READS["id", dialect], project_id
    elif channel_id is not None and thread_id is not None:
        query = _READS["thread", dialect]
        values["channel"], values["thread"] = channel_id, thread_id
    else:
        query = _NO_PROJECT
    row = (await session.execute(query, values)).first()
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
    if row.id is None:
        return Opened(row.workspace_row, None, known)
    answers = answers_in(row.answer_versions) if with_answers else None
    return Opened(row.workspace_row, Project.of(row), known, answers)
