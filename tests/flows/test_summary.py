"""Cards, warnings and the mapping of answers to the cost model, from hand-built answers."""

import pytest

from flows import summary
from flows.costs import Range
from flows.display import display
from flows.model import default_flow
from flows.plan_costs import cost_breakdown, cost_fields, cost_inputs, currency_of
from flows.progress import progress
from flows.state import State
from flows.warnings import CHECKS, warnings
from tests.flows.examples import WORKED_COSTS, usd

FLOW = default_flow()
ALL = tuple(s.id for s in FLOW.sections)
ANA = {"id": "U024BE7LH", "name": "ana"}


WORKED = WORKED_COSTS


def texts(answers: dict) -> list[str]:
    """Return the warning texts for these answers."""
    return [text for _, text in warnings(FLOW, answers)]


def fields(items) -> dict[str, str]:
    """Map the labels of some fields (a card's, or the cost fields) to their values."""
    return {f.label: f.value for f in items}


# Warnings


@pytest.mark.parametrize("clarity", ["Unclear", "Partly clear"])
def test_an_unclear_workflow_warns(clarity):
    assert warnings(FLOW, {"workflow_clarity": clarity}) == [
        ("screening", "Workflow integration unclear: go back and redesign how it fits the process.")
    ]


def test_a_clear_workflow_does_not_warn():
    assert warnings(FLOW, {"workflow_clarity": "Clear"}) == []


def test_a_heuristic_that_may_do_warns():
    assert warnings(FLOW, {"heuristic_enough": True}) == [
        ("screening", "A heuristic may do the job: weigh it against ML before building.")
    ]
    assert warnings(FLOW, {"heuristic_enough": False}) == []


def test_personal_data_with_the_regulation_skipped_warns():
    assert texts({"personal_data": True, "regulation": None}) == [
        "Personal data with no regulation named."
    ]
    assert texts({"personal_data": True, "regulation": "GDPR"}) == []
    # Not yet asked is not a gap.
    assert texts({"personal_data": True}) == []


def test_no_baseline_yet_warns():
    assert warnings(FLOW, {"baseline_kind": "None yet"}) == [
        ("metrics", "No baseline named: the model has nothing to beat.")
    ]


def test_a_skipped_baseline_figure_warns_whatever_its_kind():
    assert texts({"output_baseline": None}) == ["No baseline named: the model has nothing to beat."]
    assert texts({"baseline_kind": "Heuristic", "output_baseline": None}) == [
        "No baseline named: the model has nothing to beat."
    ]
    # Not yet asked is not a gap.
    assert texts({"baseline_kind": "Heuristic"}) == []


def test_a_real_baseline_with_its_figure_does_not_warn():
    assert texts({"baseline_kind": "Old system", "output_baseline": "MAE 4.6"}) == []


def test_running_cost_above_the_benefit_warns():
    answers = {**WORKED, "benefit_per_year": usd(50_000)}
    assert ("costs", "Running cost exceeds expected benefit.") in warnings(FLOW, answers)
    assert warnings(FLOW, WORKED) == []


def test_an_unknown_benefit_never_exceeds_the_running_cost():
    answers = {**WORKED, "benefit_known": False, "benefit_per_year": usd(1)}
    assert warnings(FLOW, answers) == []


def test_mixed_currencies_warn():
    answers = {**WORKED, "domain_expert_cost": {"amount": 20_000, "currency": "EUR"}}
    assert warnings(FLOW, answers) == [
        ("costs", "Costs mix currencies (EUR, USD): totals are not converted.")
    ]


def test_amounts_in_another_currency_than_the_totals_warn():
    # Every amount is in euros but the totals are written in the plan's dollars.
    answers = {
        **{k: v for k, v in WORKED.items() if k in ("currency", "team_size", "build_months")},
        "monthly_cost_per_person": {"amount": 12_000, "currency": "EUR"},
        "infrastructure": {"amount": 30_000, "currency": "EUR"},
    }
    assert cost_fields(answers)[0].value == "$246k"
    costs = [text for where, text in warnings(FLOW, answers) if where == "costs"]
    assert any("EUR" in text and "USD" in text for text in costs), costs


def test_unanswered_cost_lines_are_listed_by_label():
    assert texts({"currency": "USD", "team_size": 3, "predictions_per_day": 5}) == [
        "Not estimated (counted as 0): Build time (months), Cost per person-month,"
        " Domain experts, Infrastructure (one-time), System integration, Training users,"
        " Monitoring and operations (yearly), External data (yearly)."
    ]


def test_cost_warnings_wait_until_the_costs_are_visited():
    assert texts({"problem": "x"}) == []


