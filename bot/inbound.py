"""Name what a person did, the same for Slack, Teams and the terminal: small frozen values.

A platform's only inbound job is a table from its payloads to these values; `bot.core.Core`
decides what each one means.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from bot.text import strip_controls

T = TypeVar("T")


def cleaned(value: T) -> T:
    """Return a frozen value (an inbound value, a place, a speaker) with every text field cleaned."""
    changes = {
        f.name: strip_controls(getattr(value, f.name).replace("\r\n", "\n"))
        for f in dataclasses.fields(value)
        if isinstance(getattr(value, f.name), str)
    }
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


@dataclass(frozen=True)
class Ran:
    """A person ran a command: the words after the command's prefix (`/mlplan`, nothing, `/`)."""

    text: str


@dataclass(frozen=True)
class ActedOnItem:
    """A person acted on a milestone or documentation item: done, snoozed, or a new date.

    `message` is the reminder as the platform showed it when pressed (None: find the latest
    version mlplan sent of `message_id`).
    """

    kind: str
    item_id: int
    action: str  # "done", "snooze1", "snooze7" or "due"
    due: date | None = None
    message_id: str | None = None
    message: Any = None


@dataclass(frozen=True)
class Installed:
    """mlplan was added to a chat or channel; `greet` when this is the announcement to answer."""

    greet: bool = False


Inbound = Typed | Edited | Pressed | Ran | ActedOnItem | Installed
