"""Build the weekly digest of every project: the most urgent first, then a portfolio by gain/cost."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flows.costs import Estimate, format_money, format_range, gain_cost_ratio
from flows.dates import format_day
from flows.display import person_name
from flows.model import Flow
from flows.plan_costs import plan_estimate
from flows.progress import progress
from flows.replies import Card, CommandRef, Field, Text
from flows.warnings import warnings

WINDOW_DAYS = 14  # "due soon" looks this far ahead; a project this long untouched is inactive
LINE_MAX = 120  # one line of a list (a hidden project, a due item), so one long name can't crowd
LISTED_MAX = 40  # hidden projects named one per line in the summary card
LINES_PER_FIELD = 10  # hidden projects per field, so a field reads as one short list
PORTFOLIO_SHOWN = 15
POINTERS: tuple[str | CommandRef, ...] = (
    CommandRef("list"),
    ", ",
    CommandRef("status", ("<project>",)),
    ", or `mlplan export <project>`",
)


@dataclass(frozen=True)
class TrackedItem:
    """A milestone or documentation item of a project, with owner, due day and status."""

    title: str
    owner: dict | None
    due: date | None
    status: str  # "open" or "done"
    link: str | None = None  # documentation items only


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
    changes_since_last: tuple[str, ...] = ()


@dataclass(frozen=True)
class Digest:
    """The digest: a summary card, a portfolio card, then one card per shown project."""

    title: str
    cards: tuple[Card, ...]
    hidden: int


def build_digest(
    flow: Flow,
    projects: Sequence[ProjectSnapshot],
    *,
    today: date,
    now: datetime,
    max_project_cards: int = 10,
) -> Digest:
    """Build the digest of these projects, giving the most urgent their own card."""
    if max_project_cards < 0:
        raise ValueError(f"max_project_cards must be >= 0, got {max_project_cards!r}")
    ranked = sorted(projects, key=lambda p: urgency(flow, p, today=today, now=now))
    shown, hidden = ranked[:max_project_cards], ranked[max_project_cards:]
    monday = today - timedelta(days=today.weekday())
    count = len(projects)
    title = (
        f"Weekly ML digest: {count} project{'' if count == 1 else 's'}"
        f" (week of {format_day(monday).split(' ', 1)[1]})"
    )
    cards = (
        _summary_card(flow, ranked, hidden, first_hidden=len(shown) + 1, today=today, now=now),
        _portfolio_card(flow, projects),
        *(project_card(flow, p, today=today, now=now) for p in shown),
    )
    return Digest(title=title, cards=cards, hidden=len(hidden))


def urgency(
    flow: Flow, project: ProjectSnapshot, *, today: date, now: datetime | None = None
) -> tuple:
    """Return a sort key that puts the most urgent project first.

    Overdue items come first (more items, then more days late), then items due within 14 days
    (soonest first), then projects inactive for 14 days or more (longest first), then incomplete
    plans with warnings (more warnings first), then the rest; ties go by name. Inactivity is
    measured from `now` when given, else in calendar days up to `today`.
    """
    name = (project.name.casefold(), project.id)
    overdue = _overdue(project, today)
    if overdue:
        return (0, -len(overdue), -max(late for _, late in overdue), *name)
    due = _due_soon(project, today)
    if due:
        return (1, (due[0].due - today).days, -len(due), *name)
    idle = _idle_days(project, today=today, now=now)
    if idle >= WINDOW_DAYS:
        return (2, -idle, 0, *name)
    done, total = progress(flow, project.answers)
    found = warnings(flow, project.answers)
    if done < total and found:
        return (3, -len(found), 0, *name)
    return (4, 0, 0, *name)


def portfolio(flow: Flow, projects: Sequence[ProjectSnapshot]) -> list[tuple[ProjectSnapshot, str]]:
    """Rank projects by expected gain against cost, best first, each with the reason for its place.

    Plans with a yearly benefit come first, by three years of benefit over the three-year cost;
    plans without one follow, cheapest first; plans with no cost figures come last, by name.
    """
    keyed = []
    for project in projects:
        key, reason = _portfolio_place(flow, project)
        keyed.append(((*key, project.name.casefold(), project.id), project, reason))
    keyed.sort(key=lambda entry: entry[0])
    return [(project, reason) for _, project, reason in keyed]


def project_card(flow: Flow, project: ProjectSnapshot, *, today: date, now: datetime) -> Card:
    """Summarise one project for the digest: plan, costs, targets, dates, docs and changes."""
    answers = project.answers
    fields = [
        Field("Stage", _stage(project)),
        Field("Plan", _plan_line(flow, answers)),
        Field("Costs", _cost_line(flow, answers)),
    ]
    for label, metric, target in (
        ("Outcome target", "outcome_metric", "outcome_target"),
        ("Output target", "output_metric", "output_target"),
    ):
        goal = _target(answers.get(metric), answers.get(target))
        if goal:
            fields.append(Field(label, goal))
    due = _due_soon(project, today)
    if due:
        lines = [f"{item.title} ({_owner(item)}, {_day(item.due, today)})" for item in due]
        fields.append(Field(f"Due in {WINDOW_DAYS} days", _lines(lines)))
    overdue = _overdue(project, today)
    if overdue:
        lines = [
            f"{item.title} ({_owner(item)}, {_day(item.due, today)}, "
            f"{late} day{'' if late == 1 else 's'} late)"
            for item, late in overdue
        ]
        fields.append(Field("Overdue", _lines(lines)))
    missing = _docs_missing(project)
    if missing:
        fields.append(
            Field(
                "Documentation missing",
                ", ".join(f"{d.title} ({_owner(d)})" for d in missing),
            )
        )
    changes = "; ".join(project.changes_since_last) or "nothing"
    fields.append(Field("Changed since last digest", changes))

    notes = [text for _, text in warnings(flow, answers)]
    idle = _idle_days(project, today=today, now=now)
    if idle >= WINDOW_DAYS:
        # First, because it is the one warning about the team rather than about the plan.
        notes.insert(0, f"No activity for {idle} days.")
    return Card(
        title=project.name,
        fields=tuple(fields),
        progress=progress(flow, answers),
        warnings=tuple(notes),
        footer=(CommandRef("status", (project.name,)), f" · `mlplan export {project.name}`"),
    )


# The summary and portfolio cards


def _summary_card(
    flow: Flow,
    ranked: Sequence[ProjectSnapshot],
    hidden: Sequence[ProjectSnapshot],
    *,
    first_hidden: int,
    today: date,
    now: datetime,
) -> Card:
    if not ranked:
        return Card(title="Summary", fields=(Field("Projects", "none yet"),))
    fields = [
        Field("Projects", str(len(ranked))),
        Field("By stage", _by_stage(flow, ranked)),
        Field("With overdue items", str(sum(bool(_overdue(p, today)) for p in ranked))),
        Field(f"Due in {WINDOW_DAYS} days", str(sum(bool(_due_soon(p, today)) for p in ranked))),
        Field(
            f"Inactive {WINDOW_DAYS}+ days",
            str(sum(_idle_days(p, today=today, now=now) >= WINDOW_DAYS for p in ranked)),
        ),
        Field("Documentation missing", str(sum(bool(_docs_missing(p)) for p in ranked))),
    ]
    lines = [
        _clip(_hidden_line(flow, p, today=today, now=now), LINE_MAX) for p in hidden[:LISTED_MAX]
    ]
    more = len(hidden) - len(lines)
    fields.extend(_packed(lines, first_hidden, more))
    footer = ("Any project: ", *POINTERS, ".")
    return Card(title="Summary", fields=tuple(fields), footer=footer)


def _packed(lines: list[str], first: int, more: int) -> list[Field]:
    """Pack the hidden projects' lines into fields of a few lines each, numbered from `first`."""
    fields: list[Field] = []
    for start in range(0, len(lines), LINES_PER_FIELD):
        chunk = lines[start : start + LINES_PER_FIELD]
        label = f"More projects ({first + start}–{first + start + len(chunk) - 1})"
        fields.append(Field(label, "\n".join(chunk)))
    if more:
        tail: Text = (f"… and {more} more: ", *POINTERS)
        if fields:
            last = fields[-1]
            fields[-1] = Field(last.label, (f"{last.value}\n", *tail))
        else:
            fields.append(Field("More projects", tail))
    return fields


