"""A section filled in one Teams card: the button, the form, a refused field, then a saved form."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.teams.render import render
from flows import forms
from flows.model import default_flow
from flows.parse import parse_answer
from storage.models import Answer, Project
from tests.bot.teams.conftest import PERSONAL
from tests.bot.teams.test_render import check_activity, check_card, elements
from tests.conftest import NOW
from tests.transcript import Script

FLOW = default_flow()
MONEY_SECTION = next(s for s in FLOW.sections if any(q.kind == "money" for q in s.questions))
ADA_ID = "29:1ada"


def typed(question) -> str:
    """Say what a person enters for a question in a card's input (a person by email)."""
    if question.kind == "user":
        return "carol@example.com"
    return Script().good_answer(question)


def form_inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Map each form input's question id to the input, in the card's order."""
    return {
        e["id"].removeprefix("q:"): e
        for e in card["body"]
        if e["type"].startswith("Input.") and e["id"].startswith("q:")
    }


def save_data(card: dict[str, Any]) -> dict[str, Any]:
    (save,) = [a for a in card["actions"] if a["title"] == "Save"]
    return save["data"]


async def open_form(teams, sent) -> Any:
    """Press a question card's "Fill in as a form"; return the form mlplan sent."""
    before = len(teams.fake.sent(lambda s: "mlplan_form" in s.value))
    actions = sent.card.get("actions", []) + [
        a for e in sent.card["body"] if e["type"] == "ActionSet" for a in e["actions"]
    ]
    (button,) = [a for a in actions if a["title"] == "Fill in as a form"]
    await teams.press(sent, button["data"])
    forms_sent = teams.fake.sent(lambda s: "mlplan_form" in s.value)
    assert len(forms_sent) == before + 1
    check_card(forms_sent[-1].card)  # against the official Adaptive Cards 1.5 schema
    return forms_sent[-1]


async def stored(teams) -> tuple[Project, list[Answer]]:
    async with teams.runtime.sessions() as session:
        project = await session.scalar(sa.select(Project))
        return project, list(await session.scalars(sa.select(Answer).order_by(Answer.id)))


def test_every_sections_form_is_a_valid_card_prefilled_and_with_errors():
    for section in FLOW.sections:
        empty = forms.form_of(FLOW, section.id, {}, project_id=3, project="Churn model")
        check_activity(render(empty, project_id=3))
        answers = {
            q.id: parse_answer(
                q.kind, typed(q), now=NOW, choices=q.choices, allow_range=q.allow_range
            )
            for q in section.questions
        }
        full = forms.form_of(FLOW, section.id, answers, project_id=3, project="Churn model")
        card = check_activity(render(full, project_id=3))
        assert all("value" in i for i in form_inputs(card).values())
        refused = forms.SectionForm(
            3,
            "Churn model",
            section,
            tuple(
                f.__class__(f.question, entered="??", error="Not understood.") for f in full.fields
            ),
        )
        card = check_activity(render(refused, project_id=3))
        assert all(i["errorMessage"] == "Not understood." for i in form_inputs(card).values())


