"""Back up and restore: `mlplan export --all` writes every project a line, `mlplan import` reads them back."""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.backup_document import PLATFORMS, Document, Malformed, Tracked, read_documents
from bot.documents import Documents, parse_workspace
from flows.model import Flow
from storage import backup
from storage import workspaces as workspace_store
from storage.projects import name_key

# Projects written in one round of bulk inserts.
BATCH = 500


class Progress:
    """A self-drawn progress line on a terminal's standard error; nothing at all elsewhere."""

    WIDTH = 30

    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.on = self.stream.isatty()
        self.label, self.total, self.count = label, total, 0
        self._drawn = 0.0

    def advance(self, by: int = 1) -> None:
        """Count `by` more done; redraw at most ten times a second."""
        self.count += by
        if self.on and time.monotonic() - self._drawn >= 0.1:
            self._draw()

    def _draw(self) -> None:
        self._drawn = time.monotonic()
        if self.total:
            filled = round(self.WIDTH * min(self.count, self.total) / self.total)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            line = f"{self.label} [{bar}] {self.count:,}/{self.total:,} projects"
        else:
            line = f"{self.label} {self.count:,} projects"
        self.stream.write(f"\r{line}")
        self.stream.flush()

    def done(self) -> None:
        """Draw the final count and end the line."""
        if self.on:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


async def export_all(
    documents: Documents, out: TextIO, *, workspace: str | None, progress: TextIO | None = None
) -> int:
    """Write every project's document (of one workspace), one JSON line each; return how many.

    Raises LookupError when the workspace is unknown.
    """
    found = await documents.workspace(workspace) if workspace else None
    bar = Progress("export", await documents.count(workspace=found), stream=progress)
    written = 0
    async for document in documents.every(workspace=found):
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        written += 1
        bar.advance()
    bar.done()
    return written


class Refused(Exception):
    """Projects of the file whose names the target workspace already has (and no --replace)."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class Restored:
    """What an import did."""

    projects: int
    answers: int
    items: int
    replaced: int
    told: int
    workspaces: tuple[str, ...]
    owed: int = 0  # open questions and sections owed, with their reminders where they stood
    subscribers: int = 0  # digest subscriptions, each with when its digest last went out


def _project_row(document: Document, workspace_id: int, flow: Flow) -> dict[str, Any]:
    p = document.project
    return {
        "workspace_id": workspace_id,
        "name": p.name,
        "owner": p.owner.model_dump(),
        "stage": p.stage,
        "channel_id": p.conversation.channel,
        "thread_id": p.conversation.thread,
        "sections": p.sections if p.sections is not None else [s.id for s in flow.sections],
        "current_question_id": p.current_question,
        "walking_section": p.walking_section,
        "turn": 0,
        "intake_done_at": p.intake_done_at,
        "created_at": p.created_at,
        "updated_at": p.updated_at or p.created_at,
    }


def _answer_rows(document: Document, project_id: int) -> list[dict[str, Any]]:
    return [
        {
            "project_id": project_id,
            "question_id": question.id,
            "version": v.version,
            "value": None if v.skipped else v.value,
            "raw": v.raw,
            "skipped": v.skipped,
            "author": v.author,
            "source_id": v.source,
            "created_at": v.at,
        }
        for question in document.questions()
        for v in question.history
    ]


def _item_rows(items: list[Tracked], project_id: int, now: datetime, *, link: bool):
    rows = []
    for item in items:
        created = item.created_at or now
        row = item.model_dump(exclude={"link"}) | {
            "project_id": project_id,
            "created_at": created,
            "updated_at": item.updated_at or created,
        }
        if link:
            row["link"] = item.link
        rows.append(row)
    return rows


def _owed_rows(
    document: Document, project_id: int, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Write a document's open questions and sections owed as rows, their reminders carried.

    What was sent stays sent (`reminded_at`, `reminded`) and each is next looked at when the
    file says; one the file gives no time for is looked at by the next tick.
    """
    questions = [
        {
            "project_id": project_id,
            "question_id": q.question,
            "owner": q.owner.model_dump(),
            "owner_id": q.owner.id,
            "revisit_on": q.revisit_on,
            "remind_at": q.remind_at or (now if q.reminded_at is None else None),
            "reminded_at": q.reminded_at,
            "created_at": q.created_at or now,
            "updated_at": now,
        }
        for q in document.open_questions
    ]
    sections = [
        {
            "project_id": project_id,
            "section_id": a.section,
            "assignee_id": a.assignee.id,
            "assignee": a.assignee.model_dump(),
            "assigned_by": a.assigned_by,
            "current_question_id": a.current_question,
            "assigned_at": a.assigned_at,
            "created_at": a.created_at or a.assigned_at,
            "updated_at": a.updated_at or a.assigned_at,
            "remind_at": a.remind_at or now,
            "reminded": a.reminded,
            "reminded_at": a.reminded_at,
        }
        for a in document.assignments
    ]
    return questions, sections


