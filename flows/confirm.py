"""Say how a saved answer was understood, and what is worth asking about it once.

Worth asking: a date out of the order its section declares (the baseline before the data
pipelines), an amount in another currency than the plan's (amounts are never converted), a
target or baseline that names no figure or no time frame (a question's `follow_up`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flows.costs import format_money
from flows.dates import format_day
from flows.measurable import lacking, missing
from flows.model import Flow, Question
from flows.plan_costs import currency_of


@dataclass(frozen=True)
class Doubt:
    """What is odd about an answer (said after an edit too), and the question that follows it."""

    finding: str
    ask: str

    @property
    def text(self) -> str:
        """Say the finding and ask about it, as a follow-up does."""
        return f"{self.finding} {self.ask}"


def confirmation(question: Question, value: Any) -> str | None:
    """Say how an answer was understood where a reader could doubt it: a day, a range."""
    if value is None:
        return None
    if question.kind == "date":
        return f"Saved: {format_day(date.fromisoformat(value))}."
    if question.kind == "percent" and isinstance(value, list) and value[0] != value[1]:
        return f"Saved, kept as a range: {value[0]:g}–{value[1]:g}%."
    return None


def doubt(flow: Flow, question: Question, value: Any, answers: Mapping[str, Any]) -> Doubt | None:
    """Return what to ask about a new answer, or None.

    Asked once: when the answer it replaces raised the same doubt, the person has been asked
    already (a second vague target, a second date out of order), and the new one is taken as is.
    """
    found = _doubt(flow, question, value, answers)
    if found is None:
        return None
    prior = answers.get(question.id)
    if prior is not None and _doubt(flow, question, prior, answers) is not None:
        return None
    return found


def _doubt(flow: Flow, question: Question, value: Any, answers: Mapping[str, Any]) -> Doubt | None:
    if value is None:
        return None
    if question.kind == "money":
        return _other_currency(value, answers)
    if question.kind == "date":
        return _out_of_order(flow, question, value, answers)
    if question.follow_up is not None and isinstance(value, str):
        lacked = missing(value, question.follow_up.needs)
        if lacked:
            return Doubt(f"That names {lacking(lacked)}.", question.follow_up.ask)
    return None


def _other_currency(value: Mapping[str, Any], answers: Mapping[str, Any]) -> Doubt | None:
    currency, plan = value.get("currency"), currency_of(answers)
    if currency is None or currency == plan:
        return None
    shown = format_money(value["amount"], currency)
    return Doubt(
        f"That amount is in {currency}, but the plan's currency is {plan}, and amounts are"
        " not converted: the totals would mix currencies.",
        f"Is {currency} right? `keep` keeps {shown}, or type the amount in {plan}.",
    )


def _out_of_order(
    flow: Flow, question: Question, value: str, answers: Mapping[str, Any]
) -> Doubt | None:
    order = flow.date_order(question.id)
    if not order:
        return None
    day = date.fromisoformat(value)
    position = order.index(question.id)
    # The nearest neighbour first: "before the baseline" says more than "before the review".
    earlier = [(other, "before") for other in reversed(order[:position])]
    later = [(other, "after") for other in order[position + 1 :]]
    for other_id, relation in (*earlier, *later):
        other = flow.questions[other_id]
        if answers.get(other_id) is None or not other.applies(answers):
            continue
        other_day = date.fromisoformat(answers[other_id])
        if (other_day > day) if relation == "before" else (other_day < day):
            return Doubt(
                f"{_name(question)} ({format_day(day)}) is {relation} {_name(other)}"
                f" ({format_day(other_day)}).",
                "Is that right? `keep` keeps the date, or type another.",
            )
    return None


def _name(question: Question) -> str:
    """Name a date by what it is the date of: its milestone, else its question."""
    tracked = question.milestone or question.doc
    return tracked.title if tracked else question.label
