"""The weekly digest, from hand-built project snapshots: order, fields, portfolio and size."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from flows.digest import (
    LINE_MAX,
    LINES_PER_FIELD,
    ProjectSnapshot,
    TrackedItem,
    build_digest,
    portfolio,
    urgency,
)
from flows.model import default_flow
from flows.progress import progress
from flows.replies import CommandRef, spell_card
from tests.flows.examples import WORKED_COSTS, usd

FLOW = default_flow()
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
TODAY = NOW.date()
ANN = {"id": "U1", "name": "ann"}
BO = {"id": "U2", "name": "bo"}
POINTER = "`list`, `status <project>`, or `mlplan export <project>`"


def neutral(ref: CommandRef) -> str:
    """Write a command reference with no platform's prefix, as the tests read it."""
    return "`" + " ".join((ref.verb, *ref.args)) + "`"


# The worked example of the cost model (figures derived in test_costs.py): one-time $286k,
# yearly running $44.6k–$97.8k, three-year cost $420k–$579k.
WORKED = {
    "stage": "MVP",
    **WORKED_COSTS,
}


def project(
    name: str,
    *,
    id: int = 1,
    answers: dict | None = None,
    milestones: tuple[TrackedItem, ...] = (),
    docs: tuple[TrackedItem, ...] = (),
    idle: timedelta = timedelta(days=1),
    changes: tuple[str, ...] = (),
    stage: str | None = "MVP",
) -> ProjectSnapshot:
    """Return a snapshot of a project last touched `idle` before NOW."""
    return ProjectSnapshot(
        id=id,
        name=name,
        stage=stage,
        answers={"stage": "MVP"} if answers is None else answers,
        milestones=milestones,
        docs=docs,
        last_activity=NOW - idle,
        changes_since_last=changes,
    )


def item(
    title: str,
    due: date | None,
    *,
    owner: dict | None = ANN,
    status: str = "open",
    link: str | None = None,
) -> TrackedItem:
    """Return a tracked item, open and owned by ann unless told otherwise."""
    return TrackedItem(title=title, owner=owner, due=due, status=status, link=link)


def digest(projects, **kw):
    """Build the digest at NOW, its commands written out as `neutral` writes them."""
    result = build_digest(FLOW, projects, today=TODAY, now=NOW, **kw)
    return replace(result, cards=tuple(spell_card(card, neutral) for card in result.cards))


def project_cards(result):
    """Return the cards after the summary and the portfolio."""
    return result.cards[2:]


def fields(card) -> dict[str, str]:
    """Map a card's field labels to their values."""
    return {f.label: f.value for f in card.fields}


def card_of(name: str, result):
    """Return the project card titled `name`."""
    (card,) = [c for c in project_cards(result) if c.title == name]
    return card


# Urgency


def test_overdue_comes_before_due_soon_which_comes_before_inactive():
    inactive = project("Alpha idle", id=1, idle=timedelta(days=20))
    due_soon = project("Beta due", id=2, milestones=(item("Baseline", TODAY + timedelta(5)),))
    overdue = project("Gamma late", id=3, milestones=(item("Baseline", TODAY - timedelta(2)),))
    quiet = project("Aardvark", id=4)

    result = digest([quiet, inactive, due_soon, overdue])

    assert [c.title for c in project_cards(result)] == [
        "Gamma late",
        "Beta due",
        "Alpha idle",
        "Aardvark",
    ]


def test_more_overdue_items_then_more_days_late_are_more_urgent():
    one_late = project("A one", id=1, milestones=(item("M", TODAY - timedelta(30)),))
    two_late = project(
        "B two",
        id=2,
        milestones=(item("M", TODAY - timedelta(1)), item("N", TODAY - timedelta(1))),
    )
    longer = project("C longer", id=3, milestones=(item("M", TODAY - timedelta(40)),))

    ranked = sorted([one_late, two_late, longer], key=lambda p: urgency(FLOW, p, today=TODAY))

    assert [p.name for p in ranked] == ["B two", "C longer", "A one"]


