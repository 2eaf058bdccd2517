"""Write import files as `mlplan export --all` writes them, for the backup tests and the benches."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from bot.backup import Restored, restore
from bot.documents import assemble
from flows.model import Flow
from storage.assignments import Assignment
from storage.open_questions import OpenQuestion
from storage.projects import Answer, Project
from storage.tracked import Item
from storage.workspaces import Workspace
from tests.transcript import plan_inputs


@dataclass(frozen=True)
class Planned:
    """An item of a generated project: a milestone ("milestone") or a documentation item ("doc")."""

    kind: str
    title: str
    due: date | None
    owner: dict[str, Any] | None = None
    status: str = "open"
    link: str | None = None
    snoozed_until: date | None = None
    key: str | None = None


@cache
def _answers(flow: Flow, day: date) -> tuple[tuple[str, Any], ...]:
    state = plan_inputs(flow, now=datetime(day.year, day.month, day.day, 9, tzinfo=UTC))[1]
    return tuple(state.answers.items())


def project_line(
    flow: Flow,
    *,
    number: int,
    workspace: str,
    now: datetime,
    owner: dict[str, Any],
    items: Iterable[Planned] = (),
    name: str | None = None,
    open_questions: Iterable[OpenQuestion] = (),
    assignments: Iterable[Assignment] = (),
    channel: str = "C1",
) -> str:
    """Return one JSON line: a whole answered plan (a few answers in two versions) with items,
    and what is owed it (questions left for later, sections assigned) as given."""
    made = now - timedelta(days=30)
    versions = []
    for index, (question_id, value) in enumerate(_answers(flow, now.date())):
        given = [value] if index % 10 else [f"first draft {number}", value]
        for version, v in enumerate(given, 1):
            versions.append(
                Answer(
                    project_id=number,
                    question_id=question_id,
                    version=version,
                    value=v,
                    raw="skip" if v is None else str(v),
                    skipped=v is None,
                    author=owner,
                    source_id=f"{1700000000 + number}.{index:06d}",
                    created_at=made + timedelta(minutes=index, seconds=version),
                )
            )
    versions.sort(key=lambda a: (a.question_id, a.version))
    project = Project(
        id=number,
        workspace_id=0,
        name=name or f"Project {number:05d}",
        owner=owner,
        stage="MVP",
        channel_id=channel,
        thread_id=f"{1700000000 + number}.000100",
        sections=tuple(s.id for s in flow.sections),
        current_question_id=None,
        walking_section=None,
        turn=0,
        intake_done_at=made + timedelta(hours=2),
        created_at=made,
        updated_at=made + timedelta(hours=2),
    )
    return document_line(
        flow,
        project=project,
        workspace=workspace,
        answers=versions,
        items=items,
        open_questions=open_questions,
        assignments=assignments,
    )


def document_line(
    flow: Flow,
    *,
    project: Project,
    workspace: str,
    answers: Iterable[Answer],
    items: Iterable[Planned] = (),
    open_questions: Iterable[OpenQuestion] = (),
    assignments: Iterable[Assignment] = (),
) -> str:
    """Return one project's JSON line as `export --all` writes it, from the rows given.

    `answers` are ordered by question and version; the items were made with the project and
    the done ones done by its owner.
    """
    platform, _, external_id = workspace.partition(":")
    rows = {"milestone": [], "doc": []}
    for index, item in enumerate(items):
        rows[item.kind].append(
            Item(
                kind=item.kind,
                id=index,
                project_id=project.id,
                key=item.key,
                title=item.title,
                owner=item.owner,
                due=item.due,
                status=item.status,
                done_at=project.created_at if item.status == "done" else None,
                done_by=project.owner if item.status == "done" else None,
                snoozed_until=item.snoozed_until,
                link=item.link,
                created_at=project.created_at,
                updated_at=project.created_at,
            )
        )
    document = assemble(
        flow,
        project=project,
        workspace=Workspace(0, platform, external_id),
        answers=tuple(answers),
        items={k: tuple(v) for k, v in rows.items()},
        open_questions=tuple(open_questions),
        assignments=tuple(assignments),
    )
    return json.dumps(document, ensure_ascii=False)


async def restore_here(sessions, flow: Flow, path: Path, now: datetime) -> Restored:
    """What `mlplan import PATH --now NOW` runs, in this process (a subprocess costs a second)."""
    return await restore(
        sessions=sessions,
        flow=flow,
        path=path,
        workspace=None,
        replace=False,
        now=now,
        today=now.date(),
    )
