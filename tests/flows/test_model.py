"""The flow loader refuses bad declarations by name; the packaged flow is whole and coherent."""

from pathlib import Path

import pytest
import yaml

from flows import export, plan_costs
from flows.model import FlowError, default_flow, load_flow
from flows.parse import parse_answer
from tests.conftest import NOW

FLOW = default_flow()
CORE_IDS = ("intake", "metrics", "costs", "milestones")
DEEP_IDS = (
    "screening",
    "canvas",
    "data",
    "deployment",
    "costs_detail",
    "metrics_detail",
    "doc_dates",
)
SECTION_IDS = CORE_IDS + DEEP_IDS


def question(id="q", kind="text", **extra) -> dict:
    """Return a minimal valid question declaration, with extra keys merged in."""
    return {
        "id": id,
        "kind": kind,
        "label": id,
        "prompt": f"{id}?",
        "example": "x",
        "help": "h",
        "seed": "000 test",
        **extra,
    }


def section(id, order, *questions, **extra) -> str:
    """Return the YAML text of a section holding these questions (one plain one if none)."""
    body = {
        "id": id,
        "order": order,
        "title": f"Section {id}",
        "intro": "i",
        "questions": list(questions) or [question(f"{id}_q")],
        **extra,
    }
    return yaml.safe_dump(body, sort_keys=False)


def refusal(files: dict[str, str]) -> str:
    """Load these section texts, expecting a FlowError, and return its message."""
    with pytest.raises(FlowError) as caught:
        load_flow(files)
    return str(caught.value)


# The loader's refusals


def test_a_small_valid_flow_loads_with_conditions_on_earlier_questions():
    flow = load_flow(
        {
            "01_a.yaml": section(
                "a",
                1,
                question("mode", "choice", choices=["Batch", "Real time"]),
                question("ok", "yesno"),
            ),
            "02_b.yaml": section(
                "b",
                2,
                question("freq", when={"question": "mode", "equals": "Batch"}),
                question("why", when={"question": "ok", "in": [True]}),
            ),
        }
    )
    assert [s.id for s in flow.sections] == ["a", "b"]
    assert list(flow.questions) == ["mode", "ok", "freq", "why"]
    assert flow.section_of["freq"].id == "b"
    assert flow.questions["freq"].applies({"mode": "Batch"})
    assert not flow.questions["freq"].applies({"mode": "Real time"})
    assert flow.questions["why"].applies({"ok": True})


def test_an_unknown_key_on_a_question_is_refused():
    message = refusal({"01_a.yaml": section("a", 1, question("q", colour="red"))})
    assert "01_a.yaml" in message
    assert "colour" in message and "Extra inputs are not permitted" in message


def test_an_unknown_key_on_a_section_is_refused():
    message = refusal({"01_a.yaml": section("a", 1, colour="red")})
    assert "01_a.yaml" in message
    assert "colour" in message and "Extra inputs are not permitted" in message


def test_an_unknown_key_in_a_condition_is_refused():
    message = refusal(
        {
            "01_a.yaml": section(
                "a",
                1,
                question("ok", "yesno"),
                question("why", when={"question": "ok", "equal": True}),
            )
        }
    )
    assert "equal" in message and "Extra inputs are not permitted" in message


def test_duplicate_question_ids_across_two_sections_are_refused():
    message = refusal(
        {
            "01_a.yaml": section("a", 1, question("problem")),
            "02_b.yaml": section("b", 2, question("problem")),
        }
    )
    assert message == "duplicate question id 'problem' in section 'b'"


def test_duplicate_section_ids_are_refused():
    message = refusal({"01_a.yaml": section("a", 1), "02_b.yaml": section("a", 2, question("z"))})
    assert message == "duplicate section id: a"


def test_duplicate_section_orders_are_refused():
    message = refusal({"01_a.yaml": section("a", 1), "02_b.yaml": section("b", 1)})
    assert message == "duplicate section order: 1"


def test_a_condition_on_an_unknown_question_is_refused():
    message = refusal(
        {"01_a.yaml": section("a", 1, question("why", when={"question": "nope", "equals": True}))}
    )
    assert "'why'" in message and "'nope'" in message
    assert "not an earlier question" in message


