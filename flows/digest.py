"""The digest's values, from a project's snapshot to one subscriber's digest, and shared wording.

Building is split in two so that an organisation's digests cost one pass over its projects:
`flows.digest_facts.assess` turns each project into facts (an `Assessment`) once per workspace
and day, shared by every subscriber, and `flows.digest_build.build_digest` picks, ranks and
words the facts one subscriber sees into a `Digest`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flows.costs import Estimate
from flows.dates import format_day
from flows.display import person_name
from flows.model import Flow
from flows.owed import OpenAsk, OwedSection
from flows.parse import mention_token
from flows.replies import Card, Field, Text

SNOOZE_DAYS = 7  # a snooze keeps a project out of "Needs you" this long
LINE_MAX = 160


@dataclass(frozen=True)
class TrackedItem:
    """A milestone or documentation item of a project, with owner, due day and status."""

    title: str
    owner: dict | None
    due: date | None
    status: str  # "open" or "done"
    link: str | None = None  # documentation items only
    key: str | None = None  # the flow's key ("model_card", "deploy") when the flow made it
    id: int = 0


@dataclass(frozen=True)
class ProjectSnapshot:
    """What the digest needs to know of one project, gathered by the caller."""

    id: int
    name: str
    stage: str | None
    answers: Mapping[str, Any]
    milestones: tuple[TrackedItem, ...]
    docs: tuple[TrackedItem, ...]
    last_activity: datetime
    owner: dict | None = None
    current_question: str | None = None  # where an unfinished intake waits
    intake_done: bool = False
    channel: str | None = None
    thread: str | None = None
    tags: tuple[str, ...] = ()
    link: str | None = None  # the project's thread, where the platform can link it
    snoozed_until: date | None = None
    open_questions: tuple[OpenAsk, ...] = ()  # left for later, not answered since
    owed: tuple[OwedSection, ...] = ()  # sections assigned, not answered yet


@dataclass(frozen=True)
class Need:
    """One reason a project needs its lead: what is wrong, who owns it, what is asked."""

    weight: int
    reason: str
    owner: dict | None
    action: str
    label: str  # the summary line it counts in


@dataclass(frozen=True)
class Assessment:
    """The facts of one project on one day, the same for every subscriber who sees it."""

    project: ProjectSnapshot
    done: int
    total: int
    delivered: bool
    overdue: tuple[tuple[TrackedItem, int], ...]
    due_soon: tuple[TrackedItem, ...]
    needs: tuple[Need, ...]
    warnings: int
    estimate: Estimate | None
    score: int
    state: Mapping[str, Any]  # what the next digest compares with (see memory_of)
    stage: str = ""  # the plan's answer to its stage question, else derived (flows.owed)

    @property
    def snoozed(self) -> bool:
        """Tell whether the lead asked not to be told about this project this week."""
        return self.state["z"]


@dataclass(frozen=True)
class DigestProject:
    """One project of the ranked column: rank, name, what matters, who owns it, where it lives."""

    project_id: int
    rank: int
    name: str
    headline: str
    facts: tuple[str, ...]
    owner: dict | None
    link: str | None
    delivered: bool
    changed: bool
    snoozed: bool


@dataclass(frozen=True)
class Digest:
    """The digest of one subscriber. Texts may hold neutral mentions (flows.parse.mention_token).

    `trend` is empty for a first digest; counts in `summary` show the previous one's beside.
    """

    title: str
    needs_you: tuple[str, ...]
    summary: tuple[Field, ...]
    totals: tuple[Field, ...]
    trend: tuple[str, ...]
    projects: tuple[DigestProject, ...]
    hidden: int
    footer: Text

    @property
    def cards(self) -> tuple[Card, ...]:
        """Lay the digest out as plain cards (mentions as names), for a plain-text renderer."""
        needs = self.needs_you or ("Nothing needs you this week.",)
        lines = Field("Needs you this week", plain("\n".join(needs)))
        cards = [Card(title=self.title, fields=(lines,))]
        if self.summary or self.totals or self.trend:
            trend = (Field("Since the last digest", "\n".join(self.trend)),) if self.trend else ()
            cards.append(Card(title="Summary", fields=(*self.summary, *self.totals, *trend)))
        rows = []
        for p in self.projects:
            parts = [p.headline, *([person_name(p.owner)] if p.owner else []), *p.facts]
            rows.append(Field(f"{p.rank}. {p.name}", " · ".join(parts)))
        cards.append(
            Card(title="Projects, most in need first", fields=tuple(rows), footer=self.footer)
        )
        return tuple(cards)


MENTION = re.compile(r"@\{(?P<id>[^|{}\s]+)(?:\|(?P<name>[^{}]*))?\}")


def plain(text: str) -> str:
    """Write the neutral mentions of a text as plain `@name`s."""
    return MENTION.sub(lambda m: "@" + (m["name"] or m["id"]), text)


def safe(text: str) -> str:
    """Keep typed text (a name, a title) from reading as a neutral mention."""
    return text.replace("@{", "@\u200b{")


def mention(person: Mapping[str, Any] | None) -> str:
    """Write a person as the neutral mention each renderer turns into its own (or plain text)."""
    if not person:
        return "no owner"
    if person.get("id"):
        name = person_name(person).removeprefix("@")
        return mention_token(str(person["id"]), safe(name).replace("}", ")").replace("|", "/"))
    return safe(person_name(person))


def clip(text: str, limit: int = LINE_MAX) -> str:
    """Cut a line to `limit` characters, ending it with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def day_count(n: int) -> str:
    """Write a number of days: '1 day', '3 days'."""
    return f"{n} day{'' if n == 1 else 's'}"


def short_day(day: date | None, today: date) -> str:
    """Write a day like 'Fri 4 Dec', with the year only when it is not this year's."""
    if day is None:
        return "no date"
    return format_day(day).removesuffix(f" {today.year}")


def section_title(flow: Flow, section_id: str) -> str:
    """Name a section by its title without the parenthesised part."""
    return flow.section(section_id).title.split(" (")[0]


def section_ids(flow: Flow) -> set[str]:
    """Return the ids of the flow's sections: an owed section the flow no longer has is left out."""
    return {s.id for s in flow.sections}
