"""Build one subscriber's digest from ranked facts: who needs them, a ranked column, totals, a trend.

A lead acts on it in a minute. The facts come from `flows.digest_facts` (once per workspace
and day); this picks, ranks and words those one subscriber sees, comparing them with what the
subscriber's previous digest kept (`flows.digest_facts.memory_of`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flows.costs import Estimate, Range, format_money, format_range
from flows.dates import format_day
from flows.digest import (
    Assessment,
    Digest,
    DigestProject,
    ProjectSnapshot,
    clip,
    mention,
    safe,
    section_ids,
    section_title,
    short_day,
)
from flows.digest_facts import DUE_SOON, OPEN_QUESTIONS, SECTIONS_OWED, assess_all, rank_key
from flows.model import Flow
from flows.owed import is_theirs, long_owed, past_revisit
from flows.replies import CommandRef, Field, Text

NEEDS_MAX = 5  # lines of "Needs you this week"
SHOWN_MAX = 10  # projects of the ranked column; the rest are counted
NAMES_MAX = 6  # projects named in one summary line before "and N more"


def build_digest(
    flow: Flow,
    projects: Sequence[ProjectSnapshot] | None = None,
    *,
    today: date,
    now: datetime,
    assessed: Sequence[Assessment] | None = None,
    previous: Mapping[str, Any] | None = None,
    max_projects: int = SHOWN_MAX,
    every_weeks: int = 1,
    person: str | None = None,
) -> Digest:
    """Build one subscriber's digest of these projects (or of already ranked assessments).

    `person`: the subscriber's platform id, when a person subscribed: what they owe that is
    late (a question past its revisit day, a section owed 3 days) comes first in "Needs you".
    """
    if max_projects < 0:
        raise ValueError(f"max_projects must be >= 0, got {max_projects!r}")
    ranked = (
        list(assessed)
        if assessed is not None
        else assess_all(flow, projects or (), today=today, now=now)
    )
    before = previous or {}
    monday = today - timedelta(days=today.weekday())
    count = len(ranked)
    title = (
        f"{'Fortnightly' if every_weeks == 2 else 'Weekly'} ML digest: {count} project{'' if count == 1 else 's'}"
        f" (week of {format_day(monday).split(' ', 1)[1]})"
    )
    shown = ranked[:max_projects]
    entries = tuple(
        _entry(flow, a, n, before.get(str(a.project.id)), today, first=previous is None)
        for n, a in enumerate(shown, 1)
    )
    return Digest(
        title=title,
        needs_you=tuple(_needs_you(ranked, _own_lines(flow, ranked, person, today, now))),
        summary=tuple(_summary(flow, ranked, previous)),
        totals=tuple(_totals(ranked)),
        trend=tuple(_trend(flow, ranked, before)) if previous else (),
        projects=entries,
        hidden=len(ranked) - len(shown),
        footer=_footer(len(ranked) - len(shown)),
    )


def _needs_you(ranked: Sequence[Assessment], own: list[str]) -> list[str]:
    candidates = [(a.needs[0], a) for a in ranked if a.needs and not a.delivered and not a.snoozed]
    candidates.sort(key=lambda pair: rank_key(pair[1]))
    lines = own[:NEEDS_MAX]
    for need, a in candidates[: NEEDS_MAX - len(lines)]:
        line = f"{safe(a.project.name)}: {need.reason}: {mention(need.owner)}, {need.action}"
        lines.append(clip(line))
    return lines


def _own_lines(
    flow: Flow, ranked: Sequence[Assessment], person: str | None, today: date, now: datetime
) -> list[str]:
    """Write the subscriber's own late questions and sections, one line each, oldest first."""
    if not person:
        return []
    lines: list[tuple[date, str]] = []
    for a in ranked:
        name = safe(a.project.name)
        for q in past_revisit(a.project.open_questions, today):
            question = flow.questions.get(q.question_id)
            if question is None or not is_theirs(q.owner, person):
                continue
            line = (
                f"{name}: your question “{safe(question.label)}”, left for later, was to be"
                f" revisited by {short_day(q.revisit_on, today)}: {mention(q.owner)}, answer or skip it"
            )
            lines.append((q.revisit_on, clip(line)))
        for o in long_owed(a.project.owed, now):
            if o.section_id not in section_ids(flow) or not is_theirs(o.assignee, person):
                continue
            line = (
                f"{name}: “{section_title(flow, o.section_id)}” is yours to answer since"
                f" {short_day(o.assigned_at.date(), today)}: {mention(o.assignee)}, answer it in your"
                " chat with mlplan or hand it on"
            )
            lines.append((o.assigned_at.date(), clip(line)))
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]