def test_a_condition_on_a_later_question_in_the_same_section_is_refused():
    message = refusal(
        {
            "01_a.yaml": section(
                "a",
                1,
                question("why", when={"question": "ok", "equals": True}),
                question("ok", "yesno"),
            )
        }
    )
    assert "'why'" in message and "'ok'" in message
    assert "not an earlier question" in message


def test_a_condition_on_a_question_of_a_later_section_is_refused_by_order_not_file_name():
    # The file that sorts first holds the section that comes second.
    files = {
        "01_a.yaml": section("a", 2, question("ok", "yesno")),
        "02_b.yaml": section("b", 1, question("why", when={"question": "ok", "equals": True})),
    }
    message = refusal(files)
    assert "'why'" in message and "not an earlier question" in message


def test_a_condition_on_itself_is_refused():
    message = refusal(
        {"01_a.yaml": section("a", 1, question("q", when={"question": "q", "equals": "x"}))}
    )
    assert "not an earlier question" in message


@pytest.mark.parametrize(
    "when",
    [
        {"question": "mode", "equals": "Streaming"},
        {"question": "mode", "in": ["Batch", "Streaming"]},
        # Choices are stored as declared, so a condition must spell them the same way.
        {"question": "mode", "equals": "batch"},
    ],
)
def test_a_condition_testing_a_value_the_choice_question_lacks_is_refused(when):
    message = refusal(
        {
            "01_a.yaml": section(
                "a",
                1,
                question("mode", "choice", choices=["Batch", "Real time"]),
                question("freq", when=when),
            )
        }
    )
    assert "'freq'" in message and "'mode'" in message and "choices" in message


def test_a_condition_needs_exactly_one_test():
    message = refusal(
        {
            "01_a.yaml": section(
                "a",
                1,
                question("ok", "yesno"),
                question("why", when={"question": "ok", "equals": True, "in": [True]}),
            )
        }
    )
    assert "exactly one of `equals` or `in`" in message


def test_a_duplicate_key_is_refused_with_its_name_and_line():
    text = section("a", 1).replace("  prompt: a_q?\n", "  prompt: a_q?\n  prompt: Another?\n")
    assert text.count("prompt:") == 2

    message = refusal({"01_a.yaml": text})

    line = text.splitlines().index("  prompt: Another?") + 1
    assert message.startswith("01_a.yaml: ")
    assert f"duplicate key 'prompt' on line {line} (first given on line {line - 1})" in message


@pytest.mark.parametrize(
    "text",
    [
        "id: a\nid: b\n",
        "id: a\norder: 1\ntitle: t\nintro: i\nquestions: [{id: q, id: r}]\n",
    ],
)
def test_a_duplicate_key_is_refused_at_any_depth(text):
    assert "duplicate key 'id'" in refusal({"01_a.yaml": text})


def warned(when, *questions) -> dict[str, str]:
    """Return one section's files holding these questions and a warning on this condition."""
    warning = {"id": "w", "when": when, "text": "Careful."}
    return {"01_a.yaml": section("a", 1, *questions, warnings=[warning])}


def test_a_section_declares_warnings_on_its_answers():
    flow = load_flow(
        warned(
            {"all": [{"question": "ok", "equals": True}, {"question": "why", "is": "skipped"}]},
            question("ok", "yesno"),
            question("why"),
        )
    )
    (warning,) = flow.section("a").warnings
    assert warning.text == "Careful."
    assert warning.when.holds({"ok": True, "why": None})
    assert not warning.when.holds({"ok": True})  # not yet asked is not skipped
    assert not warning.when.holds({"ok": False, "why": None})


