"""Neutral replies of the engine, which each platform's renderer turns into messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from flows.model import Question, Section


@dataclass(frozen=True)
class CommandRef:
    """Refer to a command a person can type, as a verb and its arguments.

    Each renderer writes it as its platform types it: in Slack after the slash command, in
    Teams as `status X`, in the terminal as `/status X`.
    """

    verb: str
    args: tuple[str, ...] = ()


# Text that may name commands: plain text, or plain parts and command references in turn.
Text = str | tuple[str | CommandRef, ...]


def spell(text: Text, command: Callable[[CommandRef], str]) -> str:
    """Write a text out, each command reference in it as `command` writes it."""
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else command(part) for part in text)


@dataclass(frozen=True)
class Field:
    """One labelled value of a card; `person` marks a value that names someone."""

    label: str
    value: Text
    person: dict[str, Any] | None = None


@dataclass(frozen=True)
class Card:
    """A summary: title, fields, progress as (answered, total) and warnings."""

    title: str
    fields: tuple[Field, ...] = ()
    progress: tuple[int, int] | None = None
    warnings: tuple[str, ...] = ()
    footer: Text | None = None


@dataclass(frozen=True)
class Ask:
    """Ask one question; `refusal` says why the previous answer to it was not taken.

    `confirmation` says how the answer just saved was understood ("Saved: Fri 11 Dec 2026.").
    `follow_up` marks the same question asked again about its saved answer ("That target names
    no figure…"): `keep` keeps that answer, a new one replaces it.
    """

    question: Question
    section: Section
    number: int
    total: int
    opens_section: bool = False
    current: str | None = None
    refusal: str | None = None
    confirmation: str | None = None
    follow_up: str | None = None

    def metadata(self, project_id: int) -> dict[str, Any]:
        """Describe the question as the contract's `mlplan_question` payload."""
        payload: dict[str, Any] = {
            "project_id": project_id,
            "question_id": self.question.id,
            "kind": self.question.kind,
        }
        if self.question.choices:
            payload["choices"] = list(self.question.choices)
        return payload


@dataclass(frozen=True)
class Say:
    """Tell the person something in plain words."""

    text: Text


@dataclass(frozen=True)
class Show:
    """Show a card that is not an event of the plan (status, a project's summary)."""

    card: Card


@dataclass(frozen=True)
class SectionDone:
    """A section of the plan is complete: its summary card."""

    section_id: str
    card: Card


@dataclass(frozen=True)
class IntakeDone:
    """Every question in scope is answered or skipped: the plan's summary card."""

    card: Card


@dataclass(frozen=True)
class Offered:
    """One deep-dive section on offer: its id, title and how many of its questions are open."""

    section_id: str
    title: str
    open_questions: int


@dataclass(frozen=True)
class DeepDives:
    """Offer the deep-dive sections not yet done: start one now, assign it to someone, or later."""

    text: Text
    sections: tuple[Offered, ...]


@dataclass(frozen=True)
class RemindItem:
    """One thing in a reminder, and why it is mentioned today.

    `kind`: "milestone", "doc", "question" (an open question) or "owed" (a section assigned).
    """

    kind: str
    id: int
    title: str
    reason: str


@dataclass(frozen=True)
class Reminder:
    """Remind an owner of a project's due items, batched into one message; buttons act on each.

    `about` is "items" (milestones and documentation) or "owed" (questions left for later and
    sections assigned: items of kind "question" and "owed").
    """

    project_id: int
    project: str
    items: tuple[RemindItem, ...]
    note: str | None = None
    new_owner: bool = False
    about: str = "items"


Reply = Ask | Say | Show | SectionDone | IntakeDone | DeepDives | Reminder


def spell_card(card: Card, command: Callable[[CommandRef], str]) -> Card:
    """Return the card with its footer and field values written out (see spell)."""
    fields = tuple(replace(f, value=spell(f.value, command)) for f in card.fields)
    footer = None if card.footer is None else spell(card.footer, command)
    return replace(card, fields=fields, footer=footer)


def spell_reply(reply: Reply, command: Callable[[CommandRef], str]) -> Reply:
    """Return the reply with every text in it written out (see spell), for a renderer."""
    if isinstance(reply, Say):
        return Say(spell(reply.text, command))
    if isinstance(reply, Show | SectionDone | IntakeDone):
        return replace(reply, card=spell_card(reply.card, command))
    if isinstance(reply, DeepDives):
        return replace(reply, text=spell(reply.text, command))
    return reply
