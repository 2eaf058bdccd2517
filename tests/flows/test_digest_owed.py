"""The digest and what people owe: open questions counted per project, sections owed by whom, the
subscriber's own late ones first in "Needs you", and each project's stage."""

from dataclasses import replace
from datetime import timedelta

from flows.digest import ProjectSnapshot, TrackedItem
from flows.digest_build import build_digest
from flows.digest_facts import assess_all, owing
from flows.model import default_flow
from flows.owed import BUILDING, INTAKE, LIVE, PLANNING, OpenAsk, OwedSection, stage_of
from tests.flows.portfolio import NOW, TODAY, snapshots, whole_plan

FLOW = default_flow()
ADA = {"id": "U0ADA", "name": "ada"}
CAROL = {"id": "U0CAROL", "name": "carol"}


def project(n: int, name: str, **given) -> ProjectSnapshot:
    fields = {
        "id": n,
        "name": name,
        "stage": None,
        "answers": whole_plan(FLOW, doc_model_card_owner=ADA),
        "milestones": (),
        "docs": (),
        "last_activity": NOW - timedelta(days=1),
        "owner": ADA,
        "intake_done": True,
    }
    return ProjectSnapshot(**(fields | given))


def digest(projects, **kw):
    return build_digest(FLOW, projects, today=TODAY, now=NOW, **kw)


LATE = OpenAsk("target_users", ADA, TODAY - timedelta(days=2))
SOON = OpenAsk("value_proposition", CAROL, TODAY + timedelta(days=3))
OWED = OwedSection("data", CAROL, NOW - timedelta(days=9))
FRESH = OwedSection("costs_detail", ADA, NOW - timedelta(days=1))


def test_open_questions_are_counted_per_project_and_sections_owed_say_who_owes_what():
    churn = project(1, "Churn model", open_questions=(LATE, SOON), owed=(OWED,))
    fraud = project(2, "Fraud alerts", open_questions=(SOON,))
    quiet = project(3, "Doc search")
    made = digest([churn, fraud, quiet])
    summary = {f.label: f.value for f in made.summary}
    assert summary["Open questions (2)"] == "Churn model (2), Fraud alerts (1)"
    assert summary["Sections owed (1)"] == "Churn model: Data landscape (@{U0CAROL|carol})"
    rows = {p.name: p for p in made.projects}
    assert "2 open questions" in rows["Churn model"].facts
    assert "@{U0CAROL|carol} owes “Data landscape”" in rows["Churn model"].facts
    assert "1 open question" in rows["Fraud alerts"].facts
    assert not any("open question" in f for f in rows["Doc search"].facts)


def test_a_late_question_and_a_long_owed_section_need_their_owners_a_fresh_one_does_not():
    churn = project(1, "Churn model", open_questions=(LATE,), owed=(OWED,))
    fraud = project(2, "Fraud alerts", open_questions=(SOON,), owed=(FRESH,))
    made = digest([churn, fraud])
    assert made.needs_you == (
        "Churn model: “Data landscape” unanswered 9 days after it was assigned: @{U0CAROL|carol},"
        " answer it or hand it on",
    )
    [churn_row] = [p for p in made.projects if p.name == "Churn model"]
    assert "“Target users” left for later, past its revisit day (Sat 21 Nov)" in churn_row.facts
    assert owing(assess_all(FLOW, [churn, fraud], today=TODAY, now=NOW), today=TODAY, now=NOW) == {
        "U0ADA",
        "U0CAROL",
    }


def test_a_subscriber_who_owes_a_late_question_reads_it_first_others_do_not():
    churn = project(1, "Churn model", open_questions=(LATE,))
    fraud = project(2, "Fraud alerts", open_questions=(replace(SOON, owner=ADA),))
    portfolio = [*snapshots(FLOW), replace(churn, id=101), replace(fraud, id=102)]
    mine = digest(portfolio, person="U0ADA")
    theirs = digest(portfolio, person="U0CAROL")
    shared = digest(portfolio)
    own = (
        "Churn model: your question “Target users”, left for later, was to be revisited by"
        " Sat 21 Nov: @{U0ADA|ada}, answer or skip it"
    )
    assert mine.needs_you[0] == own
    assert len(mine.needs_you) == 5  # still at most five lines: the shared ones fill the rest
    assert mine.needs_you[1:] == shared.needs_you[:4]
    assert theirs.needs_you == shared.needs_you and own not in shared.needs_you
    # A question whose revisit day has not passed is nobody's line yet.
    assert not any("Fraud alerts: your" in line for line in mine.needs_you)


def test_the_stage_is_the_plans_answer_where_given_else_derived_from_progress_and_milestones():
    assert stage_of(answered="Growth", core_done=False, done_milestones=()) == "Growth"
    assert stage_of(answered=None, core_done=False, done_milestones=("baseline",)) == INTAKE
    assert stage_of(answered=None, core_done=True, done_milestones=()) == PLANNING
    assert stage_of(answered=None, core_done=True, done_milestones=("baseline",)) == BUILDING
    assert stage_of(answered=None, core_done=True, done_milestones=("deployment",)) == LIVE
    done = TrackedItem("Model deployed", ADA, TODAY, "done", key="deployment", id=1)
    planned = project(1, "Planned", intake_done=True)
    live = project(2, "Live", milestones=(done,))
    early = project(3, "Early", intake_done=False, answers={"problem": "x"})
    answered = project(
        4, "Answered", answers=whole_plan(FLOW, doc_model_card_owner=ADA, stage="MVP")
    )
    facts = {p.name: p.facts for p in digest([planned, live, early, answered]).projects}
    assert "stage: planning" in facts["Planned"] and "stage: live" in facts["Live"]
    assert "stage: intake" in facts["Early"] and "stage: MVP" in facts["Answered"]