async def restore(
    *,
    sessions: async_sessionmaker,
    flow: Flow,
    path: Path,
    workspace: str | None,
    replace: bool,
    now: datetime,
    today: date,
    progress: TextIO | None = None,
) -> Restored:
    """Import every project of a file in one transaction: all of them, or (on an error) none.

    Each lands in its document's workspace, or in `workspace` (`platform:id`) when given.
    Raises Malformed for a line that cannot be imported, Refused for names already taken
    (unless `replace`), LookupError for a malformed `workspace`.
    """
    if workspace is not None:
        _check_platform(workspace)
    # First every line is checked, keeping only names: the file may be larger than memory.
    seen = _check(path, flow, workspace, Progress("check ", stream=progress))
    by_workspace: dict[str, list[tuple[int, str]]] = {}
    for (where, _), found in seen.items():
        by_workspace.setdefault(where, []).append(found)
    async with sessions() as session:
        ids, replaced, refusals = await _make_room(session, by_workspace, replace=replace, now=now)
        if refusals:
            await session.rollback()
            raise Refused(refusals)
        importing = Progress("import", len(seen), stream=progress)
        counts, shown = _Counts(), _Shown()
        for batch in _batches(read_documents(path, flow), BATCH):
            where = [ids[workspace or d.project.workspace] for d in batch]
            counts += await _write(
                session, batch, where, flow=flow, now=now, today=today, shown=shown
            )
            importing.advance(len(batch))
        await shown.keep(session, now)
        await session.commit()
        importing.done()
    return Restored(
        len(seen),
        counts.answers,
        counts.items,
        replaced,
        counts.told,
        tuple(by_workspace),
        counts.owed,
        counts.subscribers,
    )


def _check_platform(workspace: str) -> None:
    """Refuse a `--workspace` of a platform mlplan does not know (LookupError)."""
    platform, _ = parse_workspace(workspace)
    if platform not in PLATFORMS:
        raise LookupError(f"--workspace: no platform {platform!r} (one of {', '.join(PLATFORMS)})")


def _check(
    path: Path, flow: Flow, workspace: str | None, checking: Progress
) -> dict[tuple[str, str], tuple[int, str]]:
    """Check every line, keeping where each project goes and its name: (line number, name).

    Raises Malformed for a line that cannot be imported or a name twice in one workspace.
    """
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    for number, document in read_documents(path, flow):
        where = workspace or document.project.workspace
        key = (where, name_key(document.project.name))
        if key in seen:
            raise Malformed(
                number,
                f"the project {document.project.name!r} of {where} is also on line {seen[key][0]}",
            )
        seen[key] = (number, document.project.name)
        checking.advance()
    checking.done()
    return seen


async def _make_room(
    session: AsyncSession,
    by_workspace: dict[str, list[tuple[int, str]]],
    *,
    replace: bool,
    now: datetime,
) -> tuple[dict[str, int], int, list[str]]:
    """Find or make each workspace of the file; remove the projects whose names it has already.

    Without `replace` nothing is removed: returns the workspaces' ids, how many projects were
    removed, and a refusal for each line whose name is taken.
    """
    ids: dict[str, int] = {}
    replaced = 0
    refusals: list[str] = []
    for where, named in by_workspace.items():
        platform, external_id = parse_workspace(where)
        ws = await workspace_store.get_or_create(
            session=session, platform=platform, external_id=external_id, now=now
        )
        ids[where] = ws.id
        taken = await backup.taken_names(
            session=session, workspace_id=ws.id, names=[n for _, n in named]
        )
        if taken and replace:
            replaced += await backup.remove_projects(
                session=session, workspace_id=ws.id, names=list(taken.values())
            )
        refusals += [
            f"line {number}: a project called {taken[name_key(name)]!r} already exists in"
            f" {where}; pass --replace to replace it (nothing was imported)"
            for number, name in sorted(named)
            if name_key(name) in taken and not replace
        ]
    return ids, replaced, refusals


