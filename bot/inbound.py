"""Name what a person did, the same for Slack, Teams and the terminal: small frozen values.

A platform's only inbound job is a table from its payloads to these values; `bot.core.Core`
decides what each one means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from bot.text import strip_controls

T = TypeVar("T")


def _clean(text: str) -> str:
    return strip_controls(text.replace("\r\n", "\n"))


def cleaned(value: T) -> T:
    """Return a frozen value (an inbound value, a place, a speaker) with every text field cleaned.

    A mapping of texts (what a form's fields held) is cleaned value by value.
    """
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if isinstance(item, str):
            changes[f.name] = _clean(item)
        elif isinstance(item, Mapping):
            changes[f.name] = {k: _clean(v) if isinstance(v, str) else v for k, v in item.items()}
    return dataclasses.replace(value, **changes)


@dataclass(frozen=True)
class Typed:
    """A person wrote a message where a project's conversation may live (a thread, a chat)."""

    text: str
    source_id: str | None = None  # the platform's id of the message, to find it when edited
    event_id: str | None = None  # the platform's id of the delivery, to handle a retry once
    # A chat that is a project's conversation and a command line at once (Teams): with no
    # question open there, the text is run as a command instead.
    or_command: bool = False
    # Written to mlplan directly (a direct message): it may answer a section the person owes.
    direct: bool = False


@dataclass(frozen=True)
class Edited:
    """A person changed the words of a message they wrote earlier."""

    source_id: str
    text: str
    event_id: str | None = None


@dataclass(frozen=True)
class Pressed:
    """A person pressed a button of a question: a choice (`answer`), `skip` or `later`."""

    question_id: str
    action: str  # "answer", "skip" or "later"
    value: str = ""  # the answer a choice button gives
    shown: str | None = None  # how the platform showed the pressed choice, when it differs
    message_id: str | None = None  # the pressed question's message, replaced by its answer
    event_id: str | None = None
    direct: bool = False  # pressed in a direct conversation (see Typed)


@dataclass(frozen=True)
class OpenedForm:
    """A person asked to fill in one section of a project as a form (its button)."""

    project_id: int
    section_id: str


@dataclass(frozen=True)
class SubmittedForm:
    """A person submitted a section's form: what each field held, by question id, as text.

    Values are neutral text, as if typed: a picked person as a neutral mention, a date as
    YYYY-MM-DD, a choice by its name. An empty field is left out and keeps its answer.
    `message_id` is the form's message, replaced once the form is saved (where it is one).
    """

    project_id: int
    section_id: str
    values: Mapping[str, str] = field(default_factory=dict)
    message_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class ChoseSection:
    """A person chose what to do with a deep-dive section on offer: start it, assign it, later.

    `person` is whom to assign it to, as a neutral mention, when the platform let them pick one.
    """

    project_id: int
    section_id: str
    action: str  # "start", "assign" or "later"
    person: str | None = None


@dataclass(frozen=True)
class Ran:
    """A person ran a command: the words after the command's prefix (`/mlplan`, nothing, `/`)."""

    text: str


@dataclass(frozen=True)
class ActedOnItem:
    """A person acted on an item of a reminder: a milestone or documentation item done,
    snoozed, or given a new date; a question left for later answered now, snoozed or skipped;
    a section owed continued.

    `message` is the reminder as the platform showed it when pressed (None: find the latest
    version mlplan sent of `message_id`).
    """

    kind: str  # "milestone", "doc", "question" or "owed"
    item_id: int
    action: str  # "done", "snooze1", "snooze7" or "due"; "answer", "snooze7" or "skip"
    due: date | None = None
    message_id: str | None = None
    message: Any = None


@dataclass(frozen=True)
class ActedOnProject:
    """A person pressed a digest's button for a project: show its `status`, or `snooze7` it."""

    project_id: int
    action: str  # "status" or "snooze7"


@dataclass(frozen=True)
class Installed:
    """mlplan was added to a chat or channel; `greet` when this is the announcement to answer."""

    greet: bool = False


Inbound = (
    Typed
    | Edited
    | Pressed
    | OpenedForm
    | SubmittedForm
    | ChoseSection
    | Ran
    | ActedOnItem
    | ActedOnProject
    | Installed
)
