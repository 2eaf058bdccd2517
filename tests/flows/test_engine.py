"""Conversation transcripts through the pure engine: a list of inputs in, the turns out."""

import pytest

from flows import engine, summary
from flows.model import default_flow
from flows.replies import (
    Ask,
    CommandRef,
    DeepDives,
    IntakeDone,
    Say,
    SectionDone,
    Show,
    spell,
)
from flows.state import Recorded, State, Turn
from tests.conftest import NOW

FLOW = default_flow()
ALL = tuple(s.id for s in FLOW.sections)
# The intake that `new` runs: the core sections; the deep dives are offered after it.
CORE = FLOW.core
# Questions asked only when an earlier answer matches: none applies before any answer.
CONDITIONAL = {q.id for q in FLOW.questions.values() if q.when is not None}


def run(inputs: list[str], state: State | None = None) -> list[Turn]:
    """Start the flow and feed it each input; return the turns, the start's first."""
    turn = engine.start(FLOW, state or State(name="Churn", sections=CORE))
    turns = [turn]
    for text in inputs:
        turn = engine.advance(FLOW, turn.state, text, now=NOW)
        turns.append(turn)
    return turns


def examples_until(
    question_id: str | None = None, state: State | None = None, **overrides: str
) -> list[str]:
    """Return the inputs that answer each asked question with its example (or an override)
    until `question_id` is asked, or until the scope is done."""
    turn = engine.start(FLOW, state or State(name="Churn", sections=CORE))
    inputs: list[str] = []
    while turn.state.current not in (None, question_id):
        question = FLOW.questions[turn.state.current]
        inputs.append(overrides.get(question.id, question.example))
        turn = engine.advance(FLOW, turn.state, inputs[-1], now=NOW)
    assert turn.state.current == question_id, f"{question_id} was never asked"
    return inputs


def only(turn: Turn, kind: type):
    """Return the single reply of a turn, checking its type."""
    assert len(turn.replies) == 1, turn.replies
    assert isinstance(turn.replies[0], kind), turn.replies
    return turn.replies[0]


def last_ask(turn: Turn) -> Ask:
    """Return the last reply of a turn, checking it is a question."""
    ask = turn.replies[-1]
    assert isinstance(ask, Ask), turn.replies
    return ask


def intake_answers() -> dict:
    """Return the answers the first section's examples give."""
    return dict(run(examples_until("outcome_metric"))[-1].state.answers)


# Starting and answering


def test_the_first_reply_asks_the_problem_and_opens_the_section():
    (turn,) = run([])
    ask = only(turn, Ask)
    assert ask.question.id == "problem" and ask.section.id == "intake"
    assert ask.number == 1 and ask.opens_section
    assert ask.current is None and ask.refusal is None
    assert turn.state.current == "problem" and turn.state.answers == {}
    assert turn.done is False and turn.recorded == ()


def test_a_text_answer_is_recorded_and_the_next_question_asked():
    turn = run(["Customers leave without warning"])[-1]
    assert turn.recorded == (
        Recorded("problem", "Customers leave without warning", "Customers leave without warning"),
    )
    assert turn.state.answers == {"problem": "Customers leave without warning"}
    ask = only(turn, Ask)
    assert ask.question.id == "target_users" and ask.number == 2
    assert ask.opens_section is False


def test_start_resumes_at_the_open_question():
    state = State(name="Churn", sections=CORE, current="decisions", answers={"problem": "x"})
    ask = only(engine.start(FLOW, state), Ask)
    assert ask.question.id == "decisions" and ask.opens_section


def test_start_without_an_open_question_asks_the_first_unvisited_one():
    state = State(name="Churn", sections=CORE, answers={"problem": "x", "target_users": None})
    turn = engine.start(FLOW, state)
    assert only(turn, Ask).question.id == "value_proposition"
    assert turn.state.current == "value_proposition"


# Commands


def test_help_explains_the_open_question_and_changes_nothing():
    before, after = run(["help"])
    say = only(after, Say)
    assert FLOW.questions["problem"].help in say.text
    assert FLOW.questions["problem"].example in say.text
    assert "`skip`" in say.text
    assert after.state == before.state and after.recorded == ()


