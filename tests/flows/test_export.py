"""The whole plan as JSON-ready data and as Markdown."""

import json

from flows.export import plan_document, to_markdown
from flows.model import default_flow
from tests.flows.examples import WORKED_COSTS, usd

FLOW = default_flow()
ANA = {"id": "U024BE7LH", "name": "ana"}
PROJECT = {"id": 7, "name": "Churn model", "owner": ANA, "stage": "MVP"}


# The worked example of the cost model (figures derived in test_costs.py), plus a few answers
# elsewhere: one skipped, one enabling a conditional question, one disabling another.
ANSWERS = {
    "problem": "Customers leave without warning",
    "target_users": None,
    "heuristic_enough": False,
    "stage": "MVP",
    "prediction_mode": "Batch",
    **WORKED_COSTS,
    "outcome_metric": "Churn rate",
    "signoff": None,
}
MILESTONES = [
    {
        "key": "data_pipeline",
        "title": "Data pipelines built",
        "owner": ANA,
        "due": "2026-12-21",
        "status": "open",
    },
    {
        "key": "baseline",
        "title": "Baseline model trained",
        "owner": None,
        "due": None,
        "status": "done",
    },
]
DOCS = [
    {
        "key": "model_card",
        "title": "Model card",
        "owner": {"email": "bo@example.com"},
        "due": "2027-01-04",
        "status": "open",
        "link": "https://wiki.example.com/churn/model-card",
    },
]


def document(answers=ANSWERS, milestones=MILESTONES, docs=DOCS) -> dict:
    """Build the plan document of the test project."""
    return plan_document(FLOW, project=PROJECT, answers=answers, milestones=milestones, docs=docs)


def question(doc: dict, question_id: str) -> dict:
    """Find one question's entry in a plan document."""
    for section in doc["sections"]:
        for entry in section["questions"]:
            if entry["id"] == question_id:
                return entry
    raise KeyError(question_id)


def listed(doc: dict) -> set[str]:
    """Return the ids of every question a plan document lists."""
    return {entry["id"] for section in doc["sections"] for entry in section["questions"]}


# The document


def test_the_document_is_json_ready():
    doc = document()
    assert json.loads(json.dumps(doc)) == doc


def test_the_project_and_progress_are_carried():
    doc = document()
    assert doc["project"] == PROJECT and doc["project"] is not PROJECT
    assert doc["progress"] == [len(ANSWERS), 68]


def test_sections_come_in_order_with_their_progress():
    doc = document()
    assert [s["id"] for s in doc["sections"]] == [s.id for s in FLOW.sections]
    assert [s["title"] for s in doc["sections"]] == [s.title for s in FLOW.sections]
    intake = doc["sections"][0]
    assert intake["progress"] == [3, 7]
    assert doc["sections"][2]["progress"] == [7, 7]
    assert doc["sections"][8]["id"] == "costs_detail"
    assert doc["sections"][8]["progress"] == [5, 5]


def test_an_answered_question_holds_its_value_and_display():
    assert question(document(), "monthly_cost_per_person") == {
        "id": "monthly_cost_per_person",
        "label": "Cost per person-month",
        "kind": "money",
        "prompt": FLOW.questions["monthly_cost_per_person"].prompt,
        "answered": True,
        "skipped": False,
        "value": {"amount": 12_000, "currency": None},
        "display": "$12k",
        "history": [],
    }
    problem = question(document(), "problem")
    assert problem["value"] == problem["display"] == "Customers leave without warning"
    assert question(document(), "maintenance_share")["display"] == "10–30%"
    assert question(document(), "heuristic_enough")["display"] == "no"


def test_a_skipped_question_is_flagged():
    entry = question(document(), "target_users")
    assert entry["skipped"] is True and entry["answered"] is False
    assert entry["value"] is None and entry["display"] == "skipped"


def test_an_unvisited_question_is_listed_without_a_value():
    entry = question(document(), "why_it_matters")
    assert entry["answered"] is False and entry["skipped"] is False
    assert entry["value"] is None and entry["display"] is None


def test_only_applicable_questions_are_listed():
    ids = listed(document())
    assert "heuristic_why_ml" not in ids  # heuristic_enough is no
    assert "prediction_frequency" in ids and "latency_target_ms" not in ids  # batch
    assert "doc_api_owner" not in ids and "doc_api_due" not in ids  # batch: no API
    assert "retraining" not in ids  # no retraining trigger yet
    assert len(ids) == 68


