"""Say where a platform puts mlplan's messages: the one thing besides translating and rendering it supplies.

The core (`bot.core`) decides *what* follows a person's act, as neutral replies in order
(`Outcome.messages`); a platform's placement says *where* each goes and renders it, as outbox
rows the core writes in the transaction that stores the act.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.context import Speaker
from bot.outcome import Outcome
from flows.replies import Reply


@dataclass(frozen=True)
class Row:
    """One message to queue: its rendered payload and how the platform's sender routes it."""

    payload: dict[str, Any]
    method: str = "post"  # "post", "update" (target_id, or the parent message) or "ephemeral"
    channel: str | None = None
    in_thread: bool = False
    starts_thread: bool = False
    target_id: str | None = None
    user_id: str | None = None
    response_url: str | None = None
    # The project whose messages this one keeps order with, when it is not a reply in its
    # conversation (a Teams reminder); replies take their outcome's project.
    project_id: int | None = None

    def conversation(self, project_id: int | None) -> str:
        """Name the conversation this row keeps its order in: its project's, or where it goes."""
        if project_id is not None:
            return f"project:{project_id}"
        return f"to:{self.channel or self.user_id or ''}"

    def options(self, project_id: int | None = None) -> dict[str, Any]:
        """Return the routing as the outbox's keyword arguments (`project_id`: the outcome's)."""
        project_id = project_id if project_id is not None else self.project_id
        return {
            "project_id": project_id,
            "conversation": self.conversation(project_id),
            "payload": self.payload,
            "method": self.method,
            "channel": self.channel,
            "in_thread": self.in_thread,
            "starts_thread": self.starts_thread,
            "target_id": self.target_id,
            "user_id": self.user_id,
            "response_url": self.response_url,
        }


@dataclass(frozen=True)
class PressedMessage:
    """The question message a person pressed a button of: it is replaced by the answer."""

    message_id: str
    label: str
    shown: str


class Placement(Protocol):
    """Where one request's replies go, for one platform (built per request by its adapter)."""

    platform: str
    prefix: str  # how a command is typed here: "/mlplan", "" or "/"
    here: str | None  # what `digest subscribe here` subscribes: a channel, or None for the person

    def channel_of(self, text: str) -> str | None:
        """Read a channel named in a command (`digest subscribe #ml`), or None if it names none."""

    def rows(
        self,
        kind: str,
        reply: Reply | None,
        outcome: Outcome,
        speaker: Speaker,
        pressed: PressedMessage | None,
    ) -> list[Row] | None:
        """Place one message of an outcome (`Outcome.messages` names the kinds).

        None means "not through the outbox": the reply is shown at once (a slash command's
        private answer, the terminal), and the core hands it back to the adapter.
        """

    def reminder_update(
        self, current: Any, acted: Any, speaker: Speaker, message_id: str
    ) -> Row | None:
        """Re-render a reminder after one of its items was acted on, to replace it in place."""

    def shown_of(self, payload: dict[str, Any]) -> Any:
        """Read back what a queued payload showed (a reminder's blocks or card) to update it."""

    # Conversation references to keep with every request (Teams writes proactively through
    # them), and whether what the platform said of the speaker (name, time zone) is kept too.
    references: Mapping[str, dict[str, Any]]
    remembers_speaker: bool

    def project_references(self, project_id: int) -> Mapping[str, dict[str, Any]]:
        """Say which references a new project's conversation is reached through."""
