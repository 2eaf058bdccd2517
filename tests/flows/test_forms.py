"""A section filled in one form, through the pure functions: what it shows, what a submission does."""

import textwrap

import pytest

from flows import forms
from flows.model import default_flow, load_flow
from flows.parse import mention_token, parse_answer
from flows.replies import Ask, IntakeDone, SectionDone, Show
from flows.state import State, Turn
from tests.conftest import NOW

FIRST = textwrap.dedent(
    """
    id: first
    order: 1
    title: Basics
    intro: The basics.
    questions:
      - {id: team, kind: number, label: Team, prompt: "How many?", example: "4", help: h, seed: 000 a}
      - {id: budget, kind: money, label: Budget, prompt: "How much?", example: $10k, help: h,
         seed: 000 a}
      - {id: share, kind: percent, label: Share, prompt: "Share?", example: 20%, help: h,
         seed: 000 a, allow_range: true}
      - {id: due, kind: date, label: Due, prompt: "When?", example: "2030-01-01", help: h,
         seed: 000 a}
      - {id: owner, kind: user, label: Owner, prompt: "Who?", example: "@ana", help: h,
         seed: 000 a}
      - {id: mode, kind: choice, label: Mode, prompt: "Which?", example: Batch, help: h,
         seed: 000 a, choices: [Batch, Real time]}
      - {id: online, kind: yesno, label: Online, prompt: "Online?", example: "yes", help: h,
         seed: 000 a}
      - {id: latency, kind: number, label: Latency, prompt: "How fast?", example: "50", help: h,
         seed: 000 a, when: {question: mode, equals: Real time}}
      - {id: notes, kind: text, label: Notes, prompt: "Anything else?", example: none, help: h,
         seed: 000 a}
    """
)
SECOND = textwrap.dedent(
    """
    id: second
    order: 2
    title: More
    intro: More.
    questions:
      - {id: more, kind: text, label: More, prompt: "More?", example: more, help: h, seed: 000 a}
    """
)
FLOW = load_flow({"01_first.yaml": FIRST, "02_second.yaml": SECOND})
ANA = {"id": "U1ANA", "name": "ana"}
GOOD = {
    "team": "4",
    "budget": "€1.5M",
    "share": "10-30%",
    "due": "2030-01-02",
    "owner": mention_token("U1ANA", "ana"),
    "mode": "Batch",
    "online": "no",
    "notes": "Nothing else",
}


def state(answers=None, current="team") -> State:
    return State(name="Churn", sections=("first", "second"), current=current, answers=answers or {})


def submit(entered, before=None, **kwargs) -> Turn | forms.SectionForm:
    return forms.submit(
        FLOW, before or state(), "first", entered, now=NOW, author=ANA, project_id=7, **kwargs
    )


def test_the_form_shows_the_questions_that_apply_prefilled():
    form = forms.form_of(FLOW, "first", {"team": 4, "mode": "Batch"}, project_id=7, project="C")

    assert [f.question.id for f in form.fields] == [
        "team", "budget", "share", "due", "owner", "mode", "online", "notes"
    ]  # fmt: skip
    assert form.fields[0].initial == "4" and form.fields[5].initial == "Batch"
    assert form.fields[1].initial is None
    real_time = forms.form_of(FLOW, "first", {"mode": "Real time"}, project_id=7, project="C")
    assert "latency" in [f.question.id for f in real_time.fields]


@pytest.mark.parametrize("question", list(default_flow().questions.values()), ids=str)
def test_every_prefill_reads_back_to_its_answer(question):
    value = parse_answer(
        question.kind,
        question.choices[-1] if question.choices else _typical(question.kind),
        now=NOW,
        choices=question.choices,
        allow_range=question.allow_range,
    )
    text = forms.initial_text(question, value)
    again = parse_answer(
        question.kind, text, now=NOW, choices=question.choices, allow_range=question.allow_range
    )
    assert forms.same_answer(question, value, again)


def _typical(kind: str) -> str:
    return {
        "text": "Shelves & bins",
        "number": "1,250.5",
        "money": "€1.5M",
        "percent": "12.5%",
        "date": "2030-02-03",
        "user": mention_token("U1ANA", "ana"),
        "yesno": "no",
    }[kind]


def test_a_good_form_records_every_answer_says_what_changed_and_moves_on():
    turn = submit(GOOD)

    assert isinstance(turn, Turn)
    recorded = {r.question_id: r.value for r in turn.recorded}
    assert recorded == {
        "team": 4,
        "budget": {"amount": 1_500_000, "currency": "EUR"},
        "share": [10, 30],
        "due": "2030-01-02",
        "owner": {"id": "U1ANA", "name": "ana"},
        "mode": "Batch",
        "online": False,
        "notes": "Nothing else",
    }
    changes, done, following = turn.replies
    assert isinstance(changes, Show) and changes.card.title == "Basics: 8 answers saved from a form"
    assert changes.card.fields[0].person == ANA
    assert isinstance(done, SectionDone) and done.section_id == "first"
    assert isinstance(following, Ask) and following.question.id == "more"
    assert turn.state.current == "more"


def test_a_refused_field_stores_nothing_and_comes_back_with_its_error():
    form = submit({**GOOD, "budget": "a lot of money", "team": "a few"})

    assert isinstance(form, forms.SectionForm)
    assert set(form.errors) == {"budget", "team"}
    assert "amount of money" in form.errors["budget"]
    budget = next(f for f in form.fields if f.question.id == "budget")
    notes = next(f for f in form.fields if f.question.id == "notes")
    assert budget.entered == "a lot of money" and notes.entered == "Nothing else"
    assert notes.error is None


def test_unchanged_and_empty_fields_keep_their_answers():
    before = submit(GOOD).state
    turn = submit({**GOOD, "team": "5", "notes": ""}, before=before)

    assert [(r.question_id, r.value) for r in turn.recorded] == [("team", 5)]
    assert turn.state.answers["notes"] == "Nothing else"
    # the same person picked again (a picker sends an id without the name) is no change
    same = submit({"owner": mention_token("U1ANA")}, before=before)
    assert same.recorded == ()


def test_conditions_are_checked_again_as_the_answers_come_in():
    with_latency = submit({**GOOD, "mode": "Real time", "latency": "80"})
    assert {r.question_id for r in with_latency.recorded} >= {"mode", "latency"}

    ignored = submit({**GOOD, "latency": "80"})  # Batch: latency does not apply
    assert "latency" not in {r.question_id for r in ignored.recorded}

    newly = submit({**GOOD, "mode": "Real time"})  # now applies, still unanswered
    changes = newly.replies[0]
    assert changes.card.footer == "Still open in this section: Latency."
    assert not any(isinstance(r, SectionDone) for r in newly.replies)
    assert newly.state.current == "latency"


def test_the_open_question_left_unanswered_keeps_the_conversation_where_it_was():
    turn = submit({"notes": "Later"}, before=state(current="team"))

    assert turn.state.current == "team"
    assert [type(r) for r in turn.replies] == [Show]


def test_a_form_that_completes_a_finished_plan_ends_with_the_plan_card():
    before = state({"more": "done"}, current=None)
    turn = submit(GOOD, before=before)

    assert isinstance(turn.replies[-1], IntakeDone) and turn.done
