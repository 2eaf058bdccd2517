"""Build the plan's summaries (a finished section, the whole plan, its status) from the answers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.dates import format_day
from flows.display import answer_field, person_name
from flows.model import Flow, Section
from flows.plan_costs import BROKEN_DOWN, cost_breakdown, cost_fields, cost_totals
from flows.progress import progress, visited_sections
from flows.replies import Card, Field
from flows.state import State
from flows.warnings import warnings

# The sections whose summary ends with the cost estimate.
COST_SECTIONS = ("costs", "costs_detail")


# How a card shows a question left for later: open, not skipped.
OPEN_LATER = "open question: answer later"


def section_card(
    flow: Flow, section: Section, answers: Mapping[str, Any], *, later: frozenset[str] = frozenset()
) -> Card:
    """Summarise one finished section: every applicable answer; for costs the estimate first.

    A question in `later` (left for later, not answered since) is shown as open, not skipped.
    """
    shown = [q for q in section.questions if q.applies(answers)]
    fields = []
    if section.id in COST_SECTIONS:
        # The totals first, then the lines they add up (from the answers), then the rest.
        fields = [*cost_totals(answers), *cost_breakdown(answers)]
        shown = [q for q in shown if q.id not in BROKEN_DOWN]
    fields.extend(
        Field(q.label, OPEN_LATER) if q.id in later else answer_field(flow, q, answers)
        for q in shown
    )
    if section.id in flow.core:
        title = (
            f"Section {flow.core.index(section.id) + 1} of {len(flow.core)} done: {section.title}"
        )
    else:
        title = f"Deep dive done: {section.title}"
    return Card(
        title=title,
        fields=tuple(fields),
        progress=progress(flow, answers),
        warnings=tuple(text for where, text in warnings(flow, answers) if where == section.id),
    )


def plan_card(flow: Flow, state: State) -> Card:
    """Summarise the whole plan: stage, costs, metrics, milestones and warnings."""
    answers = state.answers
    fields: list[Field] = []
    for question_id in ("stage", "problem"):
        if answers.get(question_id) is not None:
            fields.append(answer_field(flow, flow.questions[question_id], answers))
    if "costs" in visited_sections(flow, answers):
        fields.extend(cost_fields(answers))
    for metric, target, label in (
        ("outcome_metric", "outcome_target", "Outcome metric"),
        ("output_metric", "output_target", "Output metric"),
    ):
        if answers.get(metric) is not None:
            goal = answers.get(target)
            fields.append(Field(label, f"{answers[metric]} → {goal}" if goal else answers[metric]))
    if answers.get("output_baseline") is not None:
        fields.append(
            Field(
                "Baseline to beat", f"{answers.get('baseline_kind')}: {answers['output_baseline']}"
            )
        )
    if answers.get("signoff") is not None:
        fields.append(answer_field(flow, flow.questions["signoff"], answers))
    for kind in ("milestone", "doc"):
        for item in milestones(flow, answers, kind=kind):
            due = format_day(date.fromisoformat(item["due"])) if item["due"] else "no date"
            if item.get("due_with"):
                due += f" (with {item['due_with']}, until it has its own date)"
            owner = person_name(item["owner"]) if item["owner"] else "no owner"
            fields.append(Field(item["title"], f"{owner}, due {due}", person=item["owner"]))
    return Card(
        title=f"Plan: {state.name}",
        fields=tuple(fields),
        progress=progress(flow, answers),
        warnings=tuple(text for _, text in warnings(flow, answers)),
    )


def status_card(
    flow: Flow, state: State, later: Mapping[str, tuple[str, date] | None] | None = None
) -> Card:
    """Show how far each section is (the core, then the deep dives) and which question is open.

    `later` maps each question left for later to its owner's name and its revisit date: those
    are open questions, listed after the sections, not skips.
    """
    later = later or {qid: None for qid in state.later}
    fields = []
    for section in flow.sections:
        done, total = progress(flow, state.answers, (section.id,))
        left = [
            q.id for q in section.questions if q.id in state.answers and q.applies(state.answers)
        ]
        skipped = sum(1 for qid in left if state.answers[qid] is None and qid not in later)
        open_later = sum(1 for qid in left if state.answers[qid] is None and qid in later)
        note = f", {skipped} skipped" if skipped else ""
        note += f", {open_later} for later" if open_later else ""
        where = "" if section.id in flow.core else "deep dive: "
        fields.append(Field(f"{section.order}. {where}{section.title}", f"{done} of {total}{note}"))
    skipped_labels = [
        q.label
        for q in flow.walk(tuple(s.id for s in flow.sections))
        if q.id in state.answers
        and state.answers[q.id] is None
        and q.id not in later
        and q.id != state.current
        and q.applies(state.answers)
    ]
    if skipped_labels:
        fields.append(Field("Skipped (does not apply)", ", ".join(skipped_labels)))
    if state.current is not None:
        question = flow.questions[state.current]
        fields.append(Field("Open question", question.label))
    for qid, due in later.items():
        if qid in flow.questions and state.answers.get(qid, "") is None:
            label = flow.questions[qid].label
            shown = f"{due[0]}, revisit {format_day(due[1])}" if due else "open"
            fields.append(Field(f"Answer later: {label}", shown))
    # The bar counts the core while it is open (the intake's "question n of 29"), then it all.
    core = progress(flow, state.answers, tuple(flow.core))
    return Card(
        title=f"Status: {state.name}",
        fields=tuple(fields),
        progress=core if core[0] < core[1] else progress(flow, state.answers),
        warnings=tuple(text for _, text in warnings(flow, state.answers)),
    )


def milestones(flow: Flow, answers: Mapping[str, Any], *, kind: str) -> list[dict[str, Any]]:
    """Collect the milestones or documentation items the answers declare, with owner and due date."""
    items: dict[str, dict[str, Any]] = {}
    for question in flow.tracking[kind]:
        tracked = getattr(question, kind)
        item = items.setdefault(
            tracked.key, {"key": tracked.key, "title": tracked.title, "owner": None, "due": None}
        )
        if question.applies(answers):
            item[tracked.field] = answers.get(question.id)
            stand_in = answers.get(question.default) if question.default else None
            if item[tracked.field] is None and stand_in is not None:
                # Due with its milestone until it has its own date; the plan card says so.
                item[tracked.field] = stand_in
                item["due_with"] = _tracked_title(flow, question.default)
    # A date that only stands in for the item's own makes no item of it.
    return [
        i
        for i in items.values()
        if i["owner"] is not None or (i["due"] is not None and "due_with" not in i)
    ]


def _tracked_title(flow: Flow, question_id: str) -> str:
    question = flow.questions[question_id]
    tracked = question.milestone or question.doc
    return tracked.title if tracked else question.label
