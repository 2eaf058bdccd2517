"""The digest from the eight-project portfolio of issue 13: needs-you, order, totals, trend, noise."""

from dataclasses import replace
from datetime import timedelta

from flows.digest import TrackedItem, safe
from flows.digest_build import NEEDS_MAX, SHOWN_MAX, build_digest
from flows.digest_facts import assess_all, memory_of
from flows.model import default_flow
from flows.progress import progress
from tests.flows.portfolio import NOW, TODAY, snapshots

FLOW = default_flow()


def digest(projects=None, **kw):
    return build_digest(
        FLOW, snapshots(FLOW) if projects is None else projects, today=TODAY, now=NOW, **kw
    )


def test_needs_you_names_project_reason_owner_as_a_mention_and_the_action():
    assert digest().needs_you == (
        "Fraud alerts: Deploy 3 days late, 4 overdue: @{U0CHEN|chen}, agree a new date or close it",
        "Pricing engine: running cost above benefit ($44.6k–$97.8k against $40k a year):"
        " @{U0EVA|eva}, decide to re-scope or stop",
        "Support triage: no model-card owner: @{U0DEV|dev}, name one",
        "Churn model: intake stalled 21 days at known data quality issues: @{U0BO|bo},"
        " nudge the owner or close it",
    )


def test_the_ranking_puts_decisions_first_a_stalled_intake_above_plans_and_the_finished_last():
    ranked = [(p.rank, p.name, p.headline) for p in digest().projects]
    assert ranked == [
        (1, "Fraud alerts", "Deploy 3 days late, 4 overdue"),
        (2, "Pricing engine", "running cost above benefit ($44.6k–$97.8k against $40k a year)"),
        (3, "Support triage", "no model-card owner"),
        (4, "Churn model", "intake stalled 21 days at known data quality issues"),
        (5, "Demand forecast", "planned"),
        (6, "Doc search", "planning"),
        (7, "Lead scoring", "planning"),
        (8, "Invoice OCR", "delivered"),
    ]


def test_a_finished_project_gets_no_idle_warning_and_no_repeated_progress():
    last = digest().projects[-1]
    assert last.delivered and last.facts == ("stage: Growth",)
    text = str(digest())
    flow = default_flow()
    total = progress(flow, {}, tuple(flow.core))[1]  # the core: deep dives are not owed
    assert "53 days" not in text and "Inactive" not in text and f"{total} of {total}" not in text
    # Progress is shown only while a plan is unfinished, as one short fact.
    assert [p.facts[0] for p in digest().projects if p.facts[0].startswith("plan")] == [
        f"plan 2/{total}",
        f"plan 1/{total}",
        f"plan 1/{total}",
    ]


def test_every_summary_count_names_its_projects_and_empty_ones_are_hidden():
    assert [(f.label, f.value) for f in digest().summary] == [
        ("Overdue (1)", "Fraud alerts"),
        ("Running cost above benefit (1)", "Pricing engine"),
        ("No model-card owner (1)", "Support triage"),
        ("Intake stalled (1)", "Churn model"),
        ("Delivered (1)", "Invoice OCR"),
    ]


def test_portfolio_totals_per_currency_say_how_many_projects_have_figures():
    [totals] = digest().totals
    assert totals.label == "Totals (USD)"
    assert totals.value == (
        "one-time $858k · yearly running $134k–$293k · yearly benefit $440k"
        " (3 of 8 projects with figures)"
    )


def test_the_trend_says_what_changed_per_project_and_compares_counts():
    before = memory_of(assess_all(FLOW, snapshots(FLOW), today=TODAY, now=NOW))
    now = snapshots(FLOW)
    # Since the last digest: Churn's costs answered in full, and a Fraud alerts item done.
    costs = {q.id: None for q in FLOW.section("costs").questions}
    churn = replace(now[1], answers={**now[1].answers, **costs})
    runbook_done = tuple(
        replace(d, status="done") if d.title == "Runbook" else d for d in now[2].docs
    )
    fraud = replace(now[2], docs=runbook_done)
    result = digest([now[0], churn, fraud, *now[3:]], previous=before)
    assert result.trend == (
        "Fraud alerts: Runbook done; overdue 4 → 3",
        "Churn model: Costs finished",
    )
    assert [p.name for p in result.projects if p.changed] == ["Fraud alerts", "Churn model"]


def test_overdue_moving_is_shown_beside_the_count():
    before = memory_of(assess_all(FLOW, snapshots(FLOW), today=TODAY, now=NOW))
    projects = snapshots(FLOW)
    late = TrackedItem("Labels", None, TODAY - timedelta(days=1), "open", id=999)
    projects[5] = replace(projects[5], milestones=(late,))
    overdue = next(
        f for f in digest(projects, previous=before).summary if f.label.startswith("Overdue")
    )
    assert overdue.label == "Overdue (1 → 2)" and overdue.value == "Fraud alerts, Doc search"


def test_a_first_digest_has_no_trend_and_marks_nothing_changed():
    result = digest()
    assert result.trend == () and not any(p.changed for p in result.projects)


def test_a_snoozed_project_leaves_needs_you_and_is_listed_after_the_others():
    projects = snapshots(FLOW)
    projects[2] = replace(projects[2], snoozed_until=TODAY + timedelta(days=7))
    result = digest(projects)
    assert not any(line.startswith("Fraud alerts") for line in result.needs_you)
    assert [p.name for p in result.projects][-2:] == ["Fraud alerts", "Invoice OCR"]
    assert result.projects[-2].headline == "snoozed until Mon 30 Nov"


def test_ten_projects_are_ranked_at_most_five_need_you_and_the_rest_are_counted():
    many = [
        replace(p, id=100 * k + p.id, name=f"{p.name} {k}")
        for k in range(3)
        for p in snapshots(FLOW)
    ]
    result = digest(many)
    assert len(result.projects) == SHOWN_MAX and result.hidden == 14
    assert len(result.needs_you) == NEEDS_MAX
    assert result.footer[0] == "… and 14 more: " and result.footer[1].verb == "list"


def test_commands_shown_work_in_the_chat():
    assert "export" not in str(digest())


def test_typed_names_cannot_make_a_mention():
    projects = snapshots(FLOW)
    projects[0] = replace(projects[0], name="@{U0BOSS|boss} project")
    assert "@{U0BOSS" not in str(digest(projects).projects)
    assert safe("@{U1|x}") != "@{U1|x}"
