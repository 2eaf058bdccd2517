"""Read and write projects, answers and tracked items, always within one workspace."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, DocItem, Milestone, Person, Project, Workspace


def name_key(name: str) -> str:
    """Normalise a project name for uniqueness: case and runs of spaces do not count."""
    return " ".join(name.split()).casefold()


async def workspace(
    *, session: AsyncSession, platform: str, external_id: str, now: datetime
) -> Workspace:
    """Return the workspace for a platform's team or tenant id, creating it on first sight."""
    query = sa.select(Workspace).where(
        Workspace.platform == platform, Workspace.external_id == external_id
    )
    found = await session.scalar(query)
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            found = Workspace(platform=platform, external_id=external_id, created_at=now)
            session.add(found)
    except IntegrityError:  # created by a concurrent request in the meantime
        found = await session.scalar(query)
    return found


async def remember_person(
    *,
    session: AsyncSession,
    workspace_id: int,
    person: dict[str, Any],
    now: datetime,
    **fields: Any,
) -> Person:
    """Record or refresh what mlplan knows of a person (name, email, time zone)."""
    query = sa.select(Person).where(
        Person.workspace_id == workspace_id, Person.external_id == person["id"]
    )
    found = await session.scalar(query)
    if found is None:
        try:
            async with session.begin_nested():
                found = Person(workspace_id=workspace_id, external_id=person["id"], updated_at=now)
                session.add(found)
        except IntegrityError:
            found = await session.scalar(query)
    found.name = person.get("name") or found.name
    found.email = person.get("email") or found.email
    for key, value in fields.items():
        if value is not None:
            setattr(found, key, value)
    found.updated_at = now
    return found