@pytest.mark.parametrize(
    ("when", "answers", "holds"),
    [
        ({"question": "q", "is": "skipped"}, {"q": None}, True),
        ({"question": "q", "is": "skipped"}, {}, False),
        ({"question": "q", "is": "unanswered"}, {}, True),
        ({"question": "q", "is": "unanswered"}, {"q": "x"}, False),
        ({"question": "q", "is": "visited"}, {"q": None}, True),
        ({"question": "q", "not_in": ["x"]}, {"q": "y"}, True),
        ({"question": "q", "not_in": ["x"]}, {"q": None}, False),  # a skip matches no value
        ({"question": "q", "lacks": ["figure"]}, {"q": "Better"}, True),
        ({"question": "q", "lacks": ["figure"]}, {"q": "Up 5%"}, False),
        ({"question": "q", "lacks": ["figure", "time_frame"]}, {"q": "Up 5%"}, True),
        ({"question": "q", "lacks": ["figure"]}, {"q": None}, False),  # nor does it lack
        (
            {"any": [{"question": "q", "equals": "x"}, {"question": "q", "is": "skipped"}]},
            {"q": None},
            True,
        ),
    ],
)
def test_a_condition_tests_a_visit_or_a_value(when, answers, holds):
    flow = load_flow(warned(when, question("q")))
    assert flow.section("a").warnings[0].when.holds(answers) is holds


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"question": "nope", "is": "skipped"}, "warning 'w' has a condition on 'nope'"),
        ({"any": [{"question": "mode", "not_in": ["Streaming"]}]}, "not one of its choices"),
        (
            {"question": "mode", "is": "asked"},
            "Input should be 'skipped', 'unanswered' or 'visited'",
        ),
        ({"any": []}, "at least 1 item"),
        ({"question": "mode", "all": [{"question": "mode", "is": "skipped"}]}, "exactly one of"),
        (
            {
                "all": [{"question": "mode", "is": "skipped"}],
                "any": [{"question": "mode", "is": "skipped"}],
            },
            "`all` or `any`",
        ),
    ],
)
def test_a_bad_warning_condition_is_refused(when, expected):
    mode = question("mode", "choice", choices=["Batch", "Real time"])
    assert expected in refusal(warned(when, mode))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"question": "mode", "lacks": ["figure"]}, "only a text question can"),
        ({"question": "goal", "lacks": ["colour"]}, "'figure' or 'time_frame'"),
        ({"question": "goal", "lacks": []}, "at least 1 item"),
        ({"question": "goal", "lacks": ["figure"], "is": "skipped"}, "exactly one of"),
    ],
)
def test_a_bad_lacks_condition_is_refused(when, expected):
    mode = question("mode", "choice", choices=["Batch", "Real time"])
    assert expected in refusal(warned(when, mode, question("goal")))


@pytest.mark.parametrize(
    ("follow_up", "kind", "expected"),
    [
        ({"needs": ["figure"], "ask": "How much?"}, "number", "text questions only"),
        ({"needs": ["figure", "figure"], "ask": "How much?"}, "text", "each need once"),
        ({"needs": ["size"], "ask": "How much?"}, "text", "'figure' or 'time_frame'"),
        ({"needs": [], "ask": "How much?"}, "text", "at least 1 item"),
        ({"needs": ["figure"]}, "text", "Field required"),
        ({"needs": ["figure"], "ask": "How?", "twice": True}, "text", "Extra inputs"),
    ],
)
def test_a_bad_follow_up_is_refused(follow_up, kind, expected):
    files = {"01_a.yaml": section("a", 1, question("goal", kind, follow_up=follow_up))}
    assert expected in refusal(files)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["start", "nope"], "orders 'nope', which is not a date question"),
        (["start", "goal"], "orders 'goal', which is not a date question"),
        (["start", "start"], "names a date twice"),
    ],
)
def test_dates_in_order_must_name_date_questions_once(order, expected):
    questions = (question("start", "date"), question("goal"))
    files = {"01_a.yaml": section("a", 1, *questions, dates_in_order=order)}
    assert expected in refusal(files)


def test_the_milestones_declare_the_order_of_their_due_dates():
    order = ("ms_data_pipeline_due", "ms_baseline_due", "ms_deploy_due", "ms_review_due")
    assert FLOW.section("milestones").dates_in_order == order
    assert FLOW.date_order("ms_baseline_due") == order and FLOW.date_order("doc_runbook_due") == ()


