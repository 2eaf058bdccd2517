"""Assemble projects' whole plans as documents: one for `mlplan export`, every one for `export --all`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows import export
from flows.model import Flow
from storage import backup
from storage import projects as store
from storage.assignments import Assignment
from storage.open_questions import OpenQuestion
from storage.projects import Answer, Project
from storage.tracked import Item
from storage.workspaces import Workspace

# Projects read at once by `export --all`: memory holds one batch, whatever the workspace's size.
BATCH = 300

# What digests keep of a project they have only shown.
NOTHING_KEPT = {"tags": [], "snoozed_until": None, "snoozed_by": None, "link": None}


def _moment(value) -> str | None:
    return value.isoformat() if value is not None else None


def _moments(row: Mapping[str, Any]) -> dict[str, Any]:
    """Copy a row with its dates and times written as ISO 8601."""
    return {k: _moment(v) if isinstance(v, date) else v for k, v in row.items()}


def _item(row: Item) -> dict[str, Any]:
    return {
        "key": row.key,
        "title": row.title,
        "owner": row.owner,
        "due": _moment(row.due),
        "status": row.status,
        **({"link": row.link} if row.kind == "doc" else {}),
        "done_at": _moment(row.done_at),
        "done_by": row.done_by,
        "snoozed_until": _moment(row.snoozed_until),
        "created_at": _moment(row.created_at),
        "updated_at": _moment(row.updated_at),
    }


def _open_question(row: OpenQuestion) -> dict[str, Any]:
    """Write an open question with when it is next due a look and when it was reminded."""
    return {
        "question": row.question_id,
        "owner": row.owner,
        "revisit_on": row.revisit_on.isoformat(),
        "remind_at": _moment(row.remind_at),
        "reminded_at": _moment(row.reminded_at),
        "created_at": _moment(row.created_at),
    }


def _assignment(row: Assignment) -> dict[str, Any]:
    """Write a section owed with its reminders: when next due, how many went, the last one."""
    return {
        "section": row.section_id,
        "assignee": row.assignee,
        "assigned_by": row.assigned_by,
        "current_question": row.current_question_id,
        "assigned_at": _moment(row.assigned_at),
        "created_at": _moment(row.created_at),
        "updated_at": _moment(row.updated_at),
        "remind_at": _moment(row.remind_at),
        "reminded": row.reminded,
        "reminded_at": _moment(row.reminded_at),
    }


def assemble(
    flow: Flow,
    *,
    project: Project,
    workspace: Workspace,
    answers: tuple[Answer, ...],
    items: Mapping[str, tuple[Item, ...]],
    open_questions: tuple[OpenQuestion, ...] = (),
    assignments: tuple[Assignment, ...] = (),
    digest: Mapping[str, Any] | None = None,
    shown: Mapping[str, Any] | None = None,
    reference: Mapping[str, Any] | None = None,
    kept: Mapping[str, list[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Build one project's document from its stored rows: the plan and what a restore needs.

    `digest` is what digests keep of the project (tags, snooze, link) and `shown` what the
    last digests showed of it, by snapshot; `reference` the Teams reference of its
    conversation; `kept` what its workspace keeps beside projects (digest subscribers, people,
    Teams references), given for the workspace's first project only and written only when it
    holds something.
    """
    latest: dict[str, Any] = {}
    history: dict[str, list[dict[str, Any]]] = {}
    for row in answers:  # ordered by question and version: the last one is the latest
        latest[row.question_id] = None if row.skipped else row.value
        history.setdefault(row.question_id, []).append(
            {
                "version": row.version,
                "value": None if row.skipped else row.value,
                "skipped": row.skipped,
                "raw": row.raw,
                "author": row.author,
                "at": row.created_at.isoformat(),
                "source": row.source_id,
            }
        )
    header = {
        "id": project.id,
        "name": project.name,
        "workspace": f"{workspace.platform}:{workspace.external_id}",
        "owner": project.owner,
        "stage": project.stage,
        "created_at": project.created_at.isoformat(),
        "updated_at": project.updated_at.isoformat(),
        "intake_done_at": _moment(project.intake_done_at),
        # Where the conversation lives and where it stands, so that a restore can go on with it.
        "conversation": {
            "channel": project.channel_id,
            "thread": project.thread_id,
            **({"teams": _moments(reference)} if reference else {}),
        },
        "sections": list(project.sections),
        "current_question": project.current_question_id,
        "walking_section": project.walking_section,
    }
    document = export.plan_document(
        flow,
        project=header,
        answers=latest,
        history=history,
        milestones=[_item(r) for r in items.get("milestone", ())],
        docs=[_item(r) for r in items.get("doc", ())],
        open_questions=[_open_question(r) for r in open_questions],
        assignments=[_assignment(r) for r in assignments],
    )
    document["digest"] = (
        _moments(digest or NOTHING_KEPT) | {"shown": dict(shown or {})} if digest or shown else None
    )
    if kept is not None and any(kept.values()):
        document["workspace"] = {part: [_moments(r) for r in rows] for part, rows in kept.items()}
    return document


