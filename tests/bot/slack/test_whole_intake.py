"""A whole intake (the plan's core) through Slack's HTTP API: bad answers, an edit, a retried
event, skip and back, then the deep dives on offer."""

import sqlalchemy as sa

from storage import projects as store
from storage.models import Project
from tests.transcript import PROJECT, Script, mentioned, plan_inputs


def slack_form(text: str) -> str:
    """Type an answer as Slack sends it: a neutral mention becomes `<@id|name>`."""
    person = mentioned(text)
    return f"<@{person[0]}|{person[1]}>" if person else text


async def test_a_whole_intake_through_http_ends_with_every_answer_stored_and_the_plan_card(
    slack, flow
):
    _, expected, refusals = plan_inputs(flow)
    thread = await slack.start(PROJECT)
    script = Script()
    edited = retried = False
    follow_ups = 0
    asked = set()
    for _ in range(100):  # a bound far above the questions and refusals of the core
        if slack.posted("mlplan_intake_complete"):
            break
        last = slack.last_question()
        question = flow.questions[last["metadata"]["event_payload"]["question_id"]]
        asked.add(question.id)
        # A follow-up asks about the answer just saved (the same question): keep it.
        follow_up = ":point_right:" in str(last["blocks"])
        follow_ups += follow_up
        inputs = ["keep"] if follow_up else script.inputs_for(question)
        for text in map(slack_form, inputs):
            response, ts = await slack.say(
                text, thread=thread, event_id=f"Ev-{question.id}-{text[:20]}"
            )
            assert response.status == 200
            if question.id == "prediction_task" and not retried:
                retried = True  # Slack retries the event: handled once
                event = {
                    "type": "message",
                    "channel": "C1",
                    "user": "U2",
                    "text": text,
                    "ts": ts,
                    "thread_ts": thread,
                }
                await slack.event(event, event_id=f"Ev-{question.id}-{text[:20]}", retry=1)
        await slack.settle()
        if question.id == "data_sources" and not edited:
            edited = True  # an edit of an earlier answer is a new version, the open question stays
            await slack.event(
                {
                    "type": "message",
                    "subtype": "message_changed",
                    "channel": "C1",
                    "message": {
                        "type": "message",
                        "user": "U2",
                        "text": "CRM and billing data",
                        "ts": ts,
                        "thread_ts": thread,
                    },
                    "previous_message": {
                        "type": "message",
                        "user": "U2",
                        "text": "old",
                        "ts": ts,
                        "thread_ts": thread,
                    },
                }
            )
            await slack.settle()
    else:
        raise AssertionError("the intake did not complete")

    completed = slack.posted("mlplan_intake_complete")
    assert len(completed) == 1
    sections = slack.posted("mlplan_section_complete")
    assert [m["metadata"]["event_payload"]["section_id"] for m in sections] == list(flow.core)
    # The core: 29 questions for batch predictions (no API documentation), no deep dive asked.
    assert len(asked) == 29 and asked == {q.id for q in flow.walk(flow.core)} - {"doc_api_owner"}
    assert len(refusals) == 6
    # The scripted targets and baseline name no figure, and the infrastructure is in euros:
    # each is asked about once, and kept.
    assert follow_ups == 4
    refused = [m for m in slack.posted("mlplan_question") if ":warning:" in str(m["blocks"])]
    assert len(refused) == 6  # each refusal asked the same question again
    # After the plan's card, the deep dives on offer: start now, assign, later, each.
    offer = slack.posted()[-1]
    assert slack.posted()[-2]["metadata"]["event_type"] == "mlplan_intake_complete"
    rows = [b for b in offer["blocks"] if b["type"] == "actions"]
    assert [r["block_id"].split(":")[2] for r in rows] == list(flow.deep)
    assert [e["type"] for e in rows[0]["elements"]] == ["button", "users_select", "button"]
    assert offer["thread_ts"] == thread
    async with slack.runtime.sessions() as session:
        project = await session.scalar(sa.select(Project))
        answers = await store.latest_answers(session=session, project_id=project.id)
        history = await store.answer_history(
            session=session, project_id=project.id, question_id="data_sources"
        )
    assert answers == {**expected.answers, "data_sources": "CRM and billing data"}
    assert project.intake_done_at is not None and project.stage is None  # a deep dive asks it
    assert [h.version for h in history] == [1, 2]
    parent_updates = [c.args for c in slack.fake.sent("chat.update") if c.args["ts"] == thread]
    assert parent_updates and "of 68" in parent_updates[-1]["blocks"][1]["elements"][0]["text"]
    assert f"{len(answers)} of" in parent_updates[-1]["blocks"][1]["elements"][0]["text"]