def test_a_warning_needs_an_id_a_condition_and_a_text_and_no_more():
    when = {"question": "q", "is": "skipped"}
    files = {"01_a.yaml": section("a", 1, warnings=[{"id": "w", "when": when}])}
    assert "text" in refusal(files) and "Field required" in refusal(files)
    files = {
        "01_a.yaml": section("a", 1, warnings=[{"id": "w", "when": when, "text": "t", "level": 1}])
    }
    assert "level" in refusal(files) and "Extra inputs are not permitted" in refusal(files)


def test_duplicate_warning_ids_are_refused():
    warning = {"id": "w", "when": {"question": "a_q", "is": "skipped"}, "text": "t"}
    files = {
        "01_a.yaml": section("a", 1, warnings=[warning]),
        "02_b.yaml": section(
            "b", 2, warnings=[{**warning, "when": {"question": "b_q", "is": "skipped"}}]
        ),
    }
    assert refusal(files) == "duplicate warning id 'w' in section 'b'"


def test_kind_choice_without_choices_is_refused():
    message = refusal({"01_a.yaml": section("a", 1, question("q", "choice"))})
    assert "`choices` are required for kind choice" in message


def test_choices_on_a_non_choice_kind_are_refused():
    message = refusal({"01_a.yaml": section("a", 1, question("q", "text", choices=["A", "B"]))})
    assert "`choices` are required for kind choice and only for it" in message


def test_choices_differing_only_in_case_are_refused():
    message = refusal({"01_a.yaml": section("a", 1, question("q", "choice", choices=["A", "a"]))})
    assert "duplicate choices" in message


def test_allow_range_on_a_non_percent_question_is_refused():
    message = refusal({"01_a.yaml": section("a", 1, question("q", "number", allow_range=True))})
    assert "`allow_range` applies to percent questions only" in message


def test_future_only_on_a_non_date_question_is_refused():
    message = refusal({"01_a.yaml": section("a", 1, question("q", "text", future_only=True))})
    assert "`future_only` applies to date questions only" in message


def test_a_milestone_owner_on_a_non_user_question_is_refused():
    tracked = {"key": "baseline", "field": "owner", "title": "Baseline"}
    message = refusal({"01_a.yaml": section("a", 1, question("q", "text", milestone=tracked))})
    assert "01_a.yaml" in message
    assert "a tracked `owner` must be a user question" in message


def test_a_milestone_due_on_a_non_date_question_is_refused():
    tracked = {"key": "baseline", "field": "due", "title": "Baseline"}
    message = refusal({"01_a.yaml": section("a", 1, question("q", "text", milestone=tracked))})
    assert "a tracked `due` must be a date question" in message


def test_a_seed_not_from_the_sources_is_refused():
    message = refusal({"01_a.yaml": section("a", 1, question("q", seed="005 Somewhere else"))})
    assert "`seed` must start with one of 000, 001, 002, 003, 004" in message


def test_invalid_yaml_is_refused_with_the_file_name():
    message = refusal({"01_a.yaml": section("a", 1), "02_b.yaml": "id: b\nquestions: [\n"})
    assert message.startswith("02_b.yaml: ")
    assert "node content" in message and "line 3" in message  # libyaml's words or PyYAML's


def test_a_file_that_is_not_a_mapping_is_refused():
    message = refusal({"01_a.yaml": "- just\n- a list\n"})
    assert message.startswith("01_a.yaml: ") and "Section" in message


def test_no_section_files_is_refused():
    assert refusal({}) == "no section files found"


# The packaged flow


def test_the_packaged_flow_has_a_core_of_four_sections_then_seven_deep_dives():
    assert tuple(s.id for s in FLOW.sections) == SECTION_IDS
    assert [s.order for s in FLOW.sections] == list(range(1, 12))
    assert FLOW.core == CORE_IDS and FLOW.deep == DEEP_IDS


def test_the_core_asks_at_most_30_questions_whatever_the_answers():
    core = list(FLOW.walk(FLOW.core))
    assert len(core) == 30
    # Its only condition: the API documentation, for online serving.
    assert [q.id for q in core if q.when is not None] == ["doc_api_owner"]


