"""Build the plan's summary cards, cost estimate and warnings from the answers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from flows.costs import (
    CostInputs,
    Estimate,
    Range,
    estimate,
    format_money,
    format_months,
    format_range,
)
from flows.model import Flow, Question, Section
from flows.parse import format_day
from flows.replies import Card, Field

if TYPE_CHECKING:
    from flows.engine import State

MONEY_INPUTS = {
    "monthly_cost_per_person": "monthly_cost_per_person",
    "domain_expert_cost": "domain_expert_cost",
    "infrastructure": "infrastructure",
    "integration_cost": "integration",
    "training_cost": "training",
    "monitoring_per_year": "monitoring_per_year",
    "external_data_per_year": "external_data_per_year",
    "benefit_per_year": "benefit_per_year",
}
NUMBER_INPUTS = {
    "team_size": "team_size",
    "build_months": "build_months",
    "predictions_per_day": "predictions_per_day",
}
UNCLEAR_WORKFLOW = ("Partly clear", "Unclear")
REAL_BASELINES = ("Human level", "Heuristic", "Old system", "Literature / open source")


def currency_of(answers: Mapping[str, Any]) -> str:
    """Return the plan's currency: the one chosen in the cost section, else USD."""
    return answers.get("currency") or "USD"


def display(flow: Flow, question: Question, value: Any, answers: Mapping[str, Any]) -> str:
    """Write an answer value as a person reads it."""
    if value is None:
        return "skipped"
    kind = question.kind
    if kind == "money":
        return format_money(value["amount"], value.get("currency") or currency_of(answers))
    if kind == "percent":
        if isinstance(value, list):
            low, high = value
            return f"{low:g}%" if low == high else f"{low:g}–{high:g}%"
        return f"{value:g}%"
    if kind == "number":
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")
    if kind == "yesno":
        return "yes" if value else "no"
    if kind == "date":
        return format_day(date.fromisoformat(value))
    if kind == "user":
        return person_name(value)
    return str(value)


def person_name(person: Mapping[str, Any]) -> str:
    """Name a person from a parsed `user` answer, without platform markup."""
    if person.get("name"):
        return "@" + person["name"]
    if person.get("email"):
        return person["email"]
    return "@" + person.get("id", "someone")


def _field(flow: Flow, question: Question, answers: Mapping[str, Any]) -> Field:
    value = answers.get(question.id)
    person = value if question.kind == "user" and value else None
    return Field(question.label, display(flow, question, value, answers), person=person)


def cost_inputs(answers: Mapping[str, Any]) -> tuple[CostInputs, set[str]]:
    """Map the cost section's answers to the cost model's inputs, with the currencies seen."""
    currency = currency_of(answers)
    seen: set[str] = set()
    kwargs: dict[str, Any] = {"currency": currency}
    benefit_known = answers.get("benefit_known") is True
    for question_id, name in MONEY_INPUTS.items():
        value = answers.get(question_id)
        if value is not None and (name != "benefit_per_year" or benefit_known):
            kwargs[name] = value["amount"]
            seen.add(value.get("currency") or currency)
    if seen:
        seen.add(currency)  # the totals are shown in the plan's currency
    for question_id, name in NUMBER_INPUTS.items():
        if answers.get(question_id) is not None:
            kwargs[name] = answers[question_id]
    share = answers.get("maintenance_share")
    if share is not None:
        low, high = share if isinstance(share, list) else (share, share)
        kwargs["maintenance_share"] = Range(low / 100, high / 100)
    return CostInputs(**kwargs), seen


def plan_estimate(answers: Mapping[str, Any]) -> Estimate:
    """Estimate the plan's costs from its answers."""
    return estimate(cost_inputs(answers)[0])


def cost_fields(answers: Mapping[str, Any]) -> tuple[Field, ...]:
    """Summarise the estimate: one-time, yearly running, three-year cost, unit cost, payback."""
    est = plan_estimate(answers)
    cur = est.currency
    fields = [
        Field("One-time cost", format_money(est.one_time, cur)),
        Field("Yearly running cost", format_range(est.yearly_running, cur)),
        Field("3-year cost of ownership", format_range(est.tco_3y, cur)),
    ]
    if est.cost_per_1000_predictions is not None:
        fields.append(
            Field("Cost per 1,000 predictions", format_range(est.cost_per_1000_predictions, cur))
        )
    if est.payback_months is not None:
        fields.append(Field("Payback time", format_months(est.payback_months)))
    return tuple(fields)


