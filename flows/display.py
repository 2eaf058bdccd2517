"""Write answer values as a person reads them, without any platform's markup."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.costs import format_money
from flows.dates import format_day
from flows.model import Flow, Question
from flows.plan_costs import currency_of
from flows.replies import Field


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


def answer_field(flow: Flow, question: Question, answers: Mapping[str, Any]) -> Field:
    """Show one answer as a labelled field, marking the person when it names one."""
    value = answers.get(question.id)
    person = value if question.kind == "user" and value else None
    return Field(question.label, display(flow, question, value, answers), person=person)
