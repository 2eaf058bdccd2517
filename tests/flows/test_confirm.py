"""What mlplan confirms of an answer, and the follow-up it asks once, through the pure engine."""

from pathlib import Path

import yaml

import flows
from flows import engine, summary
from flows.model import load_flow
from flows.replies import Ask, IntakeDone, Say, SectionDone
from flows.state import Recorded, State
from tests.conftest import NOW
from tests.flows.test_engine import FLOW, examples_until, last_ask, only, run
from tests.flows.test_model import question, section

FLOW_DIR = Path(flows.__file__).parent / "sections"


def asked_after(question_id: str, *answers: str, **overrides: str):
    """Answer the examples until `question_id`, then these answers; return every turn after."""
    return run([*examples_until(question_id, **overrides), *answers])[-len(answers) :]


# Confirmations


def test_a_date_is_confirmed_as_saved_in_the_next_question():
    (turn,) = asked_after("ms_data_pipeline_due", "2026-12-11")
    ask = only(turn, Ask)
    assert ask.question.id == "ms_baseline_owner"
    assert ask.confirmation == "Saved: Fri 11 Dec 2026."
    assert ask.follow_up is None


def test_a_relative_date_is_confirmed_as_the_day_it_was_read_as():
    (turn,) = asked_after("ms_data_pipeline_due", "in 3 weeks")
    assert last_ask(turn).confirmation == "Saved: Mon 14 Dec 2026."  # NOW is Mon 23 Nov 2026


def test_a_percentage_range_is_confirmed_as_kept_as_a_range_and_one_figure_is_not():
    (ranged,) = asked_after("maintenance_share", "10-20 %")
    assert last_ask(ranged).confirmation == "Saved, kept as a range: 10–20%."
    (single,) = asked_after("maintenance_share", "20%")
    assert last_ask(single).confirmation is None


def test_a_plain_answer_is_not_confirmed():
    (turn,) = asked_after("problem", "Customers leave")
    assert last_ask(turn).confirmation is None


# Another currency than the plan's


def test_an_amount_in_another_currency_is_asked_about_at_once_and_saved():
    (turn,) = asked_after("monthly_cost_per_person", "€9.5k")  # the plan is in USD
    ask = only(turn, Ask)
    assert ask.question.id == "monthly_cost_per_person" and turn.state.current == ask.question.id
    assert turn.recorded == (
        Recorded("monthly_cost_per_person", {"amount": 9500, "currency": "EUR"}, "€9.5k"),
    )
    assert "in EUR" in ask.follow_up and "currency is USD" in ask.follow_up
    assert "not converted" in ask.follow_up and "`keep` keeps €9.5k" in ask.follow_up
    assert ask.current == "€9.5k"  # shown as the answer `keep` keeps


def test_keep_after_the_currency_follow_up_keeps_the_amount_and_moves_on():
    _, kept = asked_after("monthly_cost_per_person", "€9.5k", "keep")
    assert kept.recorded == ()
    assert last_ask(kept).question.id == "infrastructure" and last_ask(kept).follow_up is None
    assert kept.state.answers["monthly_cost_per_person"] == {"amount": 9500, "currency": "EUR"}


def test_an_amount_in_the_plans_currency_after_the_follow_up_replaces_it():
    _, replaced = asked_after("monthly_cost_per_person", "€9.5k", "$10k")
    assert replaced.state.answers["monthly_cost_per_person"] == {"amount": 10000, "currency": "USD"}
    assert last_ask(replaced).question.id == "infrastructure"


def test_the_currency_follow_up_is_asked_once():
    _, again = asked_after("monthly_cost_per_person", "€9.5k", "£8k")
    assert again.state.answers["monthly_cost_per_person"] == {"amount": 8000, "currency": "GBP"}
    assert last_ask(again).question.id == "infrastructure"