def test_status_shows_the_status_card_and_changes_nothing():
    before, after = run(["Customers leave", "status"])[-2:]
    show, again = after.replies
    assert isinstance(show, Show) and show.card.title == "Status: Churn"
    assert isinstance(again, Ask) and again.question.id == "target_users"  # asked again
    fields = {f.label: f.value for f in show.card.fields}
    assert fields["1. The problem and its predictions"] == "1 of 7"
    assert fields["5. deep dive: Screening and workflow"] == "0 of 7"
    assert fields["Open question"] == "Target users"
    assert after.state == before.state and after.recorded == ()


def test_skip_records_a_skip_and_moves_on():
    turn = run(["skip"])[-1]
    assert turn.recorded == (Recorded("problem", None, "skip", skipped=True),)
    assert turn.state.answers == {"problem": None}
    assert only(turn, Ask).question.id == "target_users"


@pytest.mark.parametrize("text", ["  SKIP ", "Skip", "skip\n"])
def test_commands_ignore_case_and_surrounding_spaces(text):
    turn = run([text])[-1]
    assert turn.recorded[0].skipped and turn.recorded[0].value is None
    assert turn.state.answers == {"problem": None}


@pytest.mark.parametrize(("text", "kind"), [(" HELP", Say), ("Status  ", Show), ("BACK", Say)])
def test_other_commands_ignore_case_too(text, kind):
    before, after = run([text])
    assert isinstance(after.replies[0], kind), after.replies
    assert after.state == before.state and after.recorded == ()


def test_back_on_the_first_question_has_nothing_to_go_back_to():
    before, after = run(["back"])
    assert "nothing to go back to" in only(after, Say).text
    assert after.state == before.state


def test_back_returns_to_the_previous_question_and_shows_its_answer():
    turn = run(["Customers leave", "Account managers", "back"])[-1]
    ask = only(turn, Ask)
    assert ask.question.id == "target_users" and ask.number == 2
    assert ask.current == "Account managers"
    assert turn.state.current == "target_users" and turn.recorded == ()
    # Going back changes no answer.
    assert turn.state.answers == {"problem": "Customers leave", "target_users": "Account managers"}


def test_back_shows_a_skipped_answer_as_skipped():
    ask = only(run(["skip", "back"])[-1], Ask)
    assert ask.question.id == "problem" and ask.current == "skipped"


def test_reanswering_after_back_records_the_new_value_and_jumps_to_the_first_unvisited():
    turns = run(["Customers leave", "Account managers", "back", "back", "Customers churn"])
    turn = turns[-1]
    assert turn.recorded == (Recorded("problem", "Customers churn", "Customers churn"),)
    assert turn.state.answers == {"problem": "Customers churn", "target_users": "Account managers"}
    # Not target_users, the next in order: it was answered already.
    ask = only(turn, Ask)
    assert ask.question.id == "value_proposition" and ask.number == 3


def test_skip_on_an_answered_question_keeps_the_answer_and_moves_on():
    turn = run(["Customers leave", "Account managers", "back", "back", "skip"])[-1]
    assert turn.recorded == ()
    assert turn.state.answers == {"problem": "Customers leave", "target_users": "Account managers"}
    assert only(turn, Ask).question.id == "value_proposition"


def test_back_after_the_last_question_returns_to_it():
    inputs = examples_until()
    turn = run([*inputs, "back"])[-1]
    ask = only(turn, Ask)
    assert ask.question.id == "doc_runbook_owner"
    assert ask.current == "@ana"


# Refusals


def test_a_malformed_answer_asks_the_same_question_with_a_refusal():
    before, after = run([*examples_until("monthly_cost_per_person"), "lots"])[-2:]
    ask = only(after, Ask)
    assert ask.question.id == "monthly_cost_per_person"
    assert ask.refusal is not None and "`$120k`" in ask.refusal
    assert ask.number == last_ask(before).number and ask.opens_section is False
    assert after.recorded == () and after.state == before.state


