"""The eight-project portfolio of issue 13, as data: the flow tests and the platform tests build it.

One fully planned, one intake stalled for three weeks, one with four overdue items, one with no
model-card owner, one whose running cost exceeds its benefit, two early, one finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flows.digest import ProjectSnapshot, TrackedItem
from flows.model import Flow
from tests.flows.examples import WORKED_COSTS, usd

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, nine in the morning (UTC)
TODAY = NOW.date()

ANN = {"id": "U0ANN", "name": "ann"}
BO = {"id": "U0BO", "name": "bo"}
CHEN = {"id": "U0CHEN", "name": "chen"}
DEV = {"id": "U0DEV", "name": "dev"}
EVA = {"id": "U0EVA", "name": "eva"}
FINN = {"id": "U0FINN", "name": "finn"}


@dataclass(frozen=True)
class Item:
    """A tracked item: kind, key, title, owner, due (days from today), done or not."""

    kind: str
    key: str
    title: str
    owner: dict | None
    due_in: int | None
    done: bool = False


@dataclass(frozen=True)
class Planned:
    """One project of the portfolio."""

    name: str
    owner: dict
    answers: dict[str, Any]
    items: tuple[Item, ...] = ()
    idle_days: int = 1
    intake_done: bool = False
    current_question: str | None = None
    tags: tuple[str, ...] = field(default=())


def whole_plan(flow: Flow, **given: Any) -> dict[str, Any]:
    """Answer every question that applies: the given answers, the rest skipped (None)."""
    answers = dict(given)
    changed = True
    while changed:  # a skipped answer may make later questions apply
        changed = False
        for question in flow.walk(tuple(s.id for s in flow.sections)):
            if question.id not in answers and question.applies(answers):
                answers[question.id] = None
                changed = True
    return answers


def portfolio(flow: Flow) -> list[Planned]:
    """Return the eight projects, in no particular order."""
    later = {"stage": "Growth", "doc_model_card_owner": ANN}
    losing = {**WORKED_COSTS, "benefit_per_year": usd(40_000)}  # running $44.6k–$97.8k a year
    return [
        Planned(
            "Demand forecast",
            ANN,
            whole_plan(flow, **later, **WORKED_COSTS),
            items=(
                Item("milestone", "deployment", "Model deployed", ANN, 40),
                Item("doc", "model_card", "Model card", ANN, 30),
            ),
            intake_done=True,
        ),
        Planned(
            "Churn model",
            BO,
            {"problem": "Customers leave", "target_users": "Store managers", "stage": "MVP"},
            idle_days=21,
            current_question="data_quality",
        ),
        Planned(
            "Fraud alerts",
            CHEN,
            whole_plan(flow, **later),
            items=(
                Item("milestone", "deployment", "Deploy", CHEN, -3),
                Item("milestone", "baseline", "Baseline", DEV, -2),
                Item("milestone", "data_pipeline", "Data pipelines", DEV, -1),
                Item("doc", "runbook", "Runbook", CHEN, -1),
                Item("doc", "model_card", "Model card", ANN, 20),
            ),
            intake_done=True,
        ),
        Planned(
            "Support triage",
            DEV,
            whole_plan(flow, stage="Growth", doc_model_card_owner=None),
            items=(
                Item("doc", "model_card", "Model card", None, 25),
                Item("milestone", "deployment", "Model deployed", DEV, 45),
            ),
            intake_done=True,
        ),
        Planned(
            "Pricing engine",
            EVA,
            whole_plan(flow, **later, **losing),
            items=(Item("milestone", "deployment", "Model deployed", EVA, 60),),
            intake_done=True,
            tags=("finance",),
        ),
        Planned("Doc search", FINN, {"problem": "Nobody finds the manuals", "stage": "MVP"}),
        Planned("Lead scoring", FINN, {"problem": "Sales calls the wrong leads"}, idle_days=2),
        Planned(
            "Invoice OCR",
            ANN,
            whole_plan(flow, **later, **WORKED_COSTS),
            items=(
                Item("milestone", "deployment", "Model deployed", ANN, -60, done=True),
                Item("doc", "model_card", "Model card", ANN, -55, done=True),
            ),
            idle_days=53,
            intake_done=True,
            tags=("finance",),
        ),
    ]


def snapshots(flow: Flow, *, today: date = TODAY, now: datetime = NOW) -> list[ProjectSnapshot]:
    """Build the portfolio as the digest builder reads it (ids from 1, in portfolio order)."""
    built = []
    for n, p in enumerate(portfolio(flow), 1):
        items = [
            TrackedItem(
                i.title,
                i.owner,
                None if i.due_in is None else today + timedelta(days=i.due_in),
                "done" if i.done else "open",
                key=i.key,
                id=10 * n + k,
            )
            for k, i in enumerate(p.items)
        ]
        built.append(
            ProjectSnapshot(
                id=n,
                name=p.name,
                stage=p.answers.get("stage"),
                answers=p.answers,
                milestones=tuple(
                    i for i, src in zip(items, p.items, strict=True) if src.kind == "milestone"
                ),
                docs=tuple(i for i, src in zip(items, p.items, strict=True) if src.kind == "doc"),
                last_activity=now - timedelta(days=p.idle_days),
                owner=p.owner,
                current_question=p.current_question,
                intake_done=p.intake_done,
                tags=p.tags,
                link=f"https://example.slack.com/archives/C1/p{n}",
            )
        )
    return built