def test_an_amount_without_a_currency_or_in_the_plans_own_is_not_asked_about():
    for typed in ("9500", "€9.5k"):
        (turn,) = asked_after("monthly_cost_per_person", typed, currency="EUR")
        assert last_ask(turn).question.id == "infrastructure"


# Milestones out of order


def test_a_milestone_due_before_the_one_declared_before_it_is_asked_about():
    (turn,) = asked_after("ms_baseline_due", "2027-02-01", ms_data_pipeline_due="2027-03-01")
    ask = only(turn, Ask)
    assert ask.question.id == "ms_baseline_due"
    assert ask.follow_up == (
        "Baseline model trained (Mon 1 Feb 2027) is before Data pipelines built (Mon 1 Mar 2027)."
        " Is that right? `keep` keeps the date, or type another."
    )
    assert ask.confirmation == "Saved: Mon 1 Feb 2027."
    assert turn.state.answers["ms_baseline_due"] == "2027-02-01"


def test_keep_keeps_the_date_out_of_order():
    _, kept = asked_after(
        "ms_baseline_due", "2027-02-01", "keep", ms_data_pipeline_due="2027-03-01"
    )
    assert kept.state.answers["ms_baseline_due"] == "2027-02-01"
    assert last_ask(kept).question.id == "ms_deploy_owner"


def test_a_date_after_a_later_milestone_is_asked_about_too():
    state = run(examples_until("ms_review_due"))[-1].state  # deployment in 3 months
    edited = engine.start_edit(FLOW, state, "ms_data_pipeline_due").state
    turn = engine.advance(FLOW, edited, "2027-06-01", now=NOW)
    ask = only(turn, Ask)
    assert ask.question.id == "ms_data_pipeline_due"
    assert "Data pipelines built (Tue 1 Jun 2027) is after Baseline model trained" in ask.follow_up


def test_dates_in_order_and_dates_on_one_day_are_not_asked_about():
    (turn,) = asked_after("ms_baseline_due", "2027-03-01", ms_data_pipeline_due="2027-03-01")
    assert last_ask(turn).question.id == "ms_deploy_owner"


# Targets and baselines that are not measurable


def test_a_target_with_no_figure_and_no_time_frame_gets_one_follow_up():
    (turn,) = asked_after("outcome_target", "Improve retention")
    ask = only(turn, Ask)
    assert ask.question.id == "outcome_target"
    assert ask.follow_up.startswith("That names no figure and no time frame. By how much,")
    assert "measured how, by when?" in ask.follow_up
    assert turn.state.answers["outcome_target"] == "Improve retention"


def test_a_target_missing_only_its_time_frame_says_so():
    (turn,) = asked_after("outcome_target", "Cut churn by 2 points")
    assert last_ask(turn).follow_up.startswith("That names no time frame.")


def test_a_measurable_target_moves_on():
    (turn,) = asked_after("outcome_target", "Cut churn from 6% to 4% by the end of 2027")
    assert last_ask(turn).question.id == "output_metric"


def test_the_follow_up_can_be_skipped_and_the_card_then_warns_the_target_is_not_measurable():
    inputs = examples_until("outcome_target")
    turns = run([*inputs, "Improve retention", "skip"])
    skipped = turns[-1]
    assert skipped.recorded == ()  # `skip` keeps the saved answer
    assert skipped.state.answers["outcome_target"] == "Improve retention"
    assert last_ask(skipped).question.id == "output_metric"
    state = skipped.state
    metrics = {q.id for q in FLOW.section("metrics").questions}
    while state.current in metrics:
        turn = engine.advance(FLOW, state, FLOW.questions[state.current].example, now=NOW)
        state = turn.state
    card = next(r.card for r in turn.replies if isinstance(r, SectionDone))
    assert any(w.startswith("The outcome target is not measurable") for w in card.warnings)