def test_a_refused_answer_after_back_still_shows_the_current_answer():
    turn = run(["Customers leave", "back", "   "])[-1]
    ask = only(turn, Ask)
    assert ask.question.id == "problem" and ask.refusal
    assert ask.current == "Customers leave"
    assert turn.state.answers == {"problem": "Customers leave"}


def test_an_answer_is_parsed_for_its_kind():
    turn = run([*examples_until("monthly_cost_per_person", currency="EUR"), "€9.5k"])[-1]
    assert turn.recorded == (
        Recorded("monthly_cost_per_person", {"amount": 9500, "currency": "EUR"}, "€9.5k"),
    )
    assert last_ask(turn).question.id == "infrastructure"


# Conditions


def screening(**overrides: str) -> State:
    """Return the state of a finished core with the screening deep dive in scope."""
    core = run(examples_until())[-1].state
    return State(name="Churn", sections=(*CORE, "screening"), answers=core.answers)


def test_heuristic_enough_no_skips_the_why_ml_question():
    state = screening()
    turn = run([*examples_until("heuristic_enough", state), "no"], state)[-1]
    assert turn.state.answers["heuristic_enough"] is False
    assert last_ask(turn).question.id == "workflow_before"
    assert "heuristic_why_ml" not in turn.state.answers


def test_heuristic_enough_yes_asks_why_ml():
    state = screening()
    turn = run([*examples_until("heuristic_enough", state), "yes"], state)[-1]
    assert turn.state.answers["heuristic_enough"] is True
    assert last_ask(turn).question.id == "heuristic_why_ml"


def test_changing_an_answer_opens_a_question_it_now_enables():
    state = screening()
    inputs = examples_until("workflow_after", state, heuristic_enough="no")
    # Back from workflow_after to workflow_before, then to heuristic_enough.
    turn = run([*inputs, "back", "back", "yes"], state)[-1]
    assert last_ask(turn).question.id == "heuristic_why_ml"


def test_a_skipped_benefit_leaves_the_costs_and_opens_the_milestones():
    turn = run([*examples_until("benefit_per_year"), "skip"])[-1]
    assert turn.state.answers["benefit_per_year"] is None
    replies = turn.replies
    assert isinstance(replies[0], SectionDone) and replies[0].section_id == "costs"
    assert last_ask(turn).question.id == "ms_data_pipeline_owner"


def test_batch_prediction_asks_no_latency_and_no_api_documentation():
    inputs = examples_until(prediction_mode="Batch")
    state = run(inputs)[-1].state
    assert state.answers["prediction_mode"] == "Batch"
    assert "doc_api_owner" not in state.answers and len(inputs) == 29
    deep = [q.id for q in engine.in_scope(FLOW, State("Churn", ALL, answers=state.answers))]
    assert "prediction_frequency" in deep
    assert not {"latency_target_ms", "doc_api_owner", "doc_api_due"} & set(deep)


def test_real_time_prediction_asks_the_api_documentation_and_latency_not_the_frequency():
    inputs = examples_until(prediction_mode="Real time")
    state = run(inputs)[-1].state
    assert state.answers["doc_api_owner"] == {"name": "ana"} and len(inputs) == 30
    deep = [q.id for q in engine.in_scope(FLOW, State("Churn", ALL, answers=state.answers))]
    assert {"latency_target_ms", "doc_api_due"} <= set(deep)
    assert "prediction_frequency" not in deep


# Sections


def test_finishing_a_section_shows_its_card_then_opens_the_next():
    turn = run(examples_until("outcome_metric"))[-1]
    done, ask = turn.replies
    assert isinstance(done, SectionDone) and done.section_id == "intake"
    assert done.card.title == "Section 1 of 4 done: The problem and its predictions"
    assert {f.label for f in done.card.fields} >= {"Problem statement", "Prediction mode"}
    assert isinstance(ask, Ask) and ask.question.id == "outcome_metric"
    assert ask.section.id == "metrics" and ask.opens_section is True


def test_only_the_first_question_of_a_section_opens_it():
    turns = run(examples_until("outcome_metric"))
    asks = [last_ask(t) for t in turns]
    assert [a.question.id for a in asks if a.opens_section] == ["problem", "outcome_metric"]


