"""Hold where a project's conversation stands and what one input to it produced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.replies import Reply


@dataclass(frozen=True)
class State:
    """Where a project's conversation stands.

    `answers` maps each visited question id to its latest value; None means skipped.
    `current` is the open question, None once every question in scope is visited.
    `walk` is a section being walked again question by question, answered or not (`ask`).
    `later` holds the questions left for later and not answered since: open questions, whose
    answer is None as a skip's is, but which cards and status show as open, not as skipped.
    `intake_done`: whether the intake's end (the plan's card) has come; None leaves it to the
    answers (every core question visited). A follow-up asked about the core's last answer
    holds the end back until the person keeps or changes that answer.
    """

    name: str
    sections: tuple[str, ...]
    current: str | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)
    walk: str | None = None
    later: frozenset[str] = frozenset()
    intake_done: bool | None = None


@dataclass(frozen=True)
class Recorded:
    """An answer to store: the parsed value (None for a skip) and what the person typed."""

    question_id: str
    value: Any
    raw: str
    skipped: bool = False


@dataclass(frozen=True)
class Turn:
    """The outcome of one input: new state, replies, answers to store, whether scope is done."""

    state: State
    replies: tuple[Reply, ...]
    recorded: tuple[Recorded, ...] = ()
    done: bool = False
