"""Build the digest a lead acts on in a minute: who needs them, a ranked column, totals and a trend.

Building is split in two so that an organisation's digests cost one pass over its projects:
`assess` turns each project into facts once per workspace and day (shared by every
subscriber), and `build_digest` picks, ranks and words the facts one subscriber sees,
comparing them with what that subscriber's previous digest kept (`memory_of`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flows.costs import Estimate, Range, format_money, format_range
from flows.dates import format_day
from flows.display import person_name
from flows.model import Flow
from flows.owed import OpenAsk, OwedSection, is_theirs, long_owed, owed_days, past_revisit, stage_of
from flows.parse import mention_token
from flows.plan_costs import plan_estimate
from flows.progress import progress
from flows.replies import Card, CommandRef, Field, Text

WINDOW_DAYS = 14  # "due soon" looks this far ahead
DUE_SOON = f"Due in {WINDOW_DAYS} days"
STALL_DAYS = 14  # an unfinished intake untouched this long is stalled
NEEDS_MAX = 5  # lines of "Needs you this week"
SHOWN_MAX = 10  # projects of the ranked column; the rest are counted
NAMES_MAX = 6  # projects named in one summary line before "and N more"
LINE_MAX = 160
SNOOZE_DAYS = 7
MODEL_CARD = "model_card"
OPEN_QUESTIONS = "Open questions"
SECTIONS_OWED = "Sections owed"

# How much each reason weighs in the ranking: what asks the lead for a decision ranks high,
# whatever the plan's progress. A finished project always ranks last.
WEIGHT_OVERDUE = 50
WEIGHT_RUNNING = 45
WEIGHT_MODEL_CARD = 40
WEIGHT_STALLED = 30
WEIGHT_OWED = 20
WEIGHT_OPEN = 15
WEIGHT_DUE_SOON = 10
WEIGHT_WARNING = 3


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


# Facts, once per project and day


def assess(flow: Flow, project: ProjectSnapshot, *, today: date, now: datetime) -> Assessment:
    """Gather what the digest says of one project on one day; pure, and shared by subscribers."""
    answers = project.answers
    # The plan a project needs is its core; deep dives are offered, not owed.
    done, total = progress(flow, answers, tuple(flow.core))
    items = (*project.milestones, *project.docs)
    open_items = [i for i in items if i.status != "done"]
    plan_done = project.intake_done or done >= total
    # Finished: nothing open, nothing owed (an open question or a section assigned is owed).
    delivered = plan_done and not open_items and not project.open_questions and not project.owed
    overdue = sorted(
        ((i, (today - i.due).days) for i in open_items if i.due and i.due < today),
        key=lambda pair: (-pair[1], pair[0].title),
    )
    end = today + timedelta(days=WINDOW_DAYS)
    due_soon = sorted(
        (i for i in open_items if i.due and today <= i.due <= end), key=lambda i: (i.due, i.title)
    )
    est = _estimate(flow, answers)
    needs: list[Need] = []
    if overdue:
        first, late = overdue[0]
        count = f", {len(overdue)} overdue" if len(overdue) > 1 else ""
        needs.append(
            Need(
                WEIGHT_OVERDUE + 2 * len(overdue),
                f"{safe(first.title)} {_days(late)} late{count}",
                first.owner or project.owner,
                "agree a new date or close it",
                "Overdue",
            )
        )
    if est is not None and est.running_exceeds_benefit:
        running = format_range(est.yearly_running, est.currency)
        benefit = format_money(est.benefit_per_year or 0, est.currency)
        needs.append(
            Need(
                WEIGHT_RUNNING,
                f"running cost above benefit ({running} against {benefit} a year)",
                project.owner,
                "decide to re-scope or stop",
                "Running cost above benefit",
            )
        )
    if _no_model_card_owner(project, answers):
        needs.append(
            Need(
                WEIGHT_MODEL_CARD,
                "no model-card owner",
                project.owner,
                "name one",
                "No model-card owner",
            )
        )
    needs += _owed_needs(flow, project, today=today, now=now)
    idle = (now - project.last_activity).days
    if not plan_done and idle >= STALL_DAYS:
        question = flow.questions.get(project.current_question or "")
        where = f" at {question.label.lower()}" if question else ""
        needs.append(
            Need(
                WEIGHT_STALLED + idle // 7,
                f"intake stalled {_days(idle)}{where}",
                project.owner,
                "nudge the owner or close it",
                "Intake stalled",
            )
        )
    found = _warning_count(flow, answers, needs)
    snoozed = bool(project.snoozed_until and project.snoozed_until >= today)
    score = 0
    if not delivered:
        score = sum(n.weight for n in needs) + WEIGHT_WARNING * min(found, 5)
        score += WEIGHT_DUE_SOON if due_soon else 0
    labels = list(dict.fromkeys(n.label for n in needs))
    labels += [
        label
        for label, has in ((OPEN_QUESTIONS, project.open_questions), (SECTIONS_OWED, project.owed))
        if has and label not in labels
    ]
    if due_soon and not delivered:
        labels.append(DUE_SOON)
    if delivered:
        labels.append("Delivered")
    if snoozed:
        labels.append("Snoozed this week")
    state = {
        "l": labels,
        "a": done,
        "o": len(overdue),
        "s": sorted(_sections_done(flow, answers)),
        "d": sorted(i.id for i in items if i.status == "done" and i.id),
        "f": delivered,
        "z": snoozed,
        "q": len(project.open_questions),
    }
    stage = stage_of(
        answered=project.stage or answers.get("stage"),
        core_done=plan_done,
        done_milestones=(m.key for m in project.milestones if m.status == "done"),
    )
    return Assessment(
        project=project,
        done=done,
        total=total,
        delivered=delivered,
        overdue=tuple(overdue),
        due_soon=tuple(due_soon),
        needs=tuple(sorted(needs, key=lambda n: -n.weight)),
        warnings=found,
        estimate=est,
        score=score,
        state=state,
        stage=stage,
    )


def _owed_needs(flow: Flow, project: ProjectSnapshot, *, today: date, now: datetime) -> list[Need]:
    """Say what people owe the project: questions past their revisit day, sections owed 3 days."""
    needs = []
    late = past_revisit(project.open_questions, today)
    if late:
        first = late[0]
        question = flow.questions.get(first.question_id)
        what = f"“{safe(question.label)}”" if question else "a question"
        more = f" and {len(late) - 1} more" if len(late) > 1 else ""
        needs.append(
            Need(
                WEIGHT_OPEN + len(late),
                f"{what}{more} left for later, past its revisit day ({_day(first.revisit_on, today)})",
                first.owner or project.owner,
                "answer or skip it",
                OPEN_QUESTIONS,
            )
        )
    owed = [o for o in long_owed(project.owed, now) if o.section_id in _sections(flow)]
    if owed:
        first = owed[0]
        days = owed_days(first, now)
        more = f" and {len(owed) - 1} more" if len(owed) > 1 else ""
        needs.append(
            Need(
                WEIGHT_OWED + days // 7,
                f"“{_title(flow, first.section_id)}”{more} unanswered {_days(days)} after it was assigned",
                first.assignee or project.owner,
                "answer it or hand it on",
                SECTIONS_OWED,
            )
        )
    return needs


def _title(flow: Flow, section_id: str) -> str:
    return flow.section(section_id).title.split(" (")[0]


def _sections(flow: Flow) -> set[str]:
    return {s.id for s in flow.sections}


def owing(assessed: Iterable[Assessment], *, today: date, now: datetime) -> set[str]:
    """Name the people (platform ids) who owe something late in these projects.

    Their digest has lines of their own (see build_digest's `person`); everyone else's is shared.
    """
    found = set()
    for a in assessed:
        found |= {(q.owner or {}).get("id") for q in past_revisit(a.project.open_questions, today)}
        found |= {(o.assignee or {}).get("id") for o in long_owed(a.project.owed, now)}
    return found - {None}


def assess_all(
    flow: Flow, projects: Iterable[ProjectSnapshot], *, today: date, now: datetime
) -> list[Assessment]:
    """Assess every project and rank them: most in need first, snoozed after, finished last."""
    assessed = [assess(flow, p, today=today, now=now) for p in projects]
    assessed.sort(key=rank_key)
    return assessed


def rank_key(a: Assessment) -> tuple:
    """Sort key of the ranked column: finished last, snoozed after the rest, then by need."""
    return (a.delivered, a.snoozed, -a.score, a.project.name.casefold(), a.project.id)


def memory_of(assessed: Iterable[Assessment]) -> dict[str, Any]:
    """Keep what the next digest compares with: per project its counts, sections and done items.

    One memory serves every subscriber of a workspace: each compares only its own projects.
    """
    return {str(a.project.id): dict(a.state) for a in assessed}


# One subscriber's digest


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
        lines.append(_clip(line))
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
                f" revisited by {_day(q.revisit_on, today)}: {mention(q.owner)}, answer or skip it"
            )
            lines.append((q.revisit_on, _clip(line)))
        for o in long_owed(a.project.owed, now):
            if o.section_id not in _sections(flow) or not is_theirs(o.assignee, person):
                continue
            line = (
                f"{name}: “{_title(flow, o.section_id)}” is yours to answer since"
                f" {_day(o.assigned_at.date(), today)}: {mention(o.assignee)}, answer it in your"
                " chat with mlplan or hand it on"
            )
            lines.append((o.assigned_at.date(), _clip(line)))
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
        owed = [o for o in a.project.owed if o.section_id in _sections(flow)]
        who = "; ".join(f"{_title(flow, o.section_id)} ({mention(o.assignee)})" for o in owed)
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
            lines.append(_clip(f"{safe(a.project.name)}: {'; '.join(changes)}"))
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
    project = a.project
    if a.delivered:
        headline = "delivered"
    elif a.snoozed:
        headline = f"snoozed until {_day(project.snoozed_until, today)}"
    elif a.needs:
        headline = a.needs[0].reason
    elif a.due_soon:
        item = a.due_soon[0]
        headline = f"{safe(item.title)} due {_day(item.due, today)}"
    elif a.done < a.total:
        headline = "planning"
    else:
        headline = "planned"
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
        f"{mention(o.assignee)} owes “{_title(flow, o.section_id)}”"
        for o in project.owed
        if o.section_id in _sections(flow)
    ]
    if a.estimate is not None and not a.delivered:
        facts.append(f"one-time {format_money(a.estimate.one_time, a.estimate.currency)}")
    # A first digest marks nothing: every project would read as changed.
    changed = not first and (
        old is None or any(old.get(k) != v for k, v in a.state.items() if k != "z")
    )
    return DigestProject(
        project_id=project.id,
        rank=rank,
        name=safe(project.name),
        headline=_clip(headline),
        facts=tuple(_clip(f) for f in facts),
        owner=project.owner,
        link=project.link,
        delivered=a.delivered,
        changed=changed,
        snoozed=a.snoozed,
    )


def _footer(hidden: int) -> Text:
    if hidden:
        return (f"… and {hidden} more: ", CommandRef("list"), " · any project: ", _STATUS)
    return ("Any project: ", _STATUS)


_STATUS = CommandRef("status", ("<project>",))


# One project's facts


def _estimate(flow: Flow, answers: Mapping[str, Any]) -> Estimate | None:
    """Estimate a plan whose costs were looked at; None when nothing would count."""
    if not any(q.id in answers for q in flow.section("costs").questions):
        return None
    est = plan_estimate(answers)
    # A plan whose costs all count as 0 is not cheap, just not estimated.
    return est if est.tco_3y.high > 0 else None


def _no_model_card_owner(project: ProjectSnapshot, answers: Mapping[str, Any]) -> bool:
    card = [d for d in project.docs if d.key == MODEL_CARD and d.status != "done"]
    if card:
        return all(not d.owner for d in card)
    # No item yet: the question was skipped (the flow's own warning says the same).
    return "doc_model_card_owner" in answers and not answers["doc_model_card_owner"]


def _warning_count(flow: Flow, answers: Mapping[str, Any], needs: list[Need]) -> int:
    from flows.warnings import warnings

    said = {"Running cost exceeds expected benefit."}
    return sum(1 for _, text in warnings(flow, answers) if text not in said) - (
        1 if any(n.label == "No model-card owner" for n in needs) else 0
    )


def _sections_done(flow: Flow, answers: Mapping[str, Any]) -> set[str]:
    done = set()
    for section in flow.sections:
        s_done, s_total = progress(flow, answers, (section.id,))
        if s_total and s_done == s_total:
            done.add(section.id)
    return done


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def _day(day: date | None, today: date) -> str:
    """Write a day like 'Fri 4 Dec', with the year only when it is not this year's."""
    if day is None:
        return "no date"
    return format_day(day).removesuffix(f" {today.year}")


def _clip(text: str, limit: int = LINE_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
