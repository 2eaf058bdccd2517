"""Read and write projects and their answers, always within one workspace."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.workspaces import Workspace


@dataclass(frozen=True)
class Project:
    """A project being planned as stored: its state, owner and where its conversation lives.

    `turn` counts stored turns: pass it to `save_turn` as `expected_turn`.
    """

    id: int
    workspace_id: int
    name: str
    owner: dict[str, Any]
    stage: str | None
    channel_id: str | None
    thread_id: str | None
    sections: tuple[str, ...]
    current_question_id: str | None
    walking_section: str | None
    turn: int
    intake_done_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: models.Project | sa.Row) -> Project:
        """Copy a project row (an ORM row, or the table's columns selected) into a value."""
        return cls(
            id=row.id,
            workspace_id=row.workspace_id,
            name=row.name,
            owner=row.owner,
            stage=row.stage,
            channel_id=row.channel_id,
            thread_id=row.thread_id,
            sections=tuple(row.sections),
            current_question_id=row.current_question_id,
            walking_section=row.walking_section,
            turn=row.turn,
            intake_done_at=row.intake_done_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class Answer:
    """One version of the answer to one question."""

    project_id: int
    question_id: str
    version: int
    value: Any
    raw: str
    skipped: bool
    author: dict[str, Any]
    source_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: models.Answer) -> Answer:
        """Copy an answer row into a value."""
        return cls(
            project_id=row.project_id,
            question_id=row.question_id,
            version=row.version,
            value=row.value,
            raw=row.raw,
            skipped=row.skipped,
            author=row.author,
            source_id=row.source_id,
            created_at=row.created_at,
        )


# The tables, for statements that need none of the ORM's bookkeeping.
_ANSWERS = models.Answer.__table__
_PROJECTS = models.Project.__table__


def name_key(name: str) -> str:
    """Normalise a project name for uniqueness: case and runs of spaces do not count."""
    return " ".join(name.split()).casefold()


def _one(row: models.Project | None) -> Project | None:
    return Project.of(row) if row is not None else None


def _select_project() -> sa.Select:
    # Read the row as it is now, not as this session first loaded it: `save_turn`,
    # `set_stage` and `set_thread` change projects with UPDATE statements.
    return sa.select(models.Project).execution_options(populate_existing=True)


async def create_project(
    *,
    session: AsyncSession,
    workspace_id: int,
    name: str,
    owner: dict[str, Any],
    sections: list[str],
    current: str | None,
    now: datetime,
    channel_id: str | None = None,
    thread_id: str | None = None,
) -> Project | None:
    """Create a project; return None when the workspace already has one of that name."""
    project = models.Project(
        workspace_id=workspace_id,
        name=" ".join(name.split()),
        name_key=name_key(name),
        owner=owner,
        sections=sections,
        current_question_id=current,
        channel_id=channel_id,
        thread_id=thread_id,
        turn=0,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(project)
    except IntegrityError:
        return None
    return Project.of(project)


async def find_project(*, session: AsyncSession, workspace_id: int, name: str) -> Project | None:
    """Find a project of this workspace by name (case and spacing ignored)."""
    return _one(
        await session.scalar(
            _select_project().where(
                models.Project.workspace_id == workspace_id,
                models.Project.name_key == name_key(name),
            )
        )
    )


async def get_project(
    *, session: AsyncSession, workspace_id: int, project_id: int
) -> Project | None:
    """Return a project of this workspace by id, or None (never one of another workspace)."""
    return _one(
        await session.scalar(
            _select_project().where(
                models.Project.workspace_id == workspace_id, models.Project.id == project_id
            )
        )
    )


async def similar_names(*, session: AsyncSession, workspace_id: int, name: str) -> list[str]:
    """Suggest up to three project names of this workspace close to a mistyped one."""
    names = await session.scalars(
        sa.select(models.Project.name).where(models.Project.workspace_id == workspace_id)
    )
    by_key = {name_key(n): n for n in names}
    keys = difflib.get_close_matches(name_key(name), list(by_key), n=3, cutoff=0.5)
    keys += [k for k in by_key if name_key(name) in k and k not in keys]
    return [by_key[k] for k in keys[:3]]


async def project_in_thread(
    *, session: AsyncSession, workspace_id: int, channel_id: str, thread_id: str
) -> Project | None:
    """Return the project whose conversation lives in this thread, if any.

    A chat without threads (Teams) may hold several projects: the most recently active one
    is the one a reply goes to.
    """
    return _one(
        await session.scalar(
            _select_project()
            .where(
                models.Project.workspace_id == workspace_id,
                models.Project.channel_id == channel_id,
                models.Project.thread_id == thread_id,
            )
            .order_by(models.Project.updated_at.desc(), models.Project.id.desc())
            .limit(1)
        )
    )


async def list_projects(*, session: AsyncSession, workspace_id: int) -> list[Project]:
    """List the workspace's projects, most recently active first."""
    result = await session.scalars(
        _select_project()
        .where(models.Project.workspace_id == workspace_id)
        .order_by(models.Project.updated_at.desc(), models.Project.id)
    )
    return [Project.of(row) for row in result]


# What an answer left for later is stored as: skipped, with this as what was typed.
LATER = "later"


class Answers(dict[str, Any]):
    """The latest value of each answered or skipped question, and which were left for later."""

    later: frozenset[str] = frozenset()


async def latest_answers(*, session: AsyncSession, project_id: int) -> Answers:
    """Map each answered or skipped question to the value of its latest version.

    `.later` holds the questions whose latest version was left for later (an open question).
    """
    return answers_of(await session.execute(_LATEST_ANSWERS, {"b_project": project_id}))


def answers_of(versions: Iterable[Sequence[Any]]) -> Answers:
    """Read (question id, value, skipped, raw) versions, each question's oldest first, as Answers."""
    answers, later = Answers(), set()
    for question_id, value, skipped, raw in versions:
        answers[question_id] = None if skipped else value
        if skipped and raw == LATER:
            later.add(question_id)
        else:
            later.discard(question_id)
    answers.later = frozenset(later)
    return answers


def versions_json(dialect: str, project_id: sa.ColumnElement[int]) -> sa.ColumnElement[Any]:
    """Every version of a project's answers as one JSON array, to read with the project at once.

    Each version is [question, version, value, skipped, raw], in no order (`answers_in` sorts).
    """
    a = _ANSWERS.alias("versions")
    if dialect == "postgresql":
        build, aggregate, value = sa.func.json_build_array, sa.func.json_agg, a.c.value
    else:
        build, aggregate, value = (
            sa.func.json_array,
            sa.func.json_group_array,
            sa.func.json(a.c.value),
        )
    one = build(a.c.question_id, a.c.version, value, a.c.skipped, a.c.raw)
    return (
        sa.select(sa.type_coerce(aggregate(one), sa.JSON))
        .where(a.c.project_id == project_id)
        .scalar_subquery()
    )


def answers_in(versions: list[list[Any]] | None) -> Answers:
    """Read the array `versions_json` built as Answers."""
    ordered = sorted(versions or (), key=lambda v: (v[0], v[1]))
    return answers_of(
        (question_id, value, bool(skipped), raw) for question_id, _, value, skipped, raw in ordered
    )


# Built once (building a statement costs more than running it); values are bound.
_LATEST_ANSWERS = (
    sa.select(_ANSWERS.c.question_id, _ANSWERS.c.value, _ANSWERS.c.skipped, _ANSWERS.c.raw)
    .where(_ANSWERS.c.project_id == sa.bindparam("b_project"))
    .order_by(_ANSWERS.c.question_id, _ANSWERS.c.version)
)


async def answer_history(
    *, session: AsyncSession, project_id: int, question_id: str | None = None
) -> list[Answer]:
    """Return every version of the project's answers (or of one question's), oldest first."""
    query = sa.select(models.Answer).where(models.Answer.project_id == project_id)
    if question_id is not None:
        query = query.where(models.Answer.question_id == question_id)
    rows = await session.scalars(query.order_by(models.Answer.question_id, models.Answer.version))
    return [Answer.of(row) for row in rows]


async def latest_answer(
    *, session: AsyncSession, project_id: int, question_id: str
) -> Answer | None:
    """Return the newest version of one answer."""
    row = await session.scalar(
        sa.select(models.Answer)
        .where(models.Answer.project_id == project_id, models.Answer.question_id == question_id)
        .order_by(models.Answer.version.desc())
        .limit(1)
    )
    return Answer.of(row) if row is not None else None


async def save_turn(
    *,
    session: AsyncSession,
    project: Project,
    expected_turn: int,
    current: str | None,
    sections: list[str] | None = None,
    walking: str | None = None,
    recorded: Iterable[tuple[str, Any, str, bool]] = (),
    author: dict[str, Any],
    now: datetime,
    done: bool = False,
    source_id: str | None = None,
) -> bool:
    """Store a turn if nobody stored another since `expected_turn`; tell whether it was stored.

    `recorded` holds (question_id, value, raw text, skipped) for each new answer version;
    `source_id` is the platform's id of the message that gave them; `walking` the section
    being walked again, if any.
    """
    values: dict[str, Any] = {
        "current_question_id": current,
        "walking_section": walking,
        "turn": expected_turn + 1,
        "updated_at": now,
    }
    if sections is not None:
        values["sections"] = sections
    if done and project.intake_done_at is None:
        values["intake_done_at"] = now
    claimed = await session.execute(
        _CLAIM_TURN, {"b_project": project.id, "b_turn": expected_turn, **values}
    )
    if claimed.rowcount != 1:
        return False
    rows = [
        {
            "project_id": project.id,
            "question_id": question_id,
            "b_project": project.id,
            "b_question": question_id,
            "value": value,
            "raw": raw,
            "skipped": skipped,
            "author": author,
            "source_id": source_id,
            "created_at": now,
        }
        for question_id, value, raw, skipped in recorded
    ]
    if rows:  # each version counted in its INSERT (the turn's claim keeps other turns out)
        await session.execute(_INSERT_ANSWER, rows[0] if len(rows) == 1 else rows)
    return True


# The turn's compare-and-set: what it sets is the parameters' columns.
_CLAIM_TURN = sa.update(_PROJECTS).where(
    _PROJECTS.c.id == sa.bindparam("b_project"), _PROJECTS.c.turn == sa.bindparam("b_turn")
)
# One statement for every new version, compiled once: the version is the question's next.
_INSERT_ANSWER = sa.insert(_ANSWERS).values(
    version=sa.select(sa.func.coalesce(sa.func.max(_ANSWERS.c.version), 0) + 1)
    .where(
        _ANSWERS.c.project_id == sa.bindparam("b_project"),
        _ANSWERS.c.question_id == sa.bindparam("b_question"),
    )
    .scalar_subquery()
)


async def set_stage(*, session: AsyncSession, project_id: int, stage: str | None) -> None:
    """Record the project's stage, as its latest answer to the stage question says."""
    await session.execute(
        sa.update(models.Project)
        .where(models.Project.id == project_id)
        .values(stage=stage)
        .execution_options(synchronize_session=False)
    )


async def set_thread(
    *, session: AsyncSession, project_id: int, channel_id: str, thread_id: str
) -> None:
    """Record where the project's conversation lives once its parent message exists."""
    await session.execute(
        sa.update(models.Project)
        .where(models.Project.id == project_id)
        .values(channel_id=channel_id, thread_id=thread_id)
        .execution_options(synchronize_session=False)
    )


async def last_open_project(
    *, session: AsyncSession, workspace_id: int, person_id: str
) -> Project | None:
    """Return the open intake this person most recently owned or answered in, to resume it."""
    answered = sa.exists().where(
        models.Answer.project_id == models.Project.id,
        models.Answer.author["id"].as_string() == person_id,
    )
    return _one(
        await session.scalar(
            _select_project()
            .where(
                models.Project.workspace_id == workspace_id,
                models.Project.current_question_id.is_not(None),
                sa.or_(models.Project.owner["id"].as_string() == person_id, answered),
            )
            .order_by(models.Project.updated_at.desc(), models.Project.id.desc())
            .limit(1)
        )
    )


async def projects_named(*, session: AsyncSession, name: str) -> list[tuple[Project, Workspace]]:
    """Find projects of this name in every workspace: for the operator's command line only."""
    rows = await session.execute(
        sa.select(models.Project, models.Workspace)
        .join(models.Workspace, models.Workspace.id == models.Project.workspace_id)
        .where(models.Project.name_key == name_key(name))
        .order_by(models.Workspace.platform, models.Workspace.external_id)
    )
    return [(Project.of(project), Workspace.of(workspace)) for project, workspace in rows]


async def answer_from_source(
    *, session: AsyncSession, project_id: int, source_id: str
) -> Answer | None:
    """Return the latest answer given by one platform message, to version it when edited."""
    row = await session.scalar(
        sa.select(models.Answer)
        .where(models.Answer.project_id == project_id, models.Answer.source_id == source_id)
        .order_by(models.Answer.id.desc())
        .limit(1)
    )
    return Answer.of(row) if row is not None else None
