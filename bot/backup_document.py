"""What `mlplan import` reads: an `export --all` line (or one `--format json` document), checked
strictly against the schema below and against the flow, before anything is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.model import Flow

PLATFORMS = ("slack", "msteams", "terminal")

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


class LeftForLater(_Part):
    """An open question: whose, the day to revisit it by, its reminder's due and sent times."""

    question: str = Field(min_length=1, max_length=64)
    owner: Person
    revisit_on: date
    remind_at: AwareDatetime | None = None
    reminded_at: AwareDatetime | None = None
    created_at: AwareDatetime | None = None


class Owed(_Part):
    """A section owed: to whom, where they stand, its reminders' due time, count and last."""

    section: str = Field(min_length=1, max_length=64)
    assignee: Person
    assigned_by: dict[str, Any] = {}
    current_question: str | None = Field(None, min_length=1, max_length=64)
    assigned_at: AwareDatetime
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    remind_at: AwareDatetime | None = None
    reminded: int = Field(0, ge=0)
    reminded_at: AwareDatetime | None = None


class Reference(_Part):
    """A Teams conversation reference: how mlplan reaches a person, a chat or a project again."""

    reference: dict[str, Any]
    broken_at: AwareDatetime | None = None
    broken_reason: str | None = Field(None, max_length=200)
    updated_at: AwareDatetime


class Conversation(_Part):
    channel: str | None = Field(None, max_length=128)
    thread: str | None = Field(None, max_length=128)
    teams: Reference | None = None


class Kept(_Part):
    """What digests keep of a project: its tags, a snooze out of "Needs you", its thread's link."""

    tags: list[str] = []
    snoozed_until: date | None = None
    snoozed_by: dict[str, Any] | None = None
    link: str | None = Field(None, max_length=2000)
    # What the last digests showed of the project, by snapshot label (`Subscriber.last_shown`).
    shown: dict[str, dict[str, Any]] = {}


class Subscriber(_Part):
    """A person or a channel that gets the workspace's digest, and when it last did."""

    target_kind: Literal["user", "channel"]
    target_id: str = Field(min_length=1, max_length=128)
    timezone: str | None = Field(None, max_length=64)
    scope_kind: Literal["channel", "tag"] | None = None
    scope_value: str | None = Field(None, max_length=200)
    every_weeks: Literal[1, 2] = 1
    created_by: dict[str, Any] = {}
    created_at: AwareDatetime
    last_sent_at: AwareDatetime | None = None
    last_shown: str | None = Field(None, max_length=32)


class Someone(_Part):
    """What mlplan knows of a person of the workspace."""

    id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    timezone: str | None = Field(None, max_length=64)
    updated_at: AwareDatetime


class KeptReference(Reference):
    key: str = Field(min_length=1, max_length=512)


class WorkspaceKept(_Part):
    """What a workspace keeps beside its projects; its first project's document carries it."""

    digests: list[Subscriber] = []
    people: list[Someone] = []
    conversations: list[KeptReference] = []


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
    open_questions: list[LeftForLater] = []
    assignments: list[Owed] = []
    digest: Kept | None = None
    workspace: WorkspaceKept | None = None

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
    return _check_owed(document, flow)


def _check_owed(document: Document, flow: Flow) -> str | None:
    """Say what of a document's open questions and sections owed does not fit this flow."""
    left = [q.question for q in document.open_questions]
    for question in left:
        if question not in flow.questions:
            return f"open_questions: mlplan has no question {question!r}"
        if left.count(question) > 1:
            return f"open_questions: the question {question!r} is listed twice"
    owed = [a.section for a in document.assignments]
    for a in document.assignments:
        if a.section not in {s.id for s in flow.sections}:
            return f"assignments: mlplan has no section {a.section!r}"
        if owed.count(a.section) > 1:
            return f"assignments: the section {a.section!r} is listed twice"
        asked = a.current_question
        if asked is not None and asked not in flow.questions:
            return f"assignments: mlplan has no question {asked!r}"
        if asked is not None and flow.section_of[asked].id != a.section:
            return f"assignments: the question {asked!r} is not of the section {a.section!r}"
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