def test_incomplete_plan_with_warnings_comes_before_the_rest_and_ties_go_by_name():
    warned = project("Zulu", id=1, answers={"stage": "MVP", "workflow_clarity": "Unclear"})
    plain_b = project("bravo", id=2)
    plain_a = project("Alpha", id=3)

    ranked = sorted([plain_b, warned, plain_a], key=lambda p: urgency(FLOW, p, today=TODAY))

    assert [p.name for p in ranked] == ["Zulu", "Alpha", "bravo"]


def test_done_items_are_neither_overdue_nor_due():
    done = project(
        "Done",
        milestones=(
            item("Old", TODAY - timedelta(3), status="done"),
            item("Soon", TODAY + timedelta(3), status="done"),
        ),
    )

    card = project_cards(digest([done]))[0]

    assert "Overdue" not in fields(card)
    assert "Due in 14 days" not in fields(card)
    assert urgency(FLOW, done, today=TODAY)[0] == 4


# A project's card


def test_due_and_overdue_lines_name_owner_day_and_days_late():
    churn = project(
        "Churn",
        milestones=(
            item("Model deployed", date(2026, 12, 4), owner=BO),
            item("Baseline model trained", date(2026, 11, 20)),
            item("Data pipelines built", date(2026, 11, 22), owner=None),
            item("Later", TODAY + timedelta(15)),  # past the 14-day window
        ),
        docs=(item("Runbook", TODAY + timedelta(14), link="https://wiki/runbook"),),
    )

    values = fields(card_of("Churn", digest([churn])))

    assert values["Due in 14 days"] == (
        "Model deployed (@bo, Fri 4 Dec)\nRunbook (@ann, Mon 7 Dec)"
    )
    assert values["Overdue"] == (
        "Baseline model trained (@ann, Fri 20 Nov, 3 days late)\n"
        "Data pipelines built (no owner, Sun 22 Nov, 1 day late)"
    )


def test_an_item_due_today_is_due_not_overdue():
    today = project("Today", milestones=(item("Review", TODAY),))

    values = fields(card_of("Today", digest([today])))

    assert values["Due in 14 days"] == "Review (@ann, Mon 23 Nov)"
    assert "Overdue" not in values


def test_an_item_from_another_year_shows_its_year():
    old = project("Old", milestones=(item("Baseline", date(2025, 12, 30)),))

    values = fields(card_of("Old", digest([old])))

    assert values["Overdue"] == "Baseline (@ann, Tue 30 Dec 2025, 328 days late)"


def test_open_docs_without_a_link_are_listed_as_missing():
    docs = (
        item("Model card", None, owner=BO),
        item("Runbook", None, owner=None),
        item("API documentation", None, link="https://wiki/api"),
        item("Data lineage", None, status="done"),
    )

    values = fields(card_of("Docs", digest([project("Docs", docs=docs)])))

    assert values["Documentation missing"] == "Model card (@bo), Runbook (no owner)"


def test_no_missing_docs_field_when_every_doc_has_a_link():
    docs = (item("Model card", None, link="https://wiki/card"),)

    values = fields(card_of("Docs", digest([project("Docs", docs=docs)])))

    assert "Documentation missing" not in values


@pytest.mark.parametrize(
    ("idle", "warned"),
    [
        (timedelta(days=14), True),
        (timedelta(days=20), True),
        (timedelta(days=13), False),
        (timedelta(days=13, hours=23), False),
    ],
)
def test_inactivity_warns_from_14_days(idle, warned):
    card = card_of("Idle", digest([project("Idle", idle=idle)]))

    expected = f"No activity for {idle.days} days."
    assert (expected in card.warnings) is warned
    assert not any(w.startswith("No activity") for w in card.warnings if w != expected)


def test_inactivity_warning_comes_with_the_plans_own_warnings():
    answers = {"stage": "MVP", "workflow_clarity": "Unclear"}
    card = card_of("Idle", digest([project("Idle", answers=answers, idle=timedelta(days=30))]))

    assert card.warnings == (
        "No activity for 30 days.",
        "Workflow integration unclear: go back and redesign how it fits the process.",
    )


