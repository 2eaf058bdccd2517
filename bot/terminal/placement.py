"""Place mlplan's messages in the terminal: everything is printed at once, nothing is queued."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.context import Speaker
from bot.outcome import Outcome
from bot.placement import PressedMessage, Row
from flows.replies import Reply


@dataclass(frozen=True)
class TerminalPlacement:
    """The terminal has one reader, who sees every reply as it comes: nothing goes through the outbox."""

    references: dict[str, dict[str, Any]] = field(default_factory=dict)

    platform = "terminal"
    prefix = "/"
    here = None  # `digest subscribe here` is the person
    remembers_speaker = False

    def channel_of(self, text: str) -> str | None:
        """The terminal has no channels."""
        return None

    def project_references(self, project_id: int) -> dict[str, dict[str, Any]]:
        """Nothing to keep: the terminal is always here."""
        return {}

    def rows(
        self,
        kind: str,
        reply: Reply | None,
        outcome: Outcome,
        speaker: Speaker,
        pressed: PressedMessage | None,
    ) -> None:
        """Print every reply at once (the parent message and card updates have no place here).

        A message to someone else (the section handed to an assignee) is not for this reader:
        nothing is printed, and that person is asked when they sign in (`Assigning.owed`).
        """
        if kind == "direct" and (outcome.assignee or {}).get("id") != speaker.id:
            return []
        return None

    def shown_of(self, payload: dict[str, Any]) -> None:
        """The terminal sends no reminders to update."""
        return None

    def reminder_update(
        self, current: Any, acted: Any, speaker: Speaker, message_id: str
    ) -> Row | None:
        """The terminal sends no reminders to update."""
        return None


PLACEMENT = TerminalPlacement()