def test_design_comes_before_price():
    order = [s.id for s in FLOW.sections]
    assert order.index("deployment") < order.index("costs_detail")
    core = [q.id for q in FLOW.walk(FLOW.core)]
    assert core.index("prediction_mode") < core.index("currency")


SEED_CONCEPTS = [
    line
    for line in (Path(__file__).parent / "seed_concepts.txt").read_text().splitlines()
    if line and not line.startswith("#")
]


@pytest.mark.parametrize("concept", SEED_CONCEPTS)
def test_every_seed_concept_is_still_asked_somewhere(concept):
    assert any(concept in q.seed for q in FLOW.questions.values())


@pytest.mark.parametrize(
    ("duplicate", "kept"),
    [
        ("serving", "prediction_mode"),
        ("latency_ms", "latency_target_ms"),
        ("throughput_per_day", "predictions_per_day"),
        ("live_monitoring", "drift_monitoring"),
        ("benefit_known", "benefit_per_year"),
    ],
)
def test_the_duplicates_are_asked_once(duplicate, kept):
    assert duplicate not in FLOW.questions and kept in FLOW.questions


def test_retraining_is_asked_as_a_trigger_then_a_schedule_only_when_it_applies():
    trigger, schedule = FLOW.questions["retraining_trigger"], FLOW.questions["retraining"]
    assert not trigger.applies({"learning": "Online learning"})
    assert trigger.applies({"learning": "Offline learning"})
    assert schedule.applies({"retraining_trigger": "Schedule"})
    assert not schedule.applies({"retraining_trigger": "Data drift"})


def test_latency_and_api_documentation_are_asked_only_for_online_serving():
    for qid in ("latency_target_ms", "doc_api_owner", "doc_api_due"):
        question = FLOW.questions[qid]
        assert question.applies({"prediction_mode": "Real time"})
        assert not question.applies({"prediction_mode": "Batch"})


def test_documents_are_due_with_their_milestone_by_default():
    defaults = {q.id: q.default for q in FLOW.questions.values() if q.default}
    assert defaults == {
        "doc_model_card_due": "ms_baseline_due",
        "doc_lineage_due": "ms_data_pipeline_due",
        "doc_api_due": "ms_deploy_due",
        "doc_runbook_due": "ms_deploy_due",
    }


def test_a_default_that_names_no_earlier_question_of_its_kind_is_refused():
    message = refusal(
        {"01_a.yaml": section("a", 1, question("p"), question("q", default="p", kind="number"))}
    )
    assert "defaults to 'p', which is not an earlier number question" in message


def test_default_flow_is_loaded_once():
    assert default_flow() is FLOW


@pytest.mark.parametrize("question_id", list(FLOW.questions))
def test_every_example_parses(question_id):
    q = FLOW.questions[question_id]
    value = parse_answer(
        q.kind,
        q.example,
        now=NOW,
        choices=q.choices,
        allow_range=q.allow_range,
        future_only=q.future_only,
    )
    assert value is not None and value != ""


@pytest.mark.parametrize("question_id", [q.id for q in FLOW.questions.values() if q.choices])
def test_every_choice_example_is_one_of_its_choices(question_id):
    q = FLOW.questions[question_id]
    assert q.example in q.choices


@pytest.mark.parametrize(
    ("question_id", "kind"),
    [
        ("stage", "choice"),
        ("workflow_clarity", "choice"),
        ("heuristic_enough", "yesno"),
        ("currency", "choice"),
        ("team_size", "number"),
        ("build_months", "number"),
        ("monthly_cost_per_person", "money"),
        ("maintenance_share", "percent"),
        ("benefit_per_year", "money"),
        ("predictions_per_day", "number"),
        ("baseline_kind", "choice"),
        ("output_baseline", "text"),
        ("signoff", "user"),
        ("doc_model_card_owner", "user"),
    ],
)
def test_ids_the_code_depends_on_exist_with_their_kind(question_id, kind):
    assert FLOW.questions[question_id].kind == kind


