"""Map a plan's answers to the cost model: its inputs, its estimate and the estimate's summary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flows.costs import (
    TCO_YEARS,
    CostInputs,
    Estimate,
    Range,
    estimate,
    format_money,
    format_months,
    format_range,
)
from flows.counting import counted
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
    """Summarise the estimate (see cost_totals), saying when the maintenance share is assumed."""
    fields = cost_totals(answers)
    if answers.get("maintenance_share") is None:
        fields += (Field("Maintenance", DEFAULT_MAINTENANCE),)
    return fields


def cost_totals(answers: Mapping[str, Any]) -> tuple[Field, ...]:
    """Total the estimate: one-time, yearly running, three-year cost, unit cost, payback.

    The unit cost and the payback say what they are based on; the payback is counted from
    go-live (when the benefit starts) and from the project's start (the build first).
    """
    inputs = cost_inputs(answers)[0]
    est = estimate(inputs)
    cur = est.currency
    fields = [
        Field("One-time cost", format_money(est.one_time, cur)),
        Field("Yearly running cost", format_range(est.yearly_running, cur)),
        Field("3-year cost of ownership", format_range(est.tco_3y, cur)),
    ]
    if est.cost_per_1000_predictions is not None:
        volume = counted(inputs.predictions_per_day, "prediction")
        basis = f"the 3-year cost over {TCO_YEARS} years of {volume} a day"
        shown = format_range(est.cost_per_1000_predictions, cur)
        fields.append(Field("Cost per 1,000 predictions", f"{shown} ({basis})"))
    fields.extend(_payback(inputs, est))
    return tuple(fields)


def _payback(inputs: CostInputs, est: Estimate) -> list[Field]:
    """Say when the one-time cost is repaid, from go-live and from the project's start."""
    if est.payback_months is None or inputs.benefit_per_year is None:
        return []
    cur = est.currency
    basis = (
        f"the one-time {format_money(est.one_time, cur)} repaid by the yearly benefit of"
        f" {format_money(inputs.benefit_per_year, cur)} less the running cost"
    )
    fields = [Field("Payback from go-live", f"{format_months(est.payback_months)} ({basis})")]
    build = inputs.build_months
    if build is not None and not math.isinf(est.payback_months.low):
        started = Range(est.payback_months.low + build, est.payback_months.high + build)
        months = counted(build, "month")
        shown = f"{format_months(started)} ({months} of build first)"
        fields.append(Field("Payback from project start", shown))
    return fields


def cost_breakdown(answers: Mapping[str, Any]) -> tuple[Field, ...]:
    """Break the estimate down: staff, experts, infrastructure, change management (one-time);
    maintenance, monitoring, data (a year). A line with no answer says it is not estimated."""
    inputs = cost_inputs(answers)[0]
    est = estimate(inputs)
    cur = est.currency

    def money(amount: float | None) -> str:
        return NOT_ESTIMATED if amount is None else format_money(amount, cur)

    staff = NOT_ESTIMATED
    if not {"team_size", "build_months", "monthly_cost_per_person"} & set(est.missing):
        people = counted(inputs.team_size, "person")
        months = counted(inputs.build_months, "month")
        rate = format_money(inputs.monthly_cost_per_person, cur)
        staff = f"{format_money(est.staff, cur)} ({people} × {months} × {rate})"
    change = NOT_ESTIMATED
    if inputs.integration is not None or inputs.training is not None:
        parts = f"integration {money(inputs.integration)}, training {money(inputs.training)}"
        change = f"{format_money(est.change_management, cur)} ({parts})"
    share = inputs.maintenance_share
    low, high = round(share.low * 100, 1), round(share.high * 100, 1)
    shown_share = f"{low:g}%" if low == high else f"{low:g}–{high:g}%"
    initial = format_money(est.initial_development, cur)
    maintenance = format_range(est.maintenance_per_year, cur)
    maintenance += f" ({shown_share} of the initial development, {initial}"
    assumed = answers.get("maintenance_share") is None
    maintenance += ": the usual range, assumed)" if assumed else ")"
    return (
        Field("Staff (one-time)", staff),
        Field("Domain experts (one-time)", money(inputs.domain_expert_cost)),
        Field("Infrastructure (one-time)", money(inputs.infrastructure)),
        Field("Change management (one-time)", change),
        Field("Maintenance (a year)", maintenance),
        Field("Monitoring (a year)", money(inputs.monitoring_per_year)),
        Field("External data (a year)", money(inputs.external_data_per_year)),
    )


# The answers that the breakdown shows in its lines (the section card leaves them out).
BROKEN_DOWN = (
    "team_size",
    "build_months",
    "monthly_cost_per_person",
    "domain_expert_cost",
    "infrastructure",
    "integration_cost",
    "training_cost",
    "maintenance_share",
    "monitoring_per_year",
    "external_data_per_year",
)
NOT_ESTIMATED = "not estimated yet"
# What the estimate assumes while the plan names no maintenance share of its own.
DEFAULT_MAINTENANCE = (
    "10–30% of the initial development a year (the usual range, assumed until you give your own"
    " share)"
)


def cost_labels(flow: Flow, names: tuple[str, ...]) -> list[str]:
    """Return the labels of the questions behind some of the cost model's input names."""
    by_input = {name: qid for qid, name in {**MONEY_INPUTS, **NUMBER_INPUTS}.items()}
    return [flow.questions[by_input[name]].label for name in names if name in by_input]