@dataclass(frozen=True)
class _Counts:
    """What the batches of an import wrote so far."""

    answers: int = 0
    items: int = 0
    told: int = 0
    owed: int = 0
    subscribers: int = 0

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(_Counts)))


@dataclass
class _Shown:
    """What a file's last digests showed, gathered by target workspace: per snapshot label the
    facts by new project id, and the subscribers (kind, id) whose last digest it was."""

    facts: defaultdict[int, defaultdict[str, dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )
    subscribers: defaultdict[int, defaultdict[str, list[tuple[str, str]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def gather(self, document: Document, workspace_id: int, project_id: int) -> None:
        """Note what a document's project and workspace say the last digests showed."""
        if document.digest is not None:
            for label, facts in document.digest.shown.items():
                self.facts[workspace_id][label][str(project_id)] = facts
        for subscriber in document.workspace.digests if document.workspace else ():
            if subscriber.last_shown is not None:
                self.subscribers[workspace_id][subscriber.last_shown].append(
                    (subscriber.target_kind, subscriber.target_id)
                )

    async def keep(self, session: AsyncSession, now: datetime) -> None:
        """Write each workspace's snapshots and point its subscribers at theirs."""
        for workspace_id, facts in self.facts.items():
            await backup.restore_shown(
                session=session,
                workspace_id=workspace_id,
                shown=facts,
                subscribers=self.subscribers[workspace_id],
                now=now,
            )


def _kept_rows(
    document: Document, workspace_id: int, project_id: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Write what digests keep of a document's project and its Teams reference as rows."""
    ours = {"workspace_id": workspace_id}
    digest = (
        [ours | {"project_id": project_id} | document.digest.model_dump(exclude={"shown"})]
        if document.digest is not None
        else []
    )
    teams = document.project.conversation.teams
    key = f"{backup.PROJECT_REFERENCE}{project_id}"
    return digest, [ours | {"key": key} | teams.model_dump()] if teams is not None else []


def _batches(documents: Iterable[tuple[int, Document]], size: int) -> Iterator[list[Document]]:
    """Group the documents of numbered lines in lists of `size` (the last one may be shorter)."""
    batch: list[Document] = []
    for _, document in documents:
        batch.append(document)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _write(
    session: AsyncSession,
    batch: list[Document],
    workspace_ids: list[int],
    *,
    flow: Flow,
    now: datetime,
    today: date,
    shown: _Shown,
) -> _Counts:
    """Insert a batch of projects (each in its workspace) with everything they hold; gather in
    `shown` what the last digests showed of them, kept once every project has its new id."""
    rows = [_project_row(d, ws, flow) for d, ws in zip(batch, workspace_ids, strict=True)]
    project_ids = await backup.insert_projects(session=session, rows=rows)
    answer_rows, milestones, docs, questions, sections = [], [], [], [], []
    digest, references, subscribers = [], [], 0
    for document, ws, project_id in zip(batch, workspace_ids, project_ids, strict=True):
        answer_rows += _answer_rows(document, project_id)
        milestones += _item_rows(document.milestones, project_id, now, link=False)
        docs += _item_rows(document.documentation, project_id, now, link=True)
        left, assigned = _owed_rows(document, project_id, now)
        questions, sections = questions + left, sections + assigned
        kept, teams = _kept_rows(document, ws, project_id)
        digest, references = digest + kept, references + teams
        shown.gather(document, ws, project_id)
        if document.workspace is not None:
            await backup.insert_workspace_state(
                session=session, workspace_id=ws, state=document.workspace.model_dump()
            )
            subscribers += len(document.workspace.digests)
    await backup.insert_answers(session=session, rows=answer_rows)
    await backup.insert_items(session=session, kind="milestone", rows=milestones)
    await backup.insert_items(session=session, kind="doc", rows=docs)
    await backup.insert_owed(session=session, questions=questions, sections=sections)
    await backup.insert_kept(session=session, digest=digest, references=references)
    told = await backup.mark_told_until(
        session=session, project_ids=project_ids, moment=now, today=today
    )
    return _Counts(
        answers=len(answer_rows),
        items=len(milestones) + len(docs),
        told=told,
        owed=len(questions) + len(sections),
        subscribers=subscribers,
    )