def test_the_cost_inputs_name_money_and_number_questions():
    for question_id in plan_costs.MONEY_INPUTS:
        assert FLOW.questions[question_id].kind == "money", question_id
    for question_id in plan_costs.NUMBER_INPUTS:
        assert FLOW.questions[question_id].kind == "number", question_id
    assert FLOW.questions["maintenance_share"].allow_range


def test_the_no_baseline_warning_waits_for_a_skipped_figure_or_none_yet():
    (warning,) = [w for w in FLOW.section("metrics").warnings if w.id == "no_baseline"]
    assert warning.when.holds({"output_baseline": None})
    assert warning.when.holds({"output_baseline": "MAE 4", "baseline_kind": "None yet"})
    assert not warning.when.holds({}) and not warning.when.holds({"output_baseline": "MAE 4"})
    assert "None yet" in FLOW.questions["baseline_kind"].choices


def test_the_exported_metric_ids_exist():
    assert set(export.METRIC_IDS) <= set(FLOW.questions)


def test_the_flow_tracks_four_milestones():
    assert FLOW.tracked("milestone") == {
        "data_pipeline": "Data pipelines built",
        "baseline": "Baseline model trained",
        "deployment": "Model deployed",
        "success_review": "Success metrics reviewed",
    }


def test_the_flow_tracks_four_documents():
    assert FLOW.tracked("doc") == {
        "model_card": "Model card",
        "data_lineage": "Data lineage",
        "api_docs": "API documentation",
        "runbook": "Runbook",
    }


@pytest.mark.parametrize(
    ("text", "section_id"),
    [
        ("costs", "costs"),
        ("  Costs ", "costs"),
        ("3", "costs"),
        ("4", "milestones"),
        ("costs_detail", "costs_detail"),
        ("Costs in", "costs_detail"),
        ("Success metrics", "metrics"),
        ("succ", "metrics"),
        ("Machine", "canvas"),
        ("data l", "data"),
    ],
)
def test_find_section_by_id_order_or_title_prefix(text, section_id):
    found = FLOW.find_section(text)
    assert found is not None and found.id == section_id


# "M" starts both Machine Learning Canvas and Milestones; "D" Data landscape and Deployment.
@pytest.mark.parametrize("text", ["m", "D", "12", "0", "", "  ", "budget", "Cost"])
def test_find_section_refuses_ambiguous_or_unknown_text(text):
    assert FLOW.find_section(text) is None


def test_section_by_id_and_unknown_id():
    assert FLOW.section("data").title == "Data landscape"
    with pytest.raises(KeyError):
        FLOW.section("nope")


def test_walk_yields_the_questions_of_the_given_sections_in_flow_order():
    # Given out of order, the sections still come in flow order.
    ids = [q.id for q in FLOW.walk(("milestones", "intake"))]
    assert ids[0] == "problem" and ids[-1] == "doc_api_owner"
    assert len(ids) == len(FLOW.section("intake").questions) + len(
        FLOW.section("milestones").questions
    )


# Words a person reads in the flow's texts, and in the texts the flows compute from them.
JARGON = (
    "seed",
    "rule of thumb",
    "north star",
    "irreducible",
    "skew",
    "event storming",
    "tactical planning",
    "strategic planning",
    "p95",
    "taxonomy",
    "business understanding",
)


def _read_texts():
    for section in FLOW.sections:
        yield section.id, section.intro
        yield from ((f"{section.id} warning", w.text) for w in section.warnings)
        for q in section.questions:
            for name in ("label", "prompt", "example", "help"):
                yield f"{q.id} {name}", getattr(q, name)
            if q.follow_up is not None:
                yield f"{q.id} follow_up", q.follow_up.ask
    yield "default maintenance", plan_costs.DEFAULT_MAINTENANCE


def test_the_texts_people_read_are_in_plain_words():
    from flows import engine

    found = [
        (where, word)
        for where, text in [*_read_texts(), ("commands", engine.COMMAND_HELP)]
        for word in JARGON
        if word in text.lower()
    ]
    assert found == []