async def test_a_refused_field_comes_back_under_it_then_a_good_form_is_saved(teams):
    await teams.say("new Churn model")
    await teams.say(f"/ask Churn model {MONEY_SECTION.id}")
    question = teams.last_question()
    form = await open_form(teams, question)
    assert form.conversation == PERSONAL
    applying = [q for q in MONEY_SECTION.questions if q.applies({})]
    inputs = form_inputs(form.card)
    assert list(inputs) == [q.id for q in applying]
    data = save_data(form.card)
    assert data["mlplan_form"]["section_id"] == MONEY_SECTION.id

    money = next(q for q in applying if q.kind == "money")
    entered = {q.id: typed(q) for q in applying}
    values = {f"q:{k}": v for k, v in entered.items()}
    await teams.press(form, {**data, **values, f"q:{money.id}": "a lot of money"})
    again = teams.fake.sent(lambda s: "mlplan_form" in s.value)[-1]
    assert again.id != form.id
    card = again.card
    check_card(card)
    bad = form_inputs(card)[money.id]
    assert "amount of money" in bad["errorMessage"] and bad["value"] == "a lot of money"
    body = card["body"]
    below = body[body.index(bad) + 1]
    assert below["color"] == "Attention" and "amount of money" in below["text"]
    assert form_inputs(card)[applying[0].id].get("value") is not None  # what was entered stays
    _, answers = await stored(teams)
    assert answers == []

    sent_before = len(teams.fake.sent())
    await teams.press(again, {**save_data(card), **values})
    _, answers = await stored(teams)
    expected = {
        q.id: parse_answer(
            q.kind, entered[q.id], now=NOW, choices=q.choices, allow_range=q.allow_range
        )
        for q in applying
    }
    assert {a.question_id: a.value for a in answers} == expected
    assert all(a.author["id"] == ADA_ID and a.source_id == "form" for a in answers)
    after = teams.fake.sent()[sent_before:]
    # The submitted card is replaced by what was done; what changed is posted in the chat.
    updates = [s for s in after if s.method == "update"]
    update = updates[0]
    assert update.id == again.id and "actions" not in update.card
    assert "saved from the form" in str(update.card)
    assert any("answers saved from a form" in s.text for s in after)
    newly = [q for q in MONEY_SECTION.questions if q.applies(expected) and q.id not in expected]
    completed = [s for s in after if "mlplan_section_complete" in s.value]
    assert len(completed) == (0 if newly else 1)
    # A finished section updates the project's first message too (its progress).
    assert [u.id for u in updates[1:]] == (["m1"] if completed else [])


async def test_a_person_shown_in_the_form_and_left_as_it_is_is_not_changed(teams):
    await teams.say("new Churn model")
    owner = next(q for q in FLOW.questions.values() if q.kind == "user")
    section = FLOW.section_of[owner.id]
    await teams.say(f"/ask Churn model {section.id}")
    mention = {
        "type": "mention",
        "text": "<at>Ben Okafor</at>",
        "mentioned": {"id": "29:1ben", "name": "Ben Okafor"},
    }
    while teams.last_question().value["mlplan_question"]["question_id"] != owner.id:
        await teams.say("skip")
    await teams.say("<at>Ben Okafor</at>", entities=[mention])
    first = next(
        s
        for s in teams.fake.questions()
        if s.value["mlplan_question"]["question_id"] in {q.id for q in section.questions}
        and s.card["body"][0].get("style") == "heading"
    )
    form = await open_form(teams, first)
    person = form_inputs(form.card)[owner.id]
    assert person["value"] == "@Ben Okafor"
    data = save_data(form.card)
    await teams.press(form, {**data, f"q:{owner.id}": "@Ben Okafor"})

    _, answers = await stored(teams)
    owners = [a for a in answers if a.question_id == owner.id]
    assert [a.value for a in owners] == [{"id": "29:1ben", "name": "Ben Okafor"}]


async def test_many_choices_are_picked_from_a_list_and_answer_the_question(teams):
    await teams.say("new Churn model")
    listed = next(q for q in FLOW.questions.values() if q.kind == "choice" and len(q.choices) > 3)
    await teams.say(f"/edit Churn model {listed.id}")
    question = teams.last_question()
    assert question.value["mlplan_question"]["question_id"] == listed.id
    (choice_set,) = elements(question.card, "Input.ChoiceSet")
    actions = question.card.get("actions", []) + [
        a for e in question.card["body"] if e["type"] == "ActionSet" for a in e["actions"]
    ]
    (answer,) = [a for a in actions if a["title"] == "Answer"]
    await teams.press(question, {**answer["data"], choice_set["id"]: listed.choices[-1]})

    _, answers = await stored(teams)
    assert [(a.question_id, a.value) for a in answers] == [(listed.id, listed.choices[-1])]
