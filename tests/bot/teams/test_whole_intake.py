"""A whole intake (the plan's core) through Teams' HTTP endpoint: typed answers, card buttons,
mentions, a retry, then the deep dives on offer."""

import sqlalchemy as sa

from storage import projects as store
from storage.models import Project
from tests.bot.teams.conftest import PERSONAL
from tests.transcript import PROJECT, Script, mentioned, plan_inputs


def teams_form(text: str) -> dict:
    """Type an answer as Teams sends it: a neutral mention becomes `<at>` and its entity."""
    person = mentioned(text)
    if person is not None:
        user_id, name = person
        tag = f"<at>{name}</at>"
        entity = {"type": "mention", "text": tag, "mentioned": {"id": user_id, "name": name}}
        return {"text": tag, "entities": [entity]}
    return {"text": text}


def button(sent, answer: str) -> dict | None:
    """Find a question card's Action.Submit whose answer is this text."""
    actions = list(sent.card.get("actions", []))
    for element in sent.card["body"]:
        actions += element.get("actions", [])
    for action in actions:
        data = action.get("data", {}).get("mlplan_answer", {})
        if data.get("answer", "").lower() == answer.lower():
            return action["data"]
    return None


async def test_a_whole_intake_in_a_personal_chat_stores_every_answer_and_ends_with_the_plan_card(
    teams, flow
):
    _, expected, refusals = plan_inputs(flow)
    await teams.say(f"new {PROJECT}")
    script = Script()
    pressed = retried = follow_ups = 0
    asked = set()
    for _ in range(100):  # a bound far above the questions and refusals of the core
        if teams.fake.sent(lambda s: "mlplan_intake_complete" in s.value):
            break
        sent = teams.last_question()
        question = flow.questions[sent.value["mlplan_question"]["question_id"]]
        asked.add(question.id)
        # A follow-up asks about the answer just saved (the same question): keep it.
        follow_up = "👉" in str(sent.card["body"])
        follow_ups += follow_up
        for text in ["keep"] if follow_up else script.inputs_for(question):
            data = button(sent, text) if question.kind in ("choice", "yesno") else None
            if data is not None and text != "skip":
                pressed += 1
                await teams.press(sent, data)
                continue
            body = await teams.say(**teams_form(text))
            if question.id == "prediction_task" and not retried:
                retried += 1  # the connector delivers the same activity again: handled once
                assert (await teams.post(body)).status == 200
                await teams.settle()
    else:
        raise AssertionError("the intake did not complete")

    sent = teams.fake.sent()
    assert all(s.conversation == PERSONAL for s in sent)
    assert len([s for s in sent if "mlplan_intake_complete" in s.value]) == 1
    sections = [
        s.value["mlplan_section_complete"]["section_id"]
        for s in sent
        if "mlplan_section_complete" in s.value
    ]
    assert sections == list(flow.core)
    assert len(asked) == 29 and "doc_api_owner" not in asked  # batch: no API documentation
    assert pressed == 1  # the prediction mode's Batch button
    assert follow_ups == 4  # two targets and a baseline with no figure, euros in a USD plan
    refused = [s for s in teams.fake.questions() if s.card["body"][0].get("color") == "Attention"]
    assert len(refused) == len(refusals) == 6
    # After the plan's card, the deep dives on offer, each with Start now, Assign… and Later.
    offer = sent[-1] if sent[-1].method != "update" else sent[-2]
    deep = [
        [a["data"]["mlplan_deep"] for a in element["actions"]]
        for element in offer.card["body"]
        if element["type"] == "ActionSet"
    ]
    assert [row[0]["section_id"] for row in deep] == list(flow.deep)
    assert [d["action"] for d in deep[0]] == ["start", "assign", "later"]
    async with teams.runtime.sessions() as session:
        project = await session.scalar(sa.select(Project))
        answers = await store.latest_answers(session=session, project_id=project.id)
    assert answers == expected.answers
    assert project.intake_done_at is not None
    # Each pressed card was replaced by what was answered, without its buttons.
    updates = teams.fake.sent(lambda s: s.method == "update")
    assert len(updates) >= pressed
    assert all("actions" not in (u.card or {}) for u in updates)
