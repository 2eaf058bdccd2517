"""List what a lead should know about a plan: the sections' declared warnings, then computed ones.

A warning that is a condition on answers is declared beside its section's questions (the
`warnings:` of a section file). A warning that needs computation is a check in CHECKS, run
once a question of its section is visited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flows.costs import estimate
from flows.model import Flow
from flows.plan_costs import cost_inputs, cost_labels
from flows.progress import visited_sections

Check = Callable[[Flow, Mapping[str, Any]], str | None]


def mixed_currencies(flow: Flow, answers: Mapping[str, Any]) -> str | None:
    """Warn that the cost answers name more than one currency, which the totals do not convert."""
    currencies = cost_inputs(answers)[1]
    if len(currencies) > 1:
        return f"Costs mix currencies ({', '.join(sorted(currencies))}): totals are not converted."
    return None


def running_cost_above_benefit(flow: Flow, answers: Mapping[str, Any]) -> str | None:
    """Warn that the yearly running cost exceeds the expected yearly benefit."""
    if estimate(cost_inputs(answers)[0]).running_exceeds_benefit:
        return "Running cost exceeds expected benefit."
    return None


def costs_not_estimated(flow: Flow, answers: Mapping[str, Any]) -> str | None:
    """Warn of the cost inputs left out of the estimate (counted as 0)."""
    missing = estimate(cost_inputs(answers)[0]).missing
    if missing:
        return "Not estimated (counted as 0): " + ", ".join(cost_labels(flow, missing)) + "."
    return None


# Each section's computed checks, in the order their warnings are shown after its declared ones.
CHECKS: dict[str, tuple[Check, ...]] = {
    "costs": (mixed_currencies, running_cost_above_benefit, costs_not_estimated),
}


def warnings(flow: Flow, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """List what a lead should know about the plan, each with the section it comes from."""
    visited = visited_sections(flow, answers)
    found: list[tuple[str, str]] = []
    for section in flow.sections:
        found.extend((section.id, w.text) for w in section.warnings if w.when.holds(answers))
        if section.id in visited:
            for check in CHECKS.get(section.id, ()):
                text = check(flow, answers)
                if text is not None:
                    found.append((section.id, text))
    return found