def _hidden_line(flow: Flow, project: ProjectSnapshot, *, today: date, now: datetime) -> str:
    done, total = progress(flow, project.answers)
    parts = [project.name, _stage(project), f"{done}/{total}"]
    overdue, due = _overdue(project, today), _due_soon(project, today)
    idle = _idle_days(project, today=today, now=now)
    if overdue:
        parts.append(f"{len(overdue)} overdue")
    if due:
        parts.append(f"{len(due)} due soon")
    if idle >= WINDOW_DAYS:
        parts.append(f"idle {idle} days")
    return " · ".join(parts)


def _by_stage(flow: Flow, projects: Sequence[ProjectSnapshot]) -> str:
    counts = Counter(_stage(p) for p in projects)
    known = flow.questions["stage"].choices
    others = sorted(s for s in counts if s not in known and s != "not set")
    order = [*known, *others, "not set"]
    return " · ".join(f"{stage} {counts[stage]}" for stage in order if counts[stage])


def _portfolio_card(flow: Flow, projects: Sequence[ProjectSnapshot]) -> Card:
    ranked = portfolio(flow, projects)
    fields = tuple(
        Field(f"#{n} {project.name}", reason)
        for n, (project, reason) in enumerate(ranked[:PORTFOLIO_SHOWN], start=1)
    )
    footer = (
        "Ranked by 3 years of expected benefit over the 3-year cost; plans without a benefit "
        "figure follow, cheapest first; plans without costs come last."
    )
    if len(ranked) > PORTFOLIO_SHOWN:
        footer = (f"{footer} … {len(ranked) - PORTFOLIO_SHOWN} more: ", *POINTERS, ".")
    if not ranked:
        footer = "No projects to rank yet."
    return Card(title="Portfolio: gain against cost", fields=fields, footer=footer)