def test_no_model_card_owner_warns():
    assert warnings(FLOW, {"doc_model_card_owner": None}) == [
        ("milestones", "No owner for the model card.")
    ]
    assert warnings(FLOW, {"doc_model_card_owner": ANA}) == []


def test_nobody_to_sign_off_warns():
    assert warnings(FLOW, {"signoff": None}) == [
        ("metrics_detail", "Nobody named to sign off on success.")
    ]
    assert warnings(FLOW, {"signoff": ANA}) == []


def test_every_warning_at_once_comes_in_section_order_declared_before_computed():
    answers = {
        "workflow_clarity": "Unclear",
        "heuristic_enough": True,
        "personal_data": True,
        "regulation": None,
        **WORKED,
        "domain_expert_cost": {"amount": 20_000, "currency": "EUR"},
        "benefit_per_year": usd(50_000),
        "training_cost": None,
        "baseline_kind": "None yet",
        "signoff": None,
        "doc_model_card_owner": None,
    }
    assert warnings(FLOW, answers) == [
        ("metrics", "No baseline named: the model has nothing to beat."),
        ("costs", "Costs mix currencies (EUR, USD): totals are not converted."),
        ("costs", "Running cost exceeds expected benefit."),
        ("costs", "Not estimated (counted as 0): Training users."),
        ("milestones", "No owner for the model card."),
        (
            "screening",
            "Workflow integration unclear: go back and redesign how it fits the process.",
        ),
        ("screening", "A heuristic may do the job: weigh it against ML before building."),
        ("data", "Personal data with no regulation named."),
        ("metrics_detail", "Nobody named to sign off on success."),
    ]


def test_a_skipped_baseline_kind_does_not_warn_while_the_figure_is_given():
    assert texts({"baseline_kind": None, "output_baseline": "MAE 4.6"}) == []


def test_every_computed_check_belongs_to_a_section_of_the_flow():
    assert set(CHECKS) <= {section.id for section in FLOW.sections}


# The cost model's inputs


def test_cost_inputs_map_money_and_numbers():
    inputs, seen = cost_inputs(WORKED)
    assert inputs.currency == "USD"
    assert (inputs.team_size, inputs.build_months) == (3, 6)
    assert inputs.monthly_cost_per_person == 12_000
    assert inputs.domain_expert_cost == 20_000
    assert inputs.infrastructure == 30_000
    assert inputs.integration == 15_000
    assert inputs.training == 5_000
    assert inputs.monitoring_per_year == 12_000
    assert inputs.external_data_per_year == 6_000
    assert inputs.predictions_per_day == 10_000
    assert inputs.benefit_per_year == 200_000
    assert seen == {"USD"}


def test_cost_inputs_read_a_percent_range_as_fractions():
    inputs, _ = cost_inputs({"maintenance_share": [10, 30]})
    assert inputs.maintenance_share == Range(0.1, 0.3)


def test_cost_inputs_read_a_single_percent_as_a_point_range():
    inputs, _ = cost_inputs({"maintenance_share": 20})
    assert inputs.maintenance_share == Range(0.2, 0.2)


def test_cost_inputs_take_the_benefit_unless_an_older_plan_said_it_is_unknown():
    inputs, _ = cost_inputs(WORKED)
    assert inputs.benefit_per_year == 200_000
    # Plans made before the benefit was one question kept a "no" beside an amount.
    inputs, _ = cost_inputs({**WORKED, "benefit_known": False})
    assert inputs.benefit_per_year is None
    inputs, _ = cost_inputs({**WORKED, "benefit_per_year": None})
    assert inputs.benefit_per_year is None


def test_cost_inputs_leave_skipped_answers_unanswered():
    inputs, seen = cost_inputs({"team_size": None, "infrastructure": None})
    assert inputs.team_size is None and inputs.infrastructure is None
    assert inputs.currency == "USD" and seen == set()


def test_cost_inputs_read_the_plan_currency():
    inputs, seen = cost_inputs({"currency": "EUR", "infrastructure": usd(1)})
    assert inputs.currency == "EUR" and seen == {"EUR"}


def test_cost_fields_of_the_worked_example_say_what_the_unit_cost_and_payback_rest_on():
    assert fields(cost_fields(WORKED)) == {
        "One-time cost": "$286k",
        "Yearly running cost": "$44.6k–$97.8k",
        "3-year cost of ownership": "$420k–$579k",
        "Cost per 1,000 predictions": (
            "$38.3–$52.9 (the 3-year cost over 3 years of 10,000 predictions a day)"
        ),
        "Payback from go-live": (
            "22–34 months (the one-time $286k repaid by the yearly benefit of $200k less the"
            " running cost)"
        ),
        "Payback from project start": "28–40 months (6 months of build first)",
    }