SUMMARY_ORDER = (
    "Overdue",
    "Running cost above benefit",
    "No model-card owner",
    "Intake stalled",
    SECTIONS_OWED,
    OPEN_QUESTIONS,
    DUE_SOON,
    "Snoozed this week",
    "Delivered",
)


def _summary(
    flow: Flow, ranked: Sequence[Assessment], before: Mapping[str, Any] | None
) -> list[Field]:
    """Count each kind of news and name its projects; beside the count, the previous digest's."""
    groups: dict[str, list[str]] = defaultdict(list)
    old_counts: dict[str, int] = defaultdict(int)
    for a in ranked:
        for label in a.state["l"]:
            groups[label].append(_named(flow, a, label))
        for label in (before or {}).get(str(a.project.id), {}).get("l", ()):
            old_counts[label] += 1
    fields = []
    for label in SUMMARY_ORDER:
        names = groups.get(label, [])
        old = old_counts[label] if before is not None else None
        if not names and not old:
            continue
        count = f"{old} → {len(names)}" if old is not None and old != len(names) else len(names)
        listed = ", ".join(names[:NAMES_MAX])
        if len(names) > NAMES_MAX:
            listed += f" and {len(names) - NAMES_MAX} more"
        fields.append(Field(f"{label} ({count})", listed or "none now"))
    return fields


def _named(flow: Flow, a: Assessment, label: str) -> str:
    """Name a project in a summary line: with its open questions counted, or who owes what."""
    name = safe(a.project.name)
    if label == OPEN_QUESTIONS:
        return f"{name} ({len(a.project.open_questions)})"
    if label == SECTIONS_OWED and a.project.owed:
        owed = [o for o in a.project.owed if o.section_id in section_ids(flow)]
        who = "; ".join(
            f"{section_title(flow, o.section_id)} ({mention(o.assignee)})" for o in owed
        )
        return f"{name}: {who}" if who else name
    return name


def _totals(ranked: Sequence[Assessment]) -> list[Field]:
    """Sum one-time, yearly running and yearly benefit per currency, naming how many count."""
    by_currency: dict[str, list[Estimate]] = defaultdict(list)
    for a in ranked:
        if a.estimate is not None:
            by_currency[a.estimate.currency].append(a.estimate)
    fields = []
    for currency in sorted(by_currency):
        ests = by_currency[currency]
        one_time = sum(e.one_time for e in ests)
        running = sum((e.yearly_running for e in ests), Range(0, 0))
        benefits = [e.benefit_per_year for e in ests if e.benefit_per_year is not None]
        parts = [
            f"one-time {format_money(one_time, currency)}",
            f"yearly running {format_range(running, currency)}",
        ]
        if benefits:
            parts.append(f"yearly benefit {format_money(sum(benefits), currency)}")
        of = f"{len(ests)} of {len(ranked)} projects with figures"
        fields.append(Field(f"Totals ({currency})", f"{' · '.join(parts)} ({of})"))
    return fields