def _portfolio_place(flow: Flow, project: ProjectSnapshot) -> tuple[tuple, str]:
    """Return the project's rank key (before name) and the reason for its place."""
    answers = project.answers
    est = plan_estimate(answers) if _costs_touched(flow, answers) else None
    # cost_inputs keeps the benefit only when benefit_known is True, so the estimate says it all.
    has_benefit = est is not None and est.benefit_per_year is not None
    # A plan whose costs all count as 0 is not cheap, just not estimated: ranking it first
    # (an infinite gain/cost, or the cheapest) would reward leaving the cost section empty.
    if est is None or est.tco_3y.high == 0:
        reason = "costs not estimated yet"
        if has_benefit:
            benefit = format_money(est.benefit_per_year * 3, est.currency)
            reason += f" ({benefit} benefit over 3 years)"
        return (2, 0.0), reason
    cost = format_range(est.tco_3y, est.currency)
    if has_benefit:
        ratio = gain_cost_ratio(est) or 0.0
        benefit = format_money(est.benefit_per_year * 3, est.currency)
        reason = f"gain/cost {_ratio(ratio)}: {benefit} benefit over 3 years for {cost}"
        if est.running_exceeds_benefit:
            reason = f"running cost exceeds expected benefit; {reason}"
        return (0, -ratio), reason
    return (1, est.tco_3y.mid), f"no benefit estimate; 3-year cost {cost}"


def _ratio(ratio: float) -> str:
    if math.isinf(ratio):
        return "∞"
    if ratio >= 10:
        return f"{ratio:,.0f}"
    return f"{ratio:.1f}" if ratio >= 0.1 else f"{ratio:.2g}"


# One project's facts


def _open(items: Sequence[TrackedItem]) -> list[TrackedItem]:
    # Anything not marked done counts as open: a digest should over-report, not hide.
    return [item for item in items if item.status != "done"]


def _overdue(project: ProjectSnapshot, today: date) -> list[tuple[TrackedItem, int]]:
    items = [i for i in _open((*project.milestones, *project.docs)) if i.due and i.due < today]
    items.sort(key=lambda i: (i.due, i.title))
    return [(item, (today - item.due).days) for item in items]


def _due_soon(project: ProjectSnapshot, today: date) -> list[TrackedItem]:
    end = today + timedelta(days=WINDOW_DAYS)
    items = [
        i for i in _open((*project.milestones, *project.docs)) if i.due and today <= i.due <= end
    ]
    return sorted(items, key=lambda i: (i.due, i.title))


def _docs_missing(project: ProjectSnapshot) -> list[TrackedItem]:
    return [doc for doc in _open(project.docs) if not doc.link]


def _idle_days(project: ProjectSnapshot, *, today: date, now: datetime | None) -> int:
    if now is None:
        return (today - project.last_activity.date()).days
    return (now - project.last_activity).days


def _costs_touched(flow: Flow, answers: Mapping[str, Any]) -> bool:
    return any(q.id in answers for q in flow.section("costs").questions)


def _cost_line(flow: Flow, answers: Mapping[str, Any]) -> str:
    if not _costs_touched(flow, answers):
        return "not estimated yet"
    est: Estimate = plan_estimate(answers)
    one_time = format_money(est.one_time, est.currency)
    return f"one-time {one_time} · yearly {format_range(est.yearly_running, est.currency)}"


def _plan_line(flow: Flow, answers: Mapping[str, Any]) -> str:
    done, total = progress(flow, answers)
    open_sections = []
    for section in flow.sections:
        s_done, s_total = progress(flow, answers, (section.id,))
        if s_done < s_total:
            # "Costs (back of the envelope)" reads as "Costs" in a one-line list.
            open_sections.append(f"{section.title.split(' (')[0]} {s_done}/{s_total}")
    line = f"{done} of {total} questions"
    return f"{line}; {', '.join(open_sections)}" if open_sections else line


def _target(metric: Any, target: Any) -> str | None:
    if metric and target:
        return f"{metric} → {target}"
    return str(metric or target) if metric or target else None


def _stage(project: ProjectSnapshot) -> str:
    return project.stage or project.answers.get("stage") or "not set"


def _owner(item: TrackedItem) -> str:
    return person_name(item.owner) if item.owner else "no owner"


def _day(day: date, today: date) -> str:
    """Write a day like 'Fri 4 Dec', with the year only when it is not this year's."""
    text = format_day(day)
    return text.removesuffix(f" {today.year}")


def _lines(lines: list[str]) -> str:
    return "\n".join(_clip(line, LINE_MAX) for line in lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