def test_a_payback_that_never_comes_has_no_date_from_the_projects_start():
    shown = fields(cost_fields({**WORKED, "benefit_per_year": usd(10_000)}))
    assert shown["Payback from go-live"].startswith("never (running cost exceeds benefit)")
    assert "Payback from project start" not in shown
    without_build = fields(cost_fields({**WORKED, "build_months": None}))
    assert "Payback from go-live" in without_build
    assert "Payback from project start" not in without_build


def test_the_breakdown_lists_every_line_and_how_staff_and_maintenance_are_worked_out():
    assert fields(cost_breakdown(WORKED)) == {
        "Staff (one-time)": "$216k (3 people × 6 months × $12k)",
        "Domain experts (one-time)": "$20k",
        "Infrastructure (one-time)": "$30k",
        "Change management (one-time)": "$20k (integration $15k, training $5k)",
        "Maintenance (a year)": "$26.6k–$79.8k (10–30% of the initial development, $266k)",
        "Monitoring (a year)": "$12k",
        "External data (a year)": "$6k",
    }
    lean = {
        "currency": "EUR",
        "team_size": 1,
        "build_months": 1,
        "monthly_cost_per_person": usd(9000),
    }
    shown = fields(cost_breakdown(lean))
    assert shown["Staff (one-time)"] == "€9k (1 person × 1 month × €9k)"
    assert shown["Domain experts (one-time)"] == "not estimated yet"
    assert shown["Maintenance (a year)"].endswith(": the usual range, assumed)")


def test_cost_fields_leave_out_unit_cost_and_payback_without_volume_or_benefit():
    answers = {
        k: v for k, v in WORKED.items() if k not in ("predictions_per_day", "benefit_per_year")
    }
    assert list(fields(cost_fields(answers))) == [
        "One-time cost",
        "Yearly running cost",
        "3-year cost of ownership",
    ]


def test_cost_fields_say_when_the_maintenance_share_is_the_usual_range_assumed():
    answers = {k: v for k, v in WORKED.items() if k != "maintenance_share"}
    shown = fields(cost_fields(answers))
    assert shown["Yearly running cost"] == "$44.6k–$97.8k"  # 10-30%, as the worked example
    assert shown["Maintenance"].startswith("10–30% of the initial development a year")
    assert "assumed" in shown["Maintenance"]
    assert "Maintenance" not in fields(cost_fields({**answers, "maintenance_share": None})) or (
        "assumed" in fields(cost_fields({**answers, "maintenance_share": None}))["Maintenance"]
    )
    assert "Maintenance" not in fields(cost_fields(WORKED))


# Display


@pytest.mark.parametrize(
    ("question_id", "value", "answers", "shown"),
    [
        ("monthly_cost_per_person", {"amount": 12_000, "currency": "EUR"}, {}, "€12k"),
        ("monthly_cost_per_person", {"amount": 12_000, "currency": "CHF"}, {}, "CHF 12k"),
        ("monthly_cost_per_person", usd(12_000), {"currency": "GBP"}, "£12k"),
        ("monthly_cost_per_person", usd(1_500_000), {}, "$1.5M"),
        ("maintenance_share", 20, {}, "20%"),
        ("maintenance_share", 12.5, {}, "12.5%"),
        ("maintenance_share", [10, 30], {}, "10–30%"),
        ("maintenance_share", [20, 20], {}, "20%"),
        ("team_size", 3, {}, "3"),
        ("predictions_per_day", 10_000, {}, "10,000"),
        ("build_months", 2.5, {}, "2.5"),
        ("predictions_per_day", 1234.5, {}, "1,234.5"),
        ("ms_data_pipeline_due", "2026-12-21", {}, "Mon 21 Dec 2026"),
        ("heuristic_enough", True, {}, "yes"),
        ("heuristic_enough", False, {}, "no"),
        ("signoff", ANA, {}, "@ana"),
        ("signoff", {"email": "ana@example.com"}, {}, "ana@example.com"),
        ("signoff", {"id": "U024BE7LH"}, {}, "@U024BE7LH"),
        ("stage", "MVP", {}, "MVP"),
        ("problem", "Customers leave", {}, "Customers leave"),
        ("problem", None, {}, "skipped"),
        ("team_size", None, {}, "skipped"),
    ],
)
def test_display(question_id, value, answers, shown):
    assert display(FLOW, FLOW.questions[question_id], value, answers) == shown


# Cards and progress


