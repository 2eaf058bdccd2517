"""Back up and restore: `mlplan export --all` writes every project a line, `mlplan import` reads them back."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.documents import Documents, parse_workspace
from flows.model import Flow
from storage import backup
from storage import workspaces as workspace_store
from storage.projects import name_key

PLATFORMS = ("slack", "msteams", "terminal")
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


# What `import` reads of a document. Derived parts (displays, costs, progress) are ignored.


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Person(_Part):
    model_config = ConfigDict(extra="allow", frozen=True)
    id: str = Field(min_length=1, max_length=128)


class Version(_Part):
    version: int = Field(ge=1)
    value: Any = None
    skipped: bool = False
    raw: str
    author: dict[str, Any]
    at: AwareDatetime
    source: str | None = Field(None, max_length=128)


class Question(_Part):
    id: str = Field(min_length=1, max_length=64)
    history: list[Version] = []

    @field_validator("history")
    @classmethod
    def _versions_once(cls, history: list[Version]) -> list[Version]:
        numbers = [v.version for v in history]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"a version number appears twice: {sorted(numbers)}")
        return sorted(history, key=lambda v: v.version)


class Section(_Part):
    questions: list[Question] = []


class Tracked(_Part):
    key: str | None = Field(None, min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    owner: dict[str, Any] | None = None
    due: date | None = None
    status: Literal["open", "done"] = "open"
    link: str | None = Field(None, max_length=2000)
    done_at: AwareDatetime | None = None
    done_by: dict[str, Any] | None = None
    snoozed_until: date | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class Conversation(_Part):
    channel: str | None = Field(None, max_length=128)
    thread: str | None = Field(None, max_length=128)


class Header(_Part):
    name: str = Field(min_length=1, max_length=200)
    workspace: str = Field(pattern=rf"^({'|'.join(PLATFORMS)}):[^\s]{{1,128}}$")
    owner: Person
    stage: str | None = Field(None, max_length=32)
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    intake_done_at: AwareDatetime | None = None
    conversation: Conversation = Conversation()
    sections: list[str] | None = None
    current_question: str | None = None
    walking_section: str | None = None

    @field_validator("name")
    @classmethod
    def _spaced(cls, name: str) -> str:
        if not name.split():
            raise ValueError("a project name cannot be blank")
        return " ".join(name.split())


def _unique_keys(items: list[Tracked]) -> list[Tracked]:
    keys = [i.key for i in items if i.key is not None]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"the key {twice[0]!r} is on two items")
    return items


class Document(_Part):
    project: Header
    sections: list[Section]
    other_answers: list[Question] = []
    milestones: list[Tracked] = []
    documentation: list[Tracked] = []

    @field_validator("milestones", "documentation")
    @classmethod
    def _keys_once(cls, items: list[Tracked]) -> list[Tracked]:
        return _unique_keys(items)

    def questions(self) -> list[Question]:
        """Every question of the document with versions, listed in the plan or not."""
        return [q for s in self.sections for q in s.questions if q.history] + [
            q for q in self.other_answers if q.history
        ]


class Malformed(Exception):
    """A line of an import file that cannot be imported; nothing of the file is."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}; nothing was imported")
        self.line = line


class Refused(Exception):
    """Projects of the file whose names the target workspace already has (and no --replace)."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def _reason(err: ValidationError) -> str:
    first = err.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return f"not JSON ({first['ctx']['error']})"
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def _check(document: Document, flow: Flow) -> str | None:
    """Say what of a valid document does not fit this flow, or None."""
    sections = {s.id for s in flow.sections}
    questions = {q.id for s in flow.sections for q in s.questions}
    project = document.project
    seen = [q.id for q in document.questions()]
    if len(set(seen)) != len(seen):
        return f"the question {next(q for q in seen if seen.count(q) > 1)!r} is listed twice"
    if project.current_question is not None and project.current_question not in questions:
        return f"project.current_question: mlplan has no question {project.current_question!r}"
    if project.walking_section is not None and project.walking_section not in sections:
        return f"project.walking_section: mlplan has no section {project.walking_section!r}"
    unknown = [s for s in project.sections or () if s not in sections]
    if unknown:
        return f"project.sections: mlplan has no section {unknown[0]!r}"
    return None


def read_documents(path: Path, flow: Flow) -> Iterator[tuple[int, Document]]:
    """Read an `export --all` file (or one pretty-printed `--format json` document), checked.

    Yields (line number, document); raises Malformed at the first line that cannot be imported.
    """
    with path.open("rb") as f:
        first = next((line for line in f if line.strip()), b"")
        f.seek(0)
        if first.strip() == b"{":  # `--format json` prints one document over many lines
            text = f.read()
            try:
                json.loads(text)
            except json.JSONDecodeError as err:
                raise Malformed(err.lineno, f"not JSON ({err.msg} at column {err.colno})") from None
            except UnicodeDecodeError:
                raise Malformed(1, "not UTF-8 text") from None
            lines: Iterator[tuple[int, bytes]] = iter([(1, text)])
        else:
            lines = enumerate(f, 1)
        for number, line in lines:
            if not line.strip():
                continue
            try:
                document = Document.model_validate_json(line)
            except ValidationError as err:
                raise Malformed(number, _reason(err)) from None
            problem = _check(document, flow)
            if problem:
                raise Malformed(number, problem)
            yield number, document


@dataclass(frozen=True)
class Restored:
    """What an import did."""

    projects: int
    answers: int
    items: int
    replaced: int
    told: int
    workspaces: tuple[str, ...]


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
        platform, _ = parse_workspace(workspace)
        if platform not in PLATFORMS:
            raise LookupError(
                f"--workspace: no platform {platform!r} (one of {', '.join(PLATFORMS)})"
            )
    # First every line is checked, keeping only names: the file may be larger than memory.
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    checking = Progress("check ", stream=progress)
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
    by_workspace: dict[str, list[tuple[int, str]]] = {}
    for (where, _), found in seen.items():
        by_workspace.setdefault(where, []).append(found)
    answers = items = replaced = told = 0
    async with sessions() as session:
        ids: dict[str, int] = {}
        refusals = []
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
        if refusals:
            await session.rollback()
            raise Refused(refusals)
        importing = Progress("import", len(seen), stream=progress)
        pending: list[Document] = []

        async def write() -> None:
            nonlocal answers, items, told
            rows = [_project_row(d, ids[workspace or d.project.workspace], flow) for d in pending]
            project_ids = await backup.insert_projects(session=session, rows=rows)
            answer_rows, milestones, docs = [], [], []
            for document, project_id in zip(pending, project_ids, strict=True):
                answer_rows += _answer_rows(document, project_id)
                milestones += _item_rows(document.milestones, project_id, now, link=False)
                docs += _item_rows(document.documentation, project_id, now, link=True)
            await backup.insert_answers(session=session, rows=answer_rows)
            await backup.insert_items(session=session, kind="milestone", rows=milestones)
            await backup.insert_items(session=session, kind="doc", rows=docs)
            told += await backup.mark_told_until(
                session=session, project_ids=project_ids, moment=now, today=today
            )
            answers, items = answers + len(answer_rows), items + len(milestones) + len(docs)
            importing.advance(len(pending))
            pending.clear()

        for _, document in read_documents(path, flow):
            pending.append(document)
            if len(pending) >= BATCH:
                await write()
        if pending:
            await write()
        await session.commit()
        importing.done()
    return Restored(len(seen), answers, items, replaced, told, tuple(by_workspace))