async def person_timezone(
    *, session: AsyncSession, workspace_id: int, person_id: str
) -> str | None:
    """Return the time zone mlplan knows for a person, if any."""
    return await session.scalar(
        sa.select(Person.timezone).where(
            Person.workspace_id == workspace_id, Person.external_id == person_id
        )
    )


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
    project = Project(
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
    return project


async def find_project(*, session: AsyncSession, workspace_id: int, name: str) -> Project | None:
    """Find a project of this workspace by name (case and spacing ignored)."""
    return await session.scalar(
        sa.select(Project).where(
            Project.workspace_id == workspace_id, Project.name_key == name_key(name)
        )
    )


async def get_project(
    *, session: AsyncSession, workspace_id: int, project_id: int
) -> Project | None:
    """Return a project of this workspace by id, or None (never one of another workspace)."""
    return await session.scalar(
        sa.select(Project).where(Project.workspace_id == workspace_id, Project.id == project_id)
    )


async def similar_names(*, session: AsyncSession, workspace_id: int, name: str) -> list[str]:
    """Suggest up to three project names of this workspace close to a mistyped one."""
    names = await session.scalars(
        sa.select(Project.name).where(Project.workspace_id == workspace_id)
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
    return await session.scalar(
        sa.select(Project)
        .where(
            Project.workspace_id == workspace_id,
            Project.channel_id == channel_id,
            Project.thread_id == thread_id,
        )
        .order_by(Project.updated_at.desc(), Project.id.desc())
        .limit(1)
    )


async def list_projects(*, session: AsyncSession, workspace_id: int) -> list[Project]:
    """List the workspace's projects, most recently active first."""
    result = await session.scalars(
        sa.select(Project)
        .where(Project.workspace_id == workspace_id)
        .order_by(Project.updated_at.desc(), Project.id)
    )
    return list(result)


async def latest_answers(*, session: AsyncSession, project_id: int) -> dict[str, Any]:
    """Map each answered or skipped question to the value of its latest version."""
    rows = await session.execute(
        sa.select(Answer.question_id, Answer.value, Answer.skipped)
        .where(Answer.project_id == project_id)
        .order_by(Answer.question_id, Answer.version)
    )
    return {question_id: None if skipped else value for question_id, value, skipped in rows}


async def answer_history(
    *, session: AsyncSession, project_id: int, question_id: str | None = None
) -> list[Answer]:
    """Return every version of the project's answers (or of one question's), oldest first."""
    query = sa.select(Answer).where(Answer.project_id == project_id)
    if question_id is not None:
        query = query.where(Answer.question_id == question_id)
    return list(await session.scalars(query.order_by(Answer.question_id, Answer.version)))


async def latest_answer(
    *, session: AsyncSession, project_id: int, question_id: str
) -> Answer | None:
    """Return the newest version of one answer."""
    return await session.scalar(
        sa.select(Answer)
        .where(Answer.project_id == project_id, Answer.question_id == question_id)
        .order_by(Answer.version.desc())
        .limit(1)
    )


async def save_turn(
    *,
    session: AsyncSession,
    project: Project,
    expected_turn: int,
    current: str | None,
    sections: list[str] | None = None,
    recorded: Iterable[tuple[str, Any, str, bool]] = (),
    author: dict[str, Any],
    now: datetime,
    done: bool = False,
    source_id: str | None = None,
) -> bool:
    """Store a turn if nobody stored another since `expected_turn`; tell whether it was stored.

    `recorded` holds (question_id, value, raw text, skipped) for each new answer version;
    `source_id` is the platform's id of the message that gave them.
    """
    values: dict[str, Any] = {
        "current_question_id": current,
        "turn": expected_turn + 1,
        "updated_at": now,
    }
    if sections is not None:
        values["sections"] = sections
    if done and project.intake_done_at is None:
        values["intake_done_at"] = now
    claimed = await session.execute(
        sa.update(Project)
        .where(Project.id == project.id, Project.turn == expected_turn)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    for question_id, value, raw, skipped in recorded:
        version = await session.scalar(
            sa.select(sa.func.coalesce(sa.func.max(Answer.version), 0)).where(
                Answer.project_id == project.id, Answer.question_id == question_id
            )
        )
        session.add(
            Answer(
                project_id=project.id,
                question_id=question_id,
                version=version + 1,
                value=value,
                raw=raw,
                skipped=skipped,
                author=author,
                source_id=source_id,
                created_at=now,
            )
        )
    await session.flush()
    await session.refresh(project)
    return True


async def set_thread(
    *, session: AsyncSession, project: Project, channel_id: str, thread_id: str
) -> None:
    """Record where the project's conversation lives once its parent message exists."""
    project.channel_id = channel_id
    project.thread_id = thread_id


async def sync_tracked(
    *,
    session: AsyncSession,
    project_id: int,
    kind: type[Milestone] | type[DocItem],
    items: list[dict[str, Any]],
    now: datetime,
) -> list[Milestone | DocItem]:
    """Create or update the milestones or documentation items that the answers declare, by key."""
    existing = {
        item.key: item
        for item in await session.scalars(
            sa.select(kind).where(kind.project_id == project_id, kind.key.is_not(None))
        )
    }
    changed = []
    for item in items:
        due = date.fromisoformat(item["due"]) if item["due"] else None
        row = existing.get(item["key"])
        if row is None:
            row = kind(
                project_id=project_id,
                key=item["key"],
                title=item["title"],
                created_at=now,
                updated_at=now,
            )
            session.add(row)
        elif row.owner == item["owner"] and row.due == due:
            continue
        row.owner, row.due, row.updated_at = item["owner"], due, now
        changed.append(row)
    await session.flush()
    return changed


async def tracked_items(
    *, session: AsyncSession, project_id: int, kind: type[Milestone] | type[DocItem]
) -> list:
    """List a project's milestones or documentation items by due date."""
    result = await session.scalars(
        sa.select(kind)
        .where(kind.project_id == project_id)
        .order_by(kind.due.is_(None), kind.due, kind.id)
    )
    return list(result)


async def last_open_project(
    *, session: AsyncSession, workspace_id: int, person_id: str
) -> Project | None:
    """Return the open intake this person most recently owned or answered in, to resume it."""
    answered = sa.exists().where(
        Answer.project_id == Project.id, Answer.author["id"].as_string() == person_id
    )
    return await session.scalar(
        sa.select(Project)
        .where(
            Project.workspace_id == workspace_id,
            Project.current_question_id.is_not(None),
            sa.or_(Project.owner["id"].as_string() == person_id, answered),
        )
        .order_by(Project.updated_at.desc(), Project.id.desc())
        .limit(1)
    )


async def projects_named(*, session: AsyncSession, name: str) -> list[tuple[Project, Workspace]]:
    """Find projects of this name in every workspace: for the operator's command line only."""
    rows = await session.execute(
        sa.select(Project, Workspace)
        .join(Workspace, Workspace.id == Project.workspace_id)
        .where(Project.name_key == name_key(name))
        .order_by(Workspace.platform, Workspace.external_id)
    )
    return [(project, workspace) for project, workspace in rows]


async def answer_from_source(
    *, session: AsyncSession, project_id: int, source_id: str
) -> Answer | None:
    """Return the latest answer given by one platform message, to version it when edited."""
    return await session.scalar(
        sa.select(Answer)
        .where(Answer.project_id == project_id, Answer.source_id == source_id)
        .order_by(Answer.id.desc())
        .limit(1)
    )