def test_progress_counts_applicable_questions_visited():
    assert progress(FLOW, {}) == (0, 67)
    assert progress(FLOW, {"heuristic_enough": True}) == (1, 68)
    # A skip counts as visited.
    assert progress(FLOW, {"problem": None}, ("intake",)) == (1, 7)
    assert progress(FLOW, WORKED, ("costs",)) == (7, 7)
    assert progress(FLOW, WORKED, ("costs_detail",)) == (5, 5)
    assert progress(FLOW, {}, FLOW.core) == (0, 29)
    assert progress(FLOW, {"prediction_mode": "Real time"}, FLOW.core) == (1, 30)


def test_section_card_of_the_costs_starts_with_the_totals_then_the_breakdown():
    card = summary.section_card(FLOW, FLOW.section("costs"), WORKED)
    assert card.title == "Section 3 of 4 done: Costs (back of the envelope)"
    assert [f.label for f in card.fields] == [
        "One-time cost",
        "Yearly running cost",
        "3-year cost of ownership",
        "Cost per 1,000 predictions",
        "Payback from go-live",
        "Payback from project start",
        "Staff (one-time)",
        "Domain experts (one-time)",
        "Infrastructure (one-time)",
        "Change management (one-time)",
        "Maintenance (a year)",
        "Monitoring (a year)",
        "External data (a year)",
        # The answers the breakdown does not show already.
        "Currency",
        "Expected yearly benefit",
    ]
    shown = fields(card.fields)
    assert shown["Staff (one-time)"] == "$216k (3 people × 6 months × $12k)"
    assert shown["Expected yearly benefit"] == "$200k"
    assert card.progress == (13, 67)
    assert card.warnings == ()


def test_section_card_of_the_cost_deep_dive_holds_its_lines_and_the_estimate():
    card = summary.section_card(FLOW, FLOW.section("costs_detail"), WORKED)
    assert card.title == "Deep dive done: Costs in detail"
    shown = fields(card.fields)
    assert shown["Change management (one-time)"] == "$20k (integration $15k, training $5k)"
    assert shown["One-time cost"] == "$286k"
    assert len(card.fields) == 6 + 7  # every answer of it is a line of the breakdown


def test_section_card_keeps_only_its_own_warnings():
    answers = {**WORKED, "workflow_clarity": "Unclear", "benefit_per_year": usd(50_000)}
    card = summary.section_card(FLOW, FLOW.section("costs"), answers)
    assert card.warnings == ("Running cost exceeds expected benefit.",)


def test_section_card_of_another_section_has_no_cost_fields():
    answers = {"problem": "Customers leave", "target_users": None}
    card = summary.section_card(FLOW, FLOW.section("intake"), answers)
    assert card.title == "Section 1 of 4 done: The problem and its predictions"
    shown = fields(card.fields)
    assert shown["Problem statement"] == "Customers leave"
    assert shown["Target users"] == "skipped"
    assert "One-time cost" not in shown
    screening = summary.section_card(FLOW, FLOW.section("screening"), answers)
    assert screening.title == "Deep dive done: Screening and workflow"
    assert "Why ML over a heuristic" not in fields(screening.fields)


def test_plan_card_holds_stage_costs_metrics_and_milestones():
    answers = {
        "problem": "Customers leave",
        "stage": "MVP",
        **WORKED,
        "outcome_metric": "Churn rate",
        "outcome_target": "Down 2 points within a year",
        "output_metric": "Recall",
        "baseline_kind": "Heuristic",
        "output_baseline": "Recall 0.4",
        "signoff": ANA,
        "ms_data_pipeline_owner": ANA,
        "ms_data_pipeline_due": "2026-12-21",
        "ms_review_due": "2027-03-23",
    }
    card = summary.plan_card(FLOW, State(name="Churn", sections=ALL, answers=answers))
    assert card.title == "Plan: Churn"
    shown = fields(card.fields)
    assert shown["Project stage"] == "MVP"
    assert shown["Problem statement"] == "Customers leave"
    assert shown["One-time cost"] == "$286k"
    assert shown["Payback from go-live"].startswith("22–34 months")
    assert shown["Outcome metric"] == "Churn rate → Down 2 points within a year"
    assert shown["Output metric"] == "Recall"
    assert shown["Baseline to beat"] == "Heuristic: Recall 0.4"
    assert shown["Success sign-off"] == "@ana"
    assert shown["Data pipelines built"] == "@ana, due Mon 21 Dec 2026"
    assert shown["Success metrics reviewed"] == "no owner, due Tue 23 Mar 2027"
    # Milestones with neither owner nor date are left out.
    assert "Model deployed" not in shown
    people = {f.label: f.person for f in card.fields}
    assert people["Data pipelines built"] == ANA and people["Success sign-off"] == ANA
    assert card.warnings == ()