def test_a_complete_intake_is_the_core_and_ends_with_the_plan_and_the_deep_dives():
    turns = run(examples_until())
    turn = turns[-1]
    assert turn.done is True and turn.state.current is None
    section_done, intake_done, offer = turn.replies
    assert isinstance(section_done, SectionDone) and section_done.section_id == "milestones"
    assert isinstance(intake_done, IntakeDone)
    assert intake_done.card.title == "Plan: Churn"
    # 29 of the 68 questions that apply so far questions: the core, for batch predictions.
    assert intake_done.card.progress == (29, 68)
    assert isinstance(offer, DeepDives)
    assert [o.section_id for o in offer.sections] == list(FLOW.deep)
    assert [o.open_questions for o in offer.sections] == [7, 4, 6, 10, 5, 4, 3]
    assert CommandRef("ask", ("Churn", "<section>")) in offer.text
    # Every core section's card came once, in order.
    done = [r.section_id for t in turns for r in t.replies if isinstance(r, SectionDone)]
    assert done == list(CORE)
    # Only the final turn is done.
    assert [t.done for t in turns].count(True) == 1


def test_a_deep_dive_after_the_core_ends_with_the_deep_dives_still_open_not_the_plan_again():
    core = run(examples_until())[-1].state
    walk = engine.start_walk(FLOW, core, "costs_detail")
    assert only(walk, Ask).question.id == "domain_expert_cost"
    assert only(walk, Ask).opens_section is True
    turns = run(examples_until(state=walk.state), walk.state)
    final = turns[-1]
    done, last, offer = final.replies
    assert isinstance(done, SectionDone) and done.card.title == "Deep dive done: Costs in detail"
    assert "Cost per 1,000 predictions" not in {f.label for f in done.card.fields}
    assert isinstance(last, Say) and last.text == "That was the last question of this sitting."
    assert isinstance(offer, DeepDives) and "costs_detail" not in [
        o.section_id for o in offer.sections
    ]
    assert not any(isinstance(r, IntakeDone) for t in turns for r in t.replies)
    assert final.state.walk is None and final.state.current is None


def test_the_last_deep_dive_says_every_section_is_answered():
    state = State(name="Churn", sections=ALL)
    answers = dict(run(examples_until(state=state), state)[-1].state.answers)
    answers.pop("doc_runbook_due")
    almost = State(name="Churn", sections=ALL, answers=answers)
    final = run(examples_until(state=almost), almost)[-1]
    done, last = final.replies
    assert isinstance(done, SectionDone) and done.section_id == "doc_dates"
    assert last == Say(
        "That was the last question of this sitting. Every section of 'Churn' is answered."
    )


def test_text_after_the_plan_is_done_gets_a_plain_reply():
    before, after = run([*examples_until(), "one more thing"])[-2:]
    assert "Every question of 'Churn' in the core of the plan" in only(after, Say).text
    assert after.state == before.state and after.recorded == ()
    assert after.done is False


def test_start_on_a_complete_plan_reports_it():
    state = run(examples_until())[-1].state
    turn = engine.start(FLOW, state)
    card, offer = turn.replies
    assert isinstance(card, IntakeDone) and isinstance(offer, DeepDives)
    assert card.card.title == "Plan: Churn" and card.card.progress == (29, 68)
    assert turn.done is True and turn.state.current is None


def test_a_sitting_limited_to_one_section_ends_with_what_is_still_open():
    state = State(name="Churn", sections=("costs",), answers=intake_answers())
    inputs = examples_until(state=state)
    turns = run(inputs, state)
    first = only(turns[0], Ask)
    assert first.question.id == "currency" and first.number == 1 and first.opens_section
    assert first.total == 7
    final = turns[-1]
    assert final.done is False and final.state.current is None
    done, say = final.replies
    assert isinstance(done, SectionDone) and done.section_id == "costs"
    assert isinstance(say, Say)
    text = spell(say.text, lambda ref: " ".join((ref.verb, *ref.args)))
    assert "Still open in 'Churn': Success metrics, Milestones and documentation." in text
    assert text.endswith("Use ask <project> <section> to answer them.")
    assert CommandRef("ask", ("<project>", "<section>")) in say.text
    for title in ("The problem and its predictions", "Costs", "Screening"):
        assert title not in text


