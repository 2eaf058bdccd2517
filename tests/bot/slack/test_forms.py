"""A section filled in one Slack modal: the button, views.open, a refused field, then a saved form."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from slack_sdk.models.views import View

from bot.slack.modals import section_modal
from flows import engine, forms
from flows.model import default_flow, load_flow
from flows.parse import mention_token, parse_answer
from flows.state import State
from storage import projects as store
from storage.models import Answer, Project
from tests.conftest import NOW
from tests.transcript import Script

FLOW = default_flow()
# A section with an amount of money in it: a field a person can get wrong in a modal.
MONEY_SECTION = next(s for s in FLOW.sections if any(q.kind == "money" for q in s.questions))


# Checking a modal as Slack does


def check_modal(view: dict[str, Any]) -> None:
    """Check what Slack checks of a modal and slack_sdk does not: counts, lengths, options."""
    assert view["type"] == "modal" and view["callback_id"] == "mlplan_section_form"
    for key in ("title", "submit", "close"):
        assert view[key]["type"] == "plain_text" and 0 < len(view[key]["text"]) <= 24
    assert len(view["private_metadata"]) <= 3000
    blocks = view["blocks"]
    assert 0 < len(blocks) <= 100
    # slack_sdk's models read every block and element back (and check some lengths)
    parsed = View(**view).to_dict()["blocks"]
    assert [b.get("element", b)["type"] for b in parsed] == [
        b.get("element", b)["type"] for b in blocks
    ]
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)) and all(len(i) <= 255 for i in ids)
    for block in blocks:
        if block["type"] != "input":
            continue
        assert block["optional"] is True
        assert 0 < len(block["label"]["text"]) <= 2000 and len(block["hint"]["text"]) <= 2000
        element = block["element"]
        assert element["action_id"] == "value"
        assert len(element.get("placeholder", {}).get("text", "")) <= 150
        options = element.get("options", [])
        assert len(options) <= 100
        for option in options:
            assert 0 < len(option["text"]["text"]) <= 75 and 0 < len(option["value"]) <= 150
        if "initial_option" in element:
            assert element["initial_option"] in options
        if element["type"] == "plain_text_input":
            assert len(element.get("initial_value", "")) <= element["max_length"] <= 3000


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Map each input block's question id to its element."""
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def test_each_kind_is_a_native_input_prefilled_with_its_answer():
    first = load_flow(
        {
            "01_s.yaml": """
id: s
order: 1
title: Everything
intro: One of each kind.
questions:
  - {id: a, kind: text, label: A, prompt: p, example: e, help: h, seed: 000 x}
  - {id: b, kind: number, label: B, prompt: p, example: "4", help: h, seed: 000 x}
  - {id: c, kind: money, label: C, prompt: p, example: $10k, help: h, seed: 000 x}
  - {id: d, kind: percent, label: D, prompt: p, example: 20%, help: h, seed: 000 x}
  - {id: e, kind: date, label: E, prompt: p, example: "2030-01-01", help: h, seed: 000 x}
  - {id: f, kind: user, label: F, prompt: p, example: "@ana", help: h, seed: 000 x}
  - {id: g, kind: choice, label: G, prompt: p, example: X, help: h, seed: 000 x,
     choices: [X, Y]}
  - {id: h, kind: yesno, label: H, prompt: p, example: "yes", help: h, seed: 000 x}
"""
        }
    )
    answers = {
        "a": "Shelves",
        "b": 2.5,
        "c": {"amount": 80000, "currency": "USD"},
        "d": 20,
        "e": "2030-01-02",
        "f": {"id": "U024BE7LH", "name": "bob"},
        "g": "Y",
        "h": False,
    }
    form = forms.form_of(first, "s", answers, project_id=3, project="Churn")
    view = section_modal(form, context="{}")

    check_modal(view)
    elements = inputs(view)
    assert {k: e["type"] for k, e in elements.items()} == {
        "a": "plain_text_input",
        "b": "number_input",
        "c": "plain_text_input",
        "d": "plain_text_input",
        "e": "datepicker",
        "f": "users_select",
        "g": "static_select",
        "h": "radio_buttons",
    }
    assert elements["a"]["multiline"] is True and elements["a"]["initial_value"] == "Shelves"
    assert elements["b"]["initial_value"] == "2.5" and elements["b"]["is_decimal_allowed"]
    assert elements["c"]["initial_value"] == "80000 USD"
    assert elements["c"]["placeholder"]["text"] == "$10k"
    assert elements["d"]["initial_value"] == "20%"
    assert elements["e"]["initial_date"] == "2030-01-02"
    assert elements["f"]["initial_user"] == "U024BE7LH"
    assert elements["g"]["initial_option"]["value"] == "Y"
    assert elements["h"]["initial_option"]["value"] == "no"