def _trend(flow: Flow, ranked: Sequence[Assessment], before: Mapping[str, Any]) -> list[str]:
    lines = []
    for a in ranked:
        changes = _changes(flow, a, before.get(str(a.project.id)))
        if changes:
            lines.append(clip(f"{safe(a.project.name)}: {'; '.join(changes)}"))
    return lines


def _changes(flow: Flow, a: Assessment, old: Mapping[str, Any] | None) -> list[str]:
    """Say what changed in a project since the previous digest, in a few words each."""
    if old is None:
        return ["new since the last digest"]
    now = a.state
    changes = []
    if now["f"] and not old.get("f"):
        changes.append("delivered")
    titles = {s.id: s.title.split(" (")[0] for s in flow.sections}
    finished = [titles.get(s, s) for s in now["s"] if s not in set(old.get("s", ()))]
    changes.extend(f"{title} finished" for title in finished)
    new_done = set(now["d"]) - set(old.get("d", ()))
    items = {i.id: i.title for i in (*a.project.milestones, *a.project.docs)}
    changes.extend(f"{safe(items[i])} done" for i in sorted(new_done) if i in items)
    answered = now["a"] - old.get("a", now["a"])
    if answered > 0 and not finished:
        changes.append(f"{answered} more answer{'' if answered == 1 else 's'}")
    if now["o"] != old.get("o", now["o"]):
        changes.append(f"overdue {old.get('o', 0)} → {now['o']}")
    if now.get("q", 0) != old.get("q", now.get("q", 0)):
        changes.append(f"open questions {old.get('q', 0)} → {now['q']}")
    return changes


def _entry(
    flow: Flow,
    a: Assessment,
    rank: int,
    old: Mapping[str, Any] | None,
    today: date,
    *,
    first: bool,
) -> DigestProject:
    """Write one project of the ranked column: its headline, its facts, whether it changed."""
    project = a.project
    # A first digest marks nothing: every project would read as changed.
    changed = not first and (
        old is None or any(old.get(k) != v for k, v in a.state.items() if k != "z")
    )
    return DigestProject(
        project_id=project.id,
        rank=rank,
        name=safe(project.name),
        headline=clip(_headline(a, today)),
        facts=tuple(clip(f) for f in _facts(flow, a)),
        owner=project.owner,
        link=project.link,
        delivered=a.delivered,
        changed=changed,
        snoozed=a.snoozed,
    )


def _headline(a: Assessment, today: date) -> str:
    """Say what matters most of a project: finished, snoozed, its first need, what is due."""
    if a.delivered:
        return "delivered"
    if a.snoozed:
        return f"snoozed until {short_day(a.project.snoozed_until, today)}"
    if a.needs:
        return a.needs[0].reason
    if a.due_soon:
        item = a.due_soon[0]
        return f"{safe(item.title)} due {short_day(item.due, today)}"
    return "planning" if a.done < a.total else "planned"


def _facts(flow: Flow, a: Assessment) -> list[str]:
    """List the rest a project's line says: progress, stage, other needs, what is owed, cost."""
    project = a.project
    facts = []
    if not a.delivered and a.done < a.total:
        facts.append(f"plan {a.done}/{a.total}")
    if a.stage:
        facts.append(f"stage: {a.stage}")
    for need in a.needs[1:]:
        facts.append(need.reason)
    if project.open_questions:
        count = len(project.open_questions)
        facts.append(f"{count} open question{'' if count == 1 else 's'}")
    facts += [
        f"{mention(o.assignee)} owes “{section_title(flow, o.section_id)}”"
        for o in project.owed
        if o.section_id in section_ids(flow)
    ]
    if a.estimate is not None and not a.delivered:
        facts.append(f"one-time {format_money(a.estimate.one_time, a.estimate.currency)}")
    return facts


def _footer(hidden: int) -> Text:
    if hidden:
        return (f"… and {hidden} more: ", CommandRef("list"), " · any project: ", _STATUS)
    return ("Any project: ", _STATUS)


_STATUS = CommandRef("status", ("<project>",))