def warnings(flow: Flow, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """List what a lead should know about the plan, each with the section it comes from."""
    found: list[tuple[str, str]] = []
    if answers.get("workflow_clarity") in UNCLEAR_WORKFLOW:
        found.append(
            (
                "intake",
                "Workflow integration unclear: go back and redesign how it fits the process.",
            )
        )
    if answers.get("heuristic_enough") is True:
        found.append(("intake", "A heuristic may do the job: weigh it against ML before building."))
    if (
        answers.get("personal_data") is True
        and answers.get("regulation") is None
        and "regulation" in answers
    ):
        found.append(("data", "Personal data with no regulation named."))
    if "costs" in _visited_sections(flow, answers):
        inputs, currencies = cost_inputs(answers)
        est = estimate(inputs)
        if len(currencies) > 1:
            found.append(
                (
                    "costs",
                    f"Costs mix currencies ({', '.join(sorted(currencies))}): totals are not converted.",
                )
            )
        if est.running_exceeds_benefit:
            found.append(("costs", "Running cost exceeds expected benefit."))
        if est.missing:
            found.append(
                (
                    "costs",
                    "Not estimated (counted as 0): "
                    + ", ".join(_cost_labels(flow, est.missing))
                    + ".",
                )
            )
    if "baseline_kind" in answers and (
        answers.get("baseline_kind") not in REAL_BASELINES or answers.get("output_baseline") is None
    ):
        found.append(("metrics", "No baseline named: the model has nothing to beat."))
    if "signoff" in answers and answers.get("signoff") is None:
        found.append(("metrics", "Nobody named to sign off on success."))
    if "doc_model_card_owner" in answers and answers.get("doc_model_card_owner") is None:
        found.append(("milestones", "No owner for the model card."))
    return found


def _cost_labels(flow: Flow, missing: tuple[str, ...]) -> list[str]:
    by_input = {name: qid for qid, name in {**MONEY_INPUTS, **NUMBER_INPUTS}.items()}
    return [flow.questions[by_input[name]].label for name in missing if name in by_input]


def _visited_sections(flow: Flow, answers: Mapping[str, Any]) -> set[str]:
    return {flow.section_of[qid].id for qid in answers if qid in flow.section_of}


def progress(
    flow: Flow, answers: Mapping[str, Any], sections: tuple[str, ...] | None = None
) -> tuple[int, int]:
    """Count the applicable questions visited and in all, over some sections or the whole plan."""
    ids = sections or tuple(s.id for s in flow.sections)
    questions = [q for q in flow.walk(ids) if q.applies(answers)]
    return sum(q.id in answers for q in questions), len(questions)


def section_card(flow: Flow, section: Section, answers: Mapping[str, Any]) -> Card:
    """Summarise one finished section: every applicable answer, and for costs the estimate."""
    fields = [_field(flow, q, answers) for q in section.questions if q.applies(answers)]
    if section.id == "costs":
        fields.extend(cost_fields(answers))
    return Card(
        title=f"Section {section.order} of {len(flow.sections)} done: {section.title}",
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
            fields.append(_field(flow, flow.questions[question_id], answers))
    if "costs" in _visited_sections(flow, answers):
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
        fields.append(_field(flow, flow.questions["signoff"], answers))
    for item in milestones(flow, answers, kind="milestone"):
        due = format_day(date.fromisoformat(item["due"])) if item["due"] else "no date"
        owner = person_name(item["owner"]) if item["owner"] else "no owner"
        fields.append(Field(item["title"], f"{owner}, due {due}", person=item["owner"]))
    return Card(
        title=f"Plan: {state.name}",
        fields=tuple(fields),
        progress=progress(flow, answers),
        warnings=tuple(text for _, text in warnings(flow, answers)),
    )


def status_card(flow: Flow, state: State) -> Card:
    """Show how far each section is and which question is open."""
    fields = []
    for section in flow.sections:
        done, total = progress(flow, state.answers, (section.id,))
        skipped = sum(
            1 for q in section.questions if q.id in state.answers and state.answers[q.id] is None
        )
        note = f", {skipped} skipped" if skipped else ""
        fields.append(Field(f"{section.order}. {section.title}", f"{done} of {total}{note}"))
    if state.current is not None:
        question = flow.questions[state.current]
        fields.append(Field("Open question", question.label))
    return Card(
        title=f"Status: {state.name}",
        fields=tuple(fields),
        progress=progress(flow, state.answers),
        warnings=tuple(text for _, text in warnings(flow, state.answers)),
    )


def milestones(flow: Flow, answers: Mapping[str, Any], *, kind: str) -> list[dict[str, Any]]:
    """Collect the milestones or documentation items the answers declare, with owner and due date."""
    items: dict[str, dict[str, Any]] = {}
    for question in flow.questions.values():
        tracked = getattr(question, kind)
        if tracked is None:
            continue
        item = items.setdefault(
            tracked.key, {"key": tracked.key, "title": tracked.title, "owner": None, "due": None}
        )
        if question.applies(answers):
            item[tracked.field] = answers.get(question.id)
    return [i for i in items.values() if i["owner"] is not None or i["due"] is not None]