def test_changes_since_last_digest_are_listed_or_nothing():
    changed = project("Changed", id=1, changes=("3 answers", "stage: MVP → Growth"))
    still = project("Still", id=2)

    result = digest([changed, still])

    assert fields(card_of("Changed", result))["Changed since last digest"] == (
        "3 answers; stage: MVP → Growth"
    )
    assert fields(card_of("Still", result))["Changed since last digest"] == "nothing"


def test_the_cost_line_shows_one_time_and_yearly_costs():
    result = digest([project("Costed", id=1, answers=WORKED), project("Bare", id=2)])

    assert fields(card_of("Costed", result))["Costs"] == "one-time $286k · yearly $44.6k–$97.8k"
    assert fields(card_of("Bare", result))["Costs"] == "not estimated yet"


def test_the_plan_field_counts_questions_and_lists_unfinished_sections():
    card = card_of("Costed", digest([project("Costed", answers=WORKED)]))
    values = fields(card)

    assert values["Plan"].startswith(f"{card.progress[0]} of {card.progress[1]} questions; ")
    assert "Costs (back of the envelope) 7/7" not in values["Plan"]
    assert "Costs in detail" not in values["Plan"]
    assert "The problem and its predictions 0/7" in values["Plan"]
    assert "Milestones and documentation 0/10" in values["Plan"]


def test_outcome_and_output_targets_are_shown_only_when_given():
    answers = {
        "stage": "Growth",
        "outcome_metric": "Churn rate",
        "outcome_target": "below 5% by Q3",
        "output_metric": None,
    }
    values = fields(card_of("Metrics", digest([project("Metrics", answers=answers, stage=None)])))

    assert values["Stage"] == "Growth"
    assert values["Outcome target"] == "Churn rate → below 5% by Q3"
    assert "Output target" not in values


# Portfolio


def costed(team: int, months: int, monthly: int, benefit: int | None) -> dict:
    """Return cost answers with staff only, and a yearly benefit when given."""
    answers = {
        "currency": "USD",
        "team_size": team,
        "build_months": months,
        "monthly_cost_per_person": usd(monthly),
        "benefit_known": benefit is not None,
    }
    if benefit is not None:
        answers["benefit_per_year"] = usd(benefit)
    return answers


def test_portfolio_ranks_by_gain_over_cost_then_cheapest_then_not_estimated():
    projects = [
        project("Untouched", id=1, answers={"stage": "MVP"}),
        project("Dear, no benefit", id=2, answers={**WORKED, "benefit_known": False}),
        project("Worked", id=3, answers=WORKED),
        project("Only currency", id=4, answers={"currency": "EUR"}),
        project("Cheap, no benefit", id=5, answers=costed(1, 2, 10_000, None)),
        project("Losing", id=6, answers={**WORKED, "benefit_per_year": usd(50_000)}),
        project("Winner", id=7, answers=costed(1, 5, 10_000, 100_000)),
    ]

    ranked = [(p.name, reason) for p, reason in portfolio(FLOW, projects)]

    assert ranked == [
        ("Winner", "gain/cost 3.8: $300k benefit over 3 years for $65k–$95k"),
        ("Worked", "gain/cost 1.2: $600k benefit over 3 years for $420k–$579k"),
        (
            "Losing",
            "running cost exceeds expected benefit; "
            "gain/cost 0.3: $150k benefit over 3 years for $420k–$579k",
        ),
        ("Cheap, no benefit", "no benefit estimate; 3-year cost $26k–$38k"),
        ("Dear, no benefit", "no benefit estimate; 3-year cost $420k–$579k"),
        ("Only currency", "costs not estimated yet"),
        ("Untouched", "costs not estimated yet"),
    ]


def test_the_portfolio_card_shows_the_ranking_with_reasons():
    projects = [
        project("Dear", id=1, answers={**WORKED, "benefit_known": False}),
        project("Worked", id=2, answers=WORKED),
    ]

    card = digest(projects).cards[1]

    assert [(f.label, f.value) for f in card.fields] == [
        ("#1 Worked", "gain/cost 1.2: $600k benefit over 3 years for $420k–$579k"),
        ("#2 Dear", "no benefit estimate; 3-year cost $420k–$579k"),
    ]
    assert "more" not in card.footer


# Size: 3 projects and 300