def test_the_costs_hold_the_estimate_with_ranges():
    costs = document()["costs"]
    assert costs["currency"] == "USD"
    assert costs["one_time"] == 286_000
    assert costs["initial_development"] == 266_000
    assert costs["change_management"] == 20_000
    assert costs["yearly_running"] == {"low": 44_600, "high": 97_800}
    assert costs["tco_3y"] == {"low": 419_800, "high": 579_400}
    assert costs["cost_per_1000_predictions"] == {"low": 38.34, "high": 52.91}
    assert costs["payback_months"] == {"low": 22.08, "high": 33.58}
    assert costs["not_estimated"] == []
    assert costs["summary"] == {
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


def test_a_payback_that_may_never_come_has_no_upper_bound():
    # Net benefit 50,000 − 44,600 = 5,400 a year at best: 286,000 × 12 / 5,400 = 635.56 months.
    costs = document({**ANSWERS, "benefit_per_year": usd(50_000)})["costs"]
    assert costs["payback_months"] == {"low": 635.56, "high": None}
    assert costs["summary"]["Payback from go-live"].startswith("636 months to never (")
    assert costs["summary"]["Payback from project start"].startswith("642 months to never (")


def test_a_payback_that_never_comes_has_no_bounds():
    doc = document({**ANSWERS, "benefit_per_year": usd(10_000)})
    assert doc["costs"]["payback_months"] == {"low": None, "high": None}
    assert "Running cost exceeds expected benefit." in doc["warnings"]


def test_unknown_volume_and_benefit_have_no_unit_cost_or_payback():
    answers = {
        k: v for k, v in ANSWERS.items() if k not in ("predictions_per_day", "benefit_per_year")
    }
    costs = document(answers)["costs"]
    assert costs["cost_per_1000_predictions"] is None and costs["payback_months"] is None
    assert not any(label.startswith("Payback") for label in costs["summary"])


def test_missing_cost_lines_are_named():
    answers = {k: v for k, v in ANSWERS.items() if k not in ("training_cost", "team_size")}
    assert document(answers)["costs"]["not_estimated"] == ["team_size", "training"]


def test_metrics_milestones_docs_and_warnings_are_carried():
    doc = document()
    assert doc["metrics"] == {
        "outcome_metric": "Churn rate",
        "outcome_target": None,
        "output_metric": None,
        "output_target": None,
        "baseline_kind": None,
        "output_baseline": None,
        "signoff": None,
    }
    assert doc["milestones"] == MILESTONES and doc["milestones"][0] is not MILESTONES[0]
    assert doc["documentation"] == DOCS
    assert doc["warnings"] == ["Nobody named to sign off on success."]


# Markdown


def test_markdown_names_the_project_and_its_header():
    text = to_markdown(document())
    assert text.startswith("# Churn model\n\n")
    assert "- Owner: @ana\n" in text
    assert "- Stage: MVP\n" in text
    assert f"- Progress: {len(ANSWERS)} of 68 questions\n" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_markdown_has_every_section_title():
    text = to_markdown(document())
    for section in FLOW.sections:
        assert f"\n## {section.title}\n" in text


def test_markdown_lists_each_answer_with_its_label_and_display():
    text = to_markdown(document())
    assert "- **Problem statement**: Customers leave without warning\n" in text
    assert "- **Cost per person-month**: $12k\n" in text
    assert "- **Maintenance (share of development)**: 10–30%\n" in text
    assert "- **Heuristic good enough**: no\n" in text
    assert "- **Prediction mode**: Batch\n" in text
    assert "- **Target users**: _skipped_\n" in text
    assert "- **Why it matters**: _not answered yet_\n" in text
    assert "Why ML over a heuristic" not in text


def test_markdown_has_the_warnings():
    text = to_markdown(document())
    assert "## Warnings\n\n- ⚠ Nobody named to sign off on success.\n" in text
    clean = to_markdown(document({**ANSWERS, "signoff": ANA}))
    assert "## Warnings" not in clean


def test_markdown_has_the_cost_summary():
    text = to_markdown(document())
    assert "## Cost estimate\n\n- **One-time cost**: $286k\n" in text
    assert "- **3-year cost of ownership**: $420k–$579k\n" in text
    assert "- **Payback from go-live**: 22–34 months (the one-time $286k" in text


def test_markdown_has_milestones_and_docs_with_checkboxes():
    text = to_markdown(document())
    assert "## Milestones\n\n- [ ] Data pipelines built: @ana, due 2026-12-21\n" in text
    assert "- [x] Baseline model trained: no owner, due no date\n" in text
    assert (
        "## Documentation\n\n- [ ] Model card: bo@example.com, due 2027-01-04"
        " — https://wiki.example.com/churn/model-card\n"
    ) in text


def test_markdown_says_when_nothing_is_tracked_yet():
    text = to_markdown(document(milestones=[], docs=[]))
    assert "## Milestones\n\n_none yet_\n" in text
    assert text.endswith("## Documentation\n\n_none yet_\n")


def test_markdown_of_a_bare_project():
    doc = plan_document(FLOW, project={"name": "Empty"}, answers={}, milestones=[], docs=[])
    text = to_markdown(doc)
    assert "- Owner: unknown\n- Stage: not set\n- Progress: 0 of 67 questions\n" in text
    assert "**" + "Problem statement" + "**: _not answered yet_" in text
    assert "- **One-time cost**: $0\n" in text