def test_help_after_a_limited_sitting_does_not_claim_the_plan_is_complete():
    state = State(name="Churn", sections=("costs",), answers=intake_answers())
    turn = run([*examples_until(state=state), "help"], state)[-1]
    say = only(turn, Say)
    # Two core sections are still open, so "every question is answered" would mislead.
    assert "Every question of 'Churn' in this sitting is answered" in say.text


def test_help_after_the_whole_plan_says_every_question_is_answered():
    state = State(name="Churn", sections=ALL)
    turn = run([*examples_until(state=state), "help"], state)[-1]
    assert only(turn, Say).text.startswith("Every question of 'Churn' in the plan is answered.")


def test_back_in_a_limited_sitting_stays_in_its_sections():
    state = State(name="Churn", sections=("costs",), answers=intake_answers())
    after = run(["back"], state)[-1]
    assert "nothing to go back to" in only(after, Say).text


# Progress and metadata


def test_progress_numbers_rise_by_one_per_answer_over_the_applicable_total():
    turns = run(examples_until())
    asks = [last_ask(t) for t in turns[:-1]]
    assert [a.number for a in asks] == list(range(1, len(asks) + 1))
    # 76 questions, 9 conditional; 30 in the core, one of them (API docs) for online only.
    assert len(FLOW.questions) == 76 and len(CONDITIONAL) == 9
    assert sum(len(FLOW.section(s).questions) for s in CORE) == 30
    assert asks[0].total == 29
    assert asks[-1].total == 29 == len(asks)
    for ask, turn in zip(asks, turns[:-1], strict=True):
        applicable = [q for q in FLOW.walk(CORE) if q.applies(turn.state.answers)]
        assert ask.total == len(applicable)


def test_total_grows_when_an_answer_enables_a_question():
    inputs = examples_until("prediction_mode")
    before = last_ask(run(inputs)[-1])
    online = last_ask(run([*inputs, "Real time"])[-1])
    batch = last_ask(run([*inputs, "Batch"])[-1])
    assert (before.number, before.total) == (6, 29)
    assert (online.number, online.total) == (7, 30)
    assert (batch.number, batch.total) == (7, 29)


def test_ask_metadata_of_a_text_question():
    ask = only(run([])[0], Ask)
    assert ask.metadata(42) == {"project_id": 42, "question_id": "problem", "kind": "text"}


def test_ask_metadata_of_a_choice_question_lists_its_choices():
    ask = last_ask(run(examples_until("prediction_mode"))[-1])
    assert ask.metadata(42) == {
        "project_id": 42,
        "question_id": "prediction_mode",
        "kind": "choice",
        "choices": ["Batch", "Real time"],
    }


# Answer later


def test_later_leaves_an_open_question_that_is_not_a_skip_and_moves_on():
    turn = run(["Customers leave", "later"])[-1]
    assert turn.recorded == (Recorded("target_users", None, "later", skipped=True),)
    noted, ask = turn.replies
    assert isinstance(noted, Say)
    assert noted.text == (
        "“Target users” is an open question now, yours to answer by Mon 30 Nov 2026:"
        " `status` lists it until it is answered."
    )
    assert isinstance(ask, Ask) and ask.question.id == "value_proposition"


def test_later_on_an_answered_question_keeps_the_answer():
    turn = run(["Customers leave", "back", "later"])[-1]
    assert turn.recorded == () and turn.state.answers == {"problem": "Customers leave"}
    assert only(turn, Ask).question.id == "target_users"


def test_status_counts_skipped_and_later_apart_and_lists_the_open_ones():
    state = run(["Customers leave", "later", "skip"])[-1].state
    later = {"target_users": ("@ana", NOW.date())}
    card = summary.status_card(FLOW, state, later)
    shown = {f.label: f.value for f in card.fields}
    assert shown["1. The problem and its predictions"] == "3 of 7, 1 skipped, 1 for later"
    assert shown["Answer later: Target users"] == "@ana, revisit Mon 23 Nov 2026"
    assert shown["Open question"] == "Decisions from predictions"