def many(count: int) -> list[ProjectSnapshot]:
    """Generate projects of every kind, some with very long names and change lists."""
    projects = []
    for n in range(count):
        kind = n % 5
        name = f"Project {n:03d}" + (" with a very long name" * 10 if n % 7 == 0 else "")
        milestones = ()
        if kind == 0:
            milestones = (item("Baseline", TODAY - timedelta(days=n % 9 + 1)),)
        elif kind == 1:
            milestones = (item("Deploy", TODAY + timedelta(days=n % 14)),)
        answers = costed(1 + n % 4, 3, 10_000, 50_000 * (n % 3) or None) if kind < 3 else {}
        projects.append(
            project(
                name,
                id=n,
                answers=answers,
                milestones=milestones,
                docs=tuple(item(f"Doc {d} " * 20, None) for d in range(20)),
                idle=timedelta(days=30 if kind == 2 else 1),
                changes=tuple(f"answer {c} changed" for c in range(200)),
                stage=("MVP", "Growth", "Maturity", None)[n % 4],
            )
        )
    return projects


def test_300_projects_give_ten_cards_and_a_capped_summary():
    result = digest(many(300))

    overview, portfolio_card, *cards = result.cards
    assert len(cards) == 10
    assert result.hidden == 290
    assert result.title == "Weekly ML digest: 300 projects (week of 23 Nov 2026)"
    listed = [f for f in overview.fields if f.label.startswith("More projects")]
    lines = "\n".join(f.value for f in listed).split("\n")
    assert len(lines) == 41  # 40 projects, then the pointer
    assert lines[-1] == f"… and 250 more: {POINTER}"
    assert listed[0].label.startswith("More projects (11–")
    assert fields(overview)["Projects"] == "300"
    assert fields(overview)["By stage"] == "MVP 75 · Growth 75 · Maturity 75 · not set 75"
    assert fields(overview)["With overdue items"] == "60"
    assert fields(overview)["Inactive 14+ days"] == "60"
    assert fields(overview)["Documentation missing"] == "300"
    assert len(portfolio_card.fields) == 15
    assert "… 285 more" in portfolio_card.footer


def test_300_projects_list_the_hidden_in_short_lines_and_leave_cutting_to_the_renderers():
    result = digest(many(300))

    listed = [f for f in result.cards[0].fields if f.label.startswith("More projects")]
    lines = [line for f in listed for line in f.value.split("\n")]
    assert max(len(line) for line in lines) <= LINE_MAX
    assert all(len(f.value.split("\n")) <= LINES_PER_FIELD + 1 for f in listed)
    # Platform limits live in the renderers: the digest keeps every change it was given.
    changes = fields(project_cards(result)[0])["Changed since last digest"]
    assert changes == "; ".join(f"answer {c} changed" for c in range(200))


def test_the_most_urgent_get_the_cards_at_300():
    result = digest(many(300))

    assert all(fields(card).get("Overdue") for card in project_cards(result))


def test_3_projects_give_3_cards_and_hide_none():
    result = digest(many(3))

    assert len(result.cards) == 5
    assert result.hidden == 0
    assert [c.title for c in project_cards(result)] == [
        "Project 000" + " with a very long name" * 10,
        "Project 001",
        "Project 002",
    ]
    assert not [f for f in result.cards[0].fields if f.label.startswith("More projects")]
    assert result.title == "Weekly ML digest: 3 projects (week of 23 Nov 2026)"


def test_the_week_starts_on_monday_and_one_project_is_singular():
    result = build_digest(
        FLOW, [project("Solo")], today=date(2026, 11, 26), now=NOW + timedelta(days=3)
    )

    assert result.title == "Weekly ML digest: 1 project (week of 23 Nov 2026)"


def test_a_short_hidden_list_has_no_more_pointer():
    result = digest([project(f"P{n}", id=n) for n in range(5)], max_project_cards=2)

    done, total = progress(FLOW, {"stage": "MVP"})
    (listed,) = [f for f in result.cards[0].fields if f.label.startswith("More projects")]
    assert result.hidden == 3
    assert listed.label == "More projects (3–5)"
    assert listed.value == "\n".join(f"P{n} · MVP · {done}/{total}" for n in (2, 3, 4))
