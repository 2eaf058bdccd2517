"""Write a project's whole plan (canvas, costs, metrics, milestones) as JSON data or Markdown."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from flows.costs import Range
from flows.counting import counted
from flows.display import display, person_name
from flows.model import Flow, Section
from flows.plan_costs import cost_fields, plan_estimate
from flows.progress import progress
from flows.warnings import warnings

METRIC_IDS = (
    "outcome_metric",
    "outcome_target",
    "output_metric",
    "output_target",
    "baseline_kind",
    "output_baseline",
    "signoff",
)


def _range(r: Range | None) -> dict[str, float | None] | None:
    if r is None:
        return None
    return {
        k: (None if math.isinf(v) else round(v, 2)) for k, v in (("low", r.low), ("high", r.high))
    }


def plan_document(
    flow: Flow,
    *,
    project: Mapping[str, Any],
    answers: Mapping[str, Any],
    milestones: list[Mapping[str, Any]],
    docs: list[Mapping[str, Any]],
    history: Mapping[str, list[Mapping[str, Any]]] | None = None,
    open_questions: Sequence[Mapping[str, Any]] = (),
    assignments: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Assemble the plan as JSON-ready data: every question with its answer and its versions.

    Versions of questions the plan does not list (their condition no longer holds, or the flow
    no longer has them) go to `other_answers`, so that the document holds every answer given.
    `open_questions` (left for later) and `assignments` (sections owed) come as given, with
    their reminders' times, so that a restore goes on reminding where it stood.
    """
    history = history or {}
    sections = [_section_document(flow, s, answers, history) for s in flow.sections]
    listed = {q["id"] for s in sections for q in s["questions"]}
    return {
        "project": dict(project),
        "progress": list(progress(flow, answers)),
        "sections": sections,
        "costs": _costs_document(answers),
        "metrics": {key: answers.get(key) for key in METRIC_IDS},
        "milestones": [dict(m) for m in milestones],
        "documentation": [dict(d) for d in docs],
        "open_questions": [dict(q) for q in open_questions],
        "assignments": [dict(a) for a in assignments],
        "warnings": [text for _, text in warnings(flow, answers)],
        "other_answers": [
            {"id": question_id, "history": list(versions)}
            for question_id, versions in sorted(history.items())
            if question_id not in listed
        ],
    }


def _section_document(
    flow: Flow,
    section: Section,
    answers: Mapping[str, Any],
    history: Mapping[str, list[Mapping[str, Any]]],
) -> dict[str, Any]:
    """One section of the plan document: its progress and every question that applies."""
    questions = []
    for question in section.questions:
        if not question.applies(answers):
            continue
        answered = question.id in answers
        value = answers.get(question.id)
        questions.append(
            {
                "id": question.id,
                "label": question.label,
                "kind": question.kind,
                "prompt": question.prompt,
                "answered": answered and value is not None,
                "skipped": answered and value is None,
                "value": value,
                "display": display(flow, question, value, answers) if answered else None,
                "history": list(history.get(question.id, [])),
            }
        )
    done, total = progress(flow, answers, (section.id,))
    return {
        "id": section.id,
        "title": section.title,
        "progress": [done, total],
        "questions": questions,
    }


def _costs_document(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The cost estimate as figures, with what could not be estimated and the card's summary."""
    est = plan_estimate(answers)
    return {
        "currency": est.currency,
        "one_time": round(est.one_time, 2),
        "initial_development": round(est.initial_development, 2),
        "change_management": round(est.change_management, 2),
        "yearly_running": _range(est.yearly_running),
        "tco_3y": _range(est.tco_3y),
        "cost_per_1000_predictions": _range(est.cost_per_1000_predictions),
        "payback_months": _range(est.payback_months),
        "not_estimated": list(est.missing),
        "summary": {f.label: f.value for f in cost_fields(answers)},
    }


def to_markdown(document: Mapping[str, Any]) -> str:
    """Render the plan document as Markdown for a wiki or a pull request."""
    project = document["project"]
    done, total = document["progress"]
    lines = [f"# {project['name']}", ""]
    owner = person_name(project["owner"]) if project.get("owner") else "unknown"
    lines += [
        f"- Owner: {owner}",
        f"- Stage: {project.get('stage') or 'not set'}",
        f"- Progress: {done} of {counted(total, 'question')}",
        "",
    ]
    if document["warnings"]:
        lines += ["## Warnings", ""] + [f"- ⚠ {w}" for w in document["warnings"]] + [""]
    for section in document["sections"]:
        lines += [f"## {section['title']}", ""]
        for q in section["questions"]:
            shown = q["display"] if q["display"] is not None else "_not answered yet_"
            if q["skipped"]:
                shown = "_skipped_"
            lines.append(f"- **{q['label']}**: {shown}")
        lines.append("")
    lines += (
        ["## Cost estimate", ""]
        + [f"- **{k}**: {v}" for k, v in document["costs"]["summary"].items()]
        + [""]
    )
    owed = [
        f"- {q['question']}: {person_name(q['owner'])}, revisit by {q['revisit_on']}"
        for q in document.get("open_questions", ())
    ] + [
        f"- {a['section']}: owed by {person_name(a['assignee'])} since {a['assigned_at'][:10]}"
        for a in document.get("assignments", ())
    ]
    if owed:
        lines += ["## Open questions and sections owed", "", *owed, ""]
    for title, key in (("Milestones", "milestones"), ("Documentation", "documentation")):
        items = document[key]
        lines += [f"## {title}", ""]
        if not items:
            lines.append("_none yet_")
        for item in items:
            who = person_name(item["owner"]) if item.get("owner") else "no owner"
            due = item.get("due") or "no date"
            link = f" — {item['link']}" if item.get("link") else ""
            lines.append(
                f"- [{'x' if item['status'] == 'done' else ' '}] {item['title']}: {who}, due {due}{link}"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