def parse_workspace(text: str) -> tuple[str, str]:
    """Split `platform:id` (e.g. `slack:T024BE7LD`); raise LookupError saying what is expected."""
    platform, sep, external_id = text.partition(":")
    if not sep or not platform or not external_id:
        raise LookupError(f"--workspace takes platform:id, such as slack:T024BE7LD, not {text!r}")
    return platform, external_id


class Documents:
    """Read a project's answers, their versions and its tracked items, across workspaces."""

    def __init__(self, *, sessions: async_sessionmaker, flow: Flow):
        self.sessions = sessions
        self.flow = flow

    async def document(self, *, name: str, workspace: str | None = None) -> dict[str, Any]:
        """Assemble a project's whole plan for export; `workspace` is `platform:id` when ambiguous.

        Raises LookupError with a message for the operator when the project is unknown or ambiguous.
        """
        async with self.sessions() as session:
            found = await store.projects_named(session=session, name=name)
            if workspace is not None:
                found = [(p, w) for p, w in found if f"{w.platform}:{w.external_id}" == workspace]
            if not found:
                where = f" in workspace {workspace}" if workspace else ""
                raise LookupError(f"no project called {name!r}{where}")
            if len(found) > 1:
                places = ", ".join(f"{w.platform}:{w.external_id}" for _, w in found)
                raise LookupError(
                    f"{len(found)} projects are called {name!r} ({places}): pass --workspace"
                )
            batch = await backup.project_batch(session=session, project_ids=[found[0][0].id])
            [document] = await self._documents(session, batch, {})
        return document

    async def workspace(self, text: str) -> Workspace:
        """Find the workspace `platform:id`; raise LookupError naming the known ones if absent."""
        platform, external_id = parse_workspace(text)
        async with self.sessions() as session:
            found = await backup.workspace_named(
                session=session, platform=platform, external_id=external_id
            )
            if found is None:
                known = ", ".join(await backup.workspace_names(session=session)) or "none yet"
                raise LookupError(f"no workspace {text} (known: {known})")
        return found

    async def count(self, *, workspace: Workspace | None = None) -> int:
        """Count the projects that `every` would give."""
        async with self.sessions() as session:
            return await backup.count_projects(
                session=session, workspace_id=workspace.id if workspace else None
            )

    async def every(
        self, *, workspace: Workspace | None = None, batch: int = BATCH
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the document of every project (of one workspace), in id order, batch by batch."""
        after = 0
        seen: dict[int, dict[str, Any]] = {}  # workspace id: what its last digests showed
        async with self.sessions() as session:
            while True:
                read = await backup.project_batch(
                    session=session,
                    after=after,
                    limit=batch,
                    workspace_id=workspace.id if workspace else None,
                )
                if not read.projects:
                    return
                for document in await self._documents(session, read, seen):
                    yield document
                after = read.projects[-1][0].id

    async def _documents(
        self, session: AsyncSession, batch: backup.Batch, seen: dict[int, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Assemble a batch's documents.

        A workspace not `seen` yet gains there what its last digests showed; the document of
        its first project carries what it keeps beside projects.
        """
        fresh = {ws.id for _, ws in batch.projects} - set(seen)
        for workspace_id in fresh:
            seen[workspace_id] = await backup.shown(session=session, workspace_id=workspace_id)
        firsts = await backup.first_projects(session=session, workspace_ids=fresh) if fresh else ()
        documents = []
        for project, workspace in batch.projects:
            kept = None
            if project.id in firsts:
                kept = await backup.workspace_state(session=session, workspace_id=workspace.id)
            key = str(project.id)
            shown = {label: s[key] for label, s in seen[workspace.id].items() if key in s}
            documents.append(
                assemble(
                    self.flow,
                    project=project,
                    workspace=workspace,
                    answers=batch.answers.get(project.id, ()),
                    items=batch.items.get(project.id, {}),
                    open_questions=batch.open_questions.get(project.id, ()),
                    assignments=batch.assignments.get(project.id, ()),
                    digest=batch.digest.get(project.id),
                    shown=shown,
                    reference=batch.references.get(project.id),
                    kept=kept,
                )
            )
        return documents