def test_a_section_of_more_questions_than_a_modal_holds_says_so():
    many = "\n".join(
        f"  - {{id: q{i}, kind: text, label: Q{i}, prompt: p, example: e, help: h, seed: 000 x}}"
        for i in range(130)
    )
    big = load_flow({"01_s.yaml": f"id: s\norder: 1\ntitle: Big\nintro: i\nquestions:\n{many}\n"})
    view = section_modal(forms.form_of(big, "s", {}, project_id=1, project="P"), context="{}")

    check_modal(view)
    assert len(view["blocks"]) == 100
    assert "33 more questions do not fit in one form" in view["blocks"][-1]["elements"][0]["text"]


# Through HTTP: signed requests, the fake Web API, a real database


def typed(question) -> str:
    """Say what a person enters for a question; people are picked, so they are Slack ids."""
    if question.kind == "user":
        return mention_token("U0CAROL")
    return Script().good_answer(question)


def state_of(view: dict[str, Any], entered: dict[str, str]) -> dict[str, Any]:
    """Fill a modal's inputs as Slack reports them in view_submission's state."""
    values: dict[str, Any] = {}
    for question_id, element in inputs(view).items():
        text = entered.get(question_id)
        kind = element["type"]
        state: dict[str, Any] = {"type": kind}
        if kind == "datepicker":
            state["selected_date"] = text
        elif kind == "users_select":
            state["selected_user"] = text[2:-1] if text else None
        elif kind in ("static_select", "radio_buttons"):
            chosen = [o for o in element["options"] if text and o["value"].lower() == text.lower()]
            state["selected_option"] = chosen[0] if chosen else None
        else:
            state["value"] = text
        values[question_id] = {"value": state}
    return values


async def submit(slack, view: dict[str, Any], entered: dict[str, str], user: str = "U2"):
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "7.8.9",
        "view": {**view, "id": "V1", "state": {"values": state_of(view, entered)}},
    }
    return await slack.post(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )


def form_button(message: dict[str, Any]) -> dict[str, Any] | None:
    for block in message.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id", "").startswith("form:"):
                return element
    return None


async def open_form(slack, message: dict[str, Any]) -> dict[str, Any]:
    """Press a question's "Fill in as a form"; return the modal mlplan opened."""
    opened = len(slack.fake.sent("views.open"))
    button = form_button(message)
    assert button is not None and button["text"]["text"] == "Fill in as a form"
    response = await slack.press(message, button["action_id"], button["value"])
    assert response.status == 200
    [*_, call] = await slack.fake.wait_for("views.open", count=opened + 1)
    assert call.args["trigger_id"] == "4.5.6"
    check_modal(call.args["view"])
    return call.args["view"]


def last_question(slack) -> dict[str, Any]:
    """Return the last question mlplan posted, as the message a person presses buttons of."""
    calls = [
        c
        for c in slack.fake.sent("chat.postMessage")
        if (c.args.get("metadata") or {}).get("event_type") == "mlplan_question"
    ]
    return dict(calls[-1].response["message"])


async def stored(slack) -> tuple[Project, list[Answer]]:
    async with slack.runtime.sessions() as session:
        project = await session.scalar(sa.select(Project))
        rows = await session.scalars(sa.select(Answer).order_by(Answer.id))
        return project, list(rows)


