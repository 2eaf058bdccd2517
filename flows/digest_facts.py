"""Turn each project into the facts a digest says of it, once per workspace and day.

The facts (an `Assessment`) are the same for every subscriber who sees the project, so an
organisation's digests cost one pass over its projects; `flows.digest_build` words them for
each subscriber, and `memory_of` keeps what the next digest compares with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from flows.costs import Estimate, format_money, format_range
from flows.digest import (
    Assessment,
    Need,
    ProjectSnapshot,
    TrackedItem,
    day_count,
    safe,
    section_ids,
    section_title,
    short_day,
)
from flows.model import Flow
from flows.owed import long_owed, owed_days, past_revisit, stage_of
from flows.plan_costs import plan_estimate
from flows.progress import progress

WINDOW_DAYS = 14  # "due soon" looks this far ahead
DUE_SOON = f"Due in {WINDOW_DAYS} days"
STALL_DAYS = 14  # an unfinished intake untouched this long is stalled
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
    overdue, due_soon = _overdue(open_items, today), _due_soon(open_items, today)
    est = _estimate(flow, answers)
    needs = _needs(
        flow, project, overdue=overdue, estimate=est, plan_done=plan_done, today=today, now=now
    )
    found = _warning_count(flow, answers, needs)
    snoozed = bool(project.snoozed_until and project.snoozed_until >= today)
    labels = _labels(project, needs, due_soon=bool(due_soon), delivered=delivered, snoozed=snoozed)
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
        score=_score(needs, found, due_soon=bool(due_soon), delivered=delivered),
        state=state,
        stage=stage,
    )


def _overdue(open_items: list[TrackedItem], today: date) -> list[tuple[TrackedItem, int]]:
    """List the open items past their due day with the days they are late, latest first."""
    return sorted(
        ((i, (today - i.due).days) for i in open_items if i.due and i.due < today),
        key=lambda pair: (-pair[1], pair[0].title),
    )


def _due_soon(open_items: list[TrackedItem], today: date) -> list[TrackedItem]:
    """List the open items due within the window, soonest first."""
    end = today + timedelta(days=WINDOW_DAYS)
    return sorted(
        (i for i in open_items if i.due and today <= i.due <= end), key=lambda i: (i.due, i.title)
    )


def _needs(
    flow: Flow,
    project: ProjectSnapshot,
    *,
    overdue: list[tuple[TrackedItem, int]],
    estimate: Estimate | None,
    plan_done: bool,
    today: date,
    now: datetime,
) -> list[Need]:
    """List what asks the project's lead for a decision, in the order the summary names them."""
    needs = (
        _overdue_need(project, overdue),
        _running_need(project, estimate),
        _model_card_need(project),
        *_owed_needs(flow, project, today=today, now=now),
        _stalled_need(flow, project, plan_done=plan_done, now=now),
    )
    return [n for n in needs if n is not None]


def _overdue_need(project: ProjectSnapshot, overdue: list[tuple[TrackedItem, int]]) -> Need | None:
    if not overdue:
        return None
    first, late = overdue[0]
    count = f", {len(overdue)} overdue" if len(overdue) > 1 else ""
    return Need(
        WEIGHT_OVERDUE + 2 * len(overdue),
        f"{safe(first.title)} {day_count(late)} late{count}",
        first.owner or project.owner,
        "agree a new date or close it",
        "Overdue",
    )


def _running_need(project: ProjectSnapshot, est: Estimate | None) -> Need | None:
    if est is None or not est.running_exceeds_benefit:
        return None
    running = format_range(est.yearly_running, est.currency)
    benefit = format_money(est.benefit_per_year or 0, est.currency)
    return Need(
        WEIGHT_RUNNING,
        f"running cost above benefit ({running} against {benefit} a year)",
        project.owner,
        "decide to re-scope or stop",
        "Running cost above benefit",
    )


def _model_card_need(project: ProjectSnapshot) -> Need | None:
    if not _no_model_card_owner(project, project.answers):
        return None
    return Need(
        WEIGHT_MODEL_CARD,
        "no model-card owner",
        project.owner,
        "name one",
        "No model-card owner",
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
                f"{what}{more} left for later, past its revisit day ({short_day(first.revisit_on, today)})",
                first.owner or project.owner,
                "answer or skip it",
                OPEN_QUESTIONS,
            )
        )
    owed = [o for o in long_owed(project.owed, now) if o.section_id in section_ids(flow)]
    if owed:
        first = owed[0]
        days = owed_days(first, now)
        more = f" and {len(owed) - 1} more" if len(owed) > 1 else ""
        needs.append(
            Need(
                WEIGHT_OWED + days // 7,
                f"“{section_title(flow, first.section_id)}”{more} unanswered {day_count(days)} after it was assigned",
                first.assignee or project.owner,
                "answer it or hand it on",
                SECTIONS_OWED,
            )
        )
    return needs


def _stalled_need(
    flow: Flow, project: ProjectSnapshot, *, plan_done: bool, now: datetime
) -> Need | None:
    idle = (now - project.last_activity).days
    if plan_done or idle < STALL_DAYS:
        return None
    question = flow.questions.get(project.current_question or "")
    where = f" at {question.label.lower()}" if question else ""
    return Need(
        WEIGHT_STALLED + idle // 7,
        f"intake stalled {day_count(idle)}{where}",
        project.owner,
        "nudge the owner or close it",
        "Intake stalled",
    )


def _score(needs: list[Need], warnings: int, *, due_soon: bool, delivered: bool) -> int:
    """Weigh a project's needs, warnings and items due soon; a finished project weighs nothing."""
    if delivered:
        return 0
    score = sum(n.weight for n in needs) + WEIGHT_WARNING * min(warnings, 5)
    return score + (WEIGHT_DUE_SOON if due_soon else 0)


def _labels(
    project: ProjectSnapshot, needs: list[Need], *, due_soon: bool, delivered: bool, snoozed: bool
) -> list[str]:
    """Name the summary lines a project counts in, each once, its needs' first."""
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
    return labels


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