def test_plan_card_without_costs_has_no_cost_fields_and_carries_every_warning():
    answers = {"stage": "Growth", "workflow_clarity": "Unclear", "signoff": None}
    card = summary.plan_card(FLOW, State(name="Churn", sections=ALL, answers=answers))
    shown = fields(card.fields)
    assert list(shown) == ["Project stage"]
    assert card.warnings == (
        "Workflow integration unclear: go back and redesign how it fits the process.",
        "Nobody named to sign off on success.",
    )


def test_status_card_lists_the_sections_and_the_open_question():
    answers = {"problem": "x", "target_users": None, **WORKED}
    state = State(name="Churn", sections=ALL, current="value_proposition", answers=answers)
    card = summary.status_card(FLOW, state)
    assert card.title == "Status: Churn"
    assert list(fields(card.fields).items()) == [
        ("1. The problem and its predictions", "2 of 7, 1 skipped"),
        ("2. Success metrics", "0 of 5"),
        ("3. Costs (back of the envelope)", "7 of 7"),
        ("4. Milestones and documentation", "0 of 10"),
        ("5. deep dive: Screening and workflow", "0 of 7"),
        ("6. deep dive: Machine Learning Canvas", "0 of 3"),
        ("7. deep dive: Data landscape", "0 of 6"),
        ("8. deep dive: Deployment and operations", "1 of 10"),
        ("9. deep dive: Costs in detail", "5 of 5"),
        ("10. deep dive: Metrics in detail", "0 of 4"),
        ("11. deep dive: Documentation due dates", "0 of 3"),
        ("Skipped (does not apply)", "Target users"),
        ("Open question", "Value proposition"),
    ]
    assert card.progress == (9, 29)  # the core while it is open, as the intake counts it
    core = [q for s in FLOW.sections if s.core for q in s.questions if q.id not in answers]
    done = {**answers, **{q.id: None for q in core}}  # the rest of the core skipped: done
    finished = summary.status_card(FLOW, State(name="Churn", sections=ALL, answers=done))
    assert finished.progress[1] > 29  # then the whole plan, deep dives included


def test_status_card_without_an_open_question():
    card = summary.status_card(FLOW, State(name="Churn", sections=ALL))
    assert "Open question" not in fields(card.fields)
    assert len(card.fields) == 11


def test_milestones_pick_owners_and_due_dates_by_key():
    answers = {
        "ms_data_pipeline_owner": ANA,
        "ms_data_pipeline_due": "2026-12-21",
        "ms_deploy_owner": None,
        "ms_review_due": "2027-03-23",
        "doc_runbook_owner": ANA,
    }
    assert summary.milestones(FLOW, answers, kind="milestone") == [
        {
            "key": "data_pipeline",
            "title": "Data pipelines built",
            "owner": ANA,
            "due": "2026-12-21",
        },
        {
            "key": "success_review",
            "title": "Success metrics reviewed",
            "owner": None,
            "due": "2027-03-23",
        },
    ]
    assert summary.milestones(FLOW, answers, kind="doc") == [
        {"key": "runbook", "title": "Runbook", "owner": ANA, "due": None},
    ]
    assert summary.milestones(FLOW, {}, kind="milestone") == []


def test_documents_are_due_with_their_milestone_until_they_have_their_own_date():
    answers = {
        "ms_baseline_due": "2027-01-04",
        "ms_deploy_due": "2027-03-01",
        "doc_model_card_owner": ANA,
        "doc_runbook_owner": ANA,
        "doc_runbook_due": "2027-02-15",
    }
    assert summary.milestones(FLOW, answers, kind="doc") == [
        {
            "key": "model_card",
            "title": "Model card",
            "owner": ANA,
            "due": "2027-01-04",
            "due_with": "Baseline model trained",
        },
        {"key": "runbook", "title": "Runbook", "owner": ANA, "due": "2027-02-15"},
    ]
    card = summary.plan_card(FLOW, State(name="Churn", sections=ALL, answers=answers))
    shown = fields(card.fields)
    assert shown["Model card"] == (
        "@ana, due Mon 4 Jan 2027 (with Baseline model trained, until it has its own date)"
    )
    assert shown["Runbook"] == "@ana, due Mon 15 Feb 2027"
    # Online serving only: no API documentation for a batch plan, even with a deployment date.
    assert "API documentation" not in shown


def test_currency_of_defaults_to_usd():
    assert currency_of({}) == "USD"
    assert currency_of({"currency": None}) == "USD"
    assert currency_of({"currency": "CHF"}) == "CHF"
