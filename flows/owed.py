"""What people owe a plan, as a digest reads it (questions left for later, sections assigned), and
the stage a project is in: pure functions of what storage read and of `today`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flows.reminders import OWED_FIRST_DAYS

# The stage a digest shows when the plan's own stage question (a deep dive) has no answer:
# intake until the core of the plan is answered, planning until a milestone is done, building
# once one is, live once the model is deployed.
INTAKE, PLANNING, BUILDING, LIVE = "intake", "planning", "building", "live"
DEPLOYED = "deployment"  # the key of the milestone that puts a model in production


@dataclass(frozen=True)
class OpenAsk:
    """A question of a project left for later: whose it is, the day to revisit it by."""

    question_id: str
    owner: Mapping[str, Any] | None
    revisit_on: date


@dataclass(frozen=True)
class OwedSection:
    """A section of a project assigned to someone and not answered yet."""

    section_id: str
    assignee: Mapping[str, Any] | None
    assigned_at: datetime


def stage_of(
    *, answered: str | None, core_done: bool, done_milestones: Iterable[str | None]
) -> str:
    """Return a project's stage: the plan's answer where given, else what its progress says."""
    if answered:
        return str(answered)
    if not core_done:
        return INTAKE
    done = set(done_milestones)
    if DEPLOYED in done:
        return LIVE
    return BUILDING if done else PLANNING


def past_revisit(asks: Iterable[OpenAsk], today: date) -> list[OpenAsk]:
    """List the open questions whose day to revisit them by has passed, the oldest first."""
    return sorted((a for a in asks if a.revisit_on < today), key=lambda a: a.revisit_on)


def owed_days(owed: OwedSection, now: datetime) -> int:
    """Count the days since a section was handed to its assignee."""
    return (now - owed.assigned_at).days


def long_owed(owed: Iterable[OwedSection], now: datetime) -> list[OwedSection]:
    """List the sections owed long enough to be reminded of (3 days), the longest first."""
    return sorted(
        (o for o in owed if owed_days(o, now) >= OWED_FIRST_DAYS),
        key=lambda o: o.assigned_at,
    )


def is_theirs(person: Mapping[str, Any] | None, person_id: str | None) -> bool:
    """Tell whether a person reference is the person with this platform id."""
    return bool(person_id) and (person or {}).get("id") == person_id