def test_a_second_vague_answer_is_taken_without_asking_again():
    _, again = asked_after("outcome_target", "Improve retention", "Improve retention a lot")
    assert again.state.answers["outcome_target"] == "Improve retention a lot"
    assert last_ask(again).question.id == "output_metric"


def test_a_baseline_without_a_figure_is_followed_up_and_a_figure_clears_the_warning():
    asked, answered = asked_after("output_baseline", "About what the buyers do today", "MAE 4.6")
    assert last_ask(asked).question.id == "output_baseline"
    assert last_ask(asked).follow_up.startswith("That names no figure. What does it score")
    assert last_ask(answered).question.id == "output_target"
    warnings = summary.plan_card(FLOW, answered.state).warnings
    assert not any("baseline names no figure" in w for w in warnings)


def test_an_output_target_needs_a_figure_but_no_date():
    # When the model must reach it is the milestones' part of the plan.
    (with_figure,) = asked_after("output_target", "MAE under 3 units")
    assert SectionDone in {type(r) for r in with_figure.replies}
    (vague,) = asked_after("output_target", "Better than the baseline")
    assert last_ask(vague).question.id == "output_target"
    assert last_ask(vague).follow_up.startswith("That names no figure.")


def test_walking_a_section_follows_up_then_goes_on_with_the_walk():
    state = run(examples_until("currency"))[-1].state
    walking = engine.start_walk(FLOW, state, "metrics")
    turn = engine.advance(FLOW, walking.state, "keep", now=NOW)  # outcome metric
    asked = engine.advance(FLOW, turn.state, "Happier customers", now=NOW)
    assert last_ask(asked).follow_up and asked.state.walk == "metrics"
    kept = engine.advance(FLOW, asked.state, "keep", now=NOW)
    assert last_ask(kept).question.id == "output_metric" and kept.state.walk == "metrics"


def test_an_edited_message_says_what_is_doubtful_without_asking_again():
    state = run(examples_until("infrastructure"))[-1].state
    turn = engine.revise(FLOW, state, "monthly_cost_per_person", "€9k", now=NOW)
    (reply,) = turn.replies
    assert isinstance(reply, Say)
    assert reply.text.startswith("Updated “Cost per person-month” to €9k. That amount is in EUR")
    assert turn.state.current == "infrastructure"


def test_a_follow_up_on_the_cores_last_answer_holds_the_intakes_end_until_it_is_kept():
    flow = load_flow(
        {
            "01_a.yaml": section(
                "a",
                1,
                question("goal", follow_up={"needs": ["figure"], "ask": "How much?"}),
                core=True,
            ),
            "02_b.yaml": section("b", 2),
        }
    )
    turn = engine.start(flow, State(name="P", sections=flow.core))
    asked = engine.advance(flow, turn.state, "more", now=NOW)
    assert only(asked, Ask).follow_up == "That names no figure. How much?"
    assert not asked.done and asked.state.intake_done is False
    kept = engine.advance(flow, asked.state, "keep", now=NOW)
    assert kept.done and kept.state.intake_done is True
    assert [type(r) for r in kept.replies][:2] == [SectionDone, IntakeDone]
    # Asked again later, the plan's card does not come a second time.
    again = engine.start_walk(flow, kept.state, "a")
    done = engine.advance(flow, again.state, "keep", now=NOW)
    assert IntakeDone not in {type(r) for r in done.replies}


def test_the_packaged_follow_ups_are_declared_beside_their_questions():
    needs = {q.id: q.follow_up.needs for q in FLOW.questions.values() if q.follow_up}
    assert needs == {
        "outcome_target": ("figure", "time_frame"),
        "output_baseline": ("figure",),
        "output_target": ("figure",),
    }
    text = (FLOW_DIR / "02_metrics.yaml").read_text()
    warnings = {w["id"]: w["when"] for w in yaml.safe_load(text)["warnings"]}
    assert warnings["outcome_target_not_measurable"] == {
        "question": "outcome_target",
        "lacks": ["figure", "time_frame"],
    }