async def test_a_refused_field_is_shown_beside_it_then_a_good_form_is_saved_and_posted(slack):
    thread = await slack.start()
    await slack.command(f"ask Churn model {MONEY_SECTION.id}")
    await slack.settle()
    view = await open_form(slack, last_question(slack))
    metadata = json.loads(view["private_metadata"])
    assert metadata["section_id"] == MONEY_SECTION.id and metadata["channel"] == "C1"
    applying = [q for q in MONEY_SECTION.questions if q.applies({})]
    assert list(inputs(view)) == [q.id for q in applying]

    money = next(q for q in applying if q.kind == "money")
    entered = {q.id: typed(q) for q in applying}
    refused = await submit(slack, view, {**entered, money.id: "a lot of money"})
    body = await refused.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [money.id]
    assert "amount of money" in body["errors"][money.id]
    _, answers = await stored(slack)
    assert answers == []  # nothing of a refused form is stored

    posted = len(slack.posted())
    saved = await submit(slack, view, entered)
    assert saved.status == 200 and await saved.text() == ""
    await slack.settle()
    project, answers = await stored(slack)
    expected = {
        q.id: parse_answer(
            q.kind, entered[q.id], now=NOW, choices=q.choices, allow_range=q.allow_range
        )
        for q in applying
    }
    assert {a.question_id: a.value for a in answers} == expected
    assert all(a.author["id"] == "U2" and a.source_id == "form" for a in answers)
    assert all(a.version == 1 for a in answers)
    after = slack.posted()[posted:]
    assert all(m["channel"] == "C1" and m["thread_ts"] == thread for m in after)
    assert "answers saved from a form" in after[0]["text"]
    assert "<@U2>" in json.dumps(after[0]["blocks"])  # who filled it in
    # Answers may make more questions apply (re-checked after the form): they stay open.
    newly = [
        q.label for q in MONEY_SECTION.questions if q.applies(expected) and q.id not in expected
    ]
    completed = [
        m["metadata"]["event_payload"]["section_id"]
        for m in after
        if (m.get("metadata") or {}).get("event_type") == "mlplan_section_complete"
    ]
    assert completed == ([] if newly else [MONEY_SECTION.id])
    if newly:
        assert f"Still open in this section: {', '.join(newly)}." in json.dumps(after[0]["blocks"])
    assert project.walking_section is None  # the section's walk is over: it was filled in


async def test_the_first_questions_form_answers_the_section_and_the_intake_moves_on(slack):
    thread = await slack.start()
    first = last_question(slack)
    section = FLOW.section_of[first["metadata"]["event_payload"]["question_id"]]
    view = await open_form(slack, first)
    entered = {q: typed(FLOW.questions[q]) for q in inputs(view)}

    saved = await submit(slack, view, entered, user="U3")
    assert saved.status == 200
    await slack.settle()

    project, answers = await stored(slack)
    latest = {a.question_id: a.value for a in answers}
    assert set(latest) == set(entered)
    oracle = engine.start(
        FLOW, State(name="Churn model", sections=project.sections, answers=latest)
    )
    asked = slack.last_question()
    assert asked["thread_ts"] == thread
    assert asked["metadata"]["event_payload"]["question_id"] == oracle.state.current
    assert project.current_question_id == oracle.state.current
    newly = [q for q in section.questions if q.applies(latest) and q.id not in latest]
    completed = [
        m["metadata"]["event_payload"]["section_id"]
        for m in slack.posted("mlplan_section_complete")
    ]
    assert completed == ([] if newly else [section.id])
    if newly:  # a question the answers made apply is asked next, in the thread
        assert oracle.state.current == newly[0].id

    # Opened again, the form is filled in; one change makes one new version, the rest none.
    view = await open_form(slack, first)
    elements = inputs(view)
    assert all(any(k.startswith("initial") for k in elements[q]) for q in entered if q in elements)
    changed = next(q for q in entered if FLOW.questions[q].kind == "text")
    await submit(slack, view, {**entered, changed: "A better answer"}, user="U3")
    await slack.settle()
    async with slack.runtime.sessions() as session:
        history = await store.answer_history(
            session=session, project_id=project.id, question_id=changed
        )
        versions = await session.scalar(sa.select(sa.func.count()).select_from(Answer))
    assert [(a.version, a.value) for a in history] == [
        (1, entered[changed]),
        (2, "A better answer"),
    ]
    assert versions == len(entered) + 1  # the unchanged fields made no new versions
