"""Map a plan's answers to the cost model: its inputs, its estimate and the estimate's summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.costs import (
    CostInputs,
    Estimate,
    Range,
    estimate,
    format_money,
    format_months,
    format_range,
)
from flows.model import Flow
from flows.replies import Field

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


def currency_of(answers: Mapping[str, Any]) -> str:
    """Return the plan's currency: the one chosen in the cost section, else USD."""
    return answers.get("currency") or "USD"


def cost_inputs(answers: Mapping[str, Any]) -> tuple[CostInputs, set[str]]:
    """Map the cost section's answers to the cost model's inputs, with the currencies seen."""
    currency = currency_of(answers)
    seen: set[str] = set()
    kwargs: dict[str, Any] = {"currency": currency}
    # Plans made before the benefit was one question kept a "no" to `benefit_known` beside it.
    benefit_known = answers.get("benefit_known") is not False
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
    if answers.get("maintenance_share") is None:
        fields.append(Field("Maintenance", DEFAULT_MAINTENANCE))
    return tuple(fields)


# What the estimate assumes while the plan names no maintenance share of its own.
DEFAULT_MAINTENANCE = (
    "10–30% of the initial development a year (the usual range, assumed: no share of your own"
    " given)"
)


def cost_labels(flow: Flow, names: tuple[str, ...]) -> list[str]:
    """Return the labels of the questions behind some of the cost model's input names."""
    by_input = {name: qid for qid, name in {**MONEY_INPUTS, **NUMBER_INPUTS}.items()}
    return [flow.questions[by_input[name]].label for name in names if name in by_input]
