"""A whole intake through Slack's HTTP API: bad answers, an edit, a retried event, skip and back."""

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
    for _ in range(400):  # a bound far above the questions and refusals of the plan
        last = slack.posted()[-1]
        if (last.get("metadata") or {}).get("event_type") == "mlplan_intake_complete":
            break
        question = flow.questions[slack.last_question()["metadata"]["event_payload"]["question_id"]]
        for text in map(slack_form, script.inputs_for(question)):
            response, ts = await slack.say(
                text, thread=thread, event_id=f"Ev-{question.id}-{text[:20]}"
            )
            assert response.status == 200
            if question.id == "current_solution" and not retried:
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
    assert [m["metadata"]["event_payload"]["section_id"] for m in sections] == [
        s.id for s in flow.sections
    ]
    assert len(refusals) == 7
    refused = [m for m in slack.posted("mlplan_question") if ":warning:" in str(m["blocks"])]
    assert len(refused) == 7  # each refusal asked the same question again
    async with slack.runtime.sessions() as session:
        project = await session.scalar(sa.select(Project))
        answers = await store.latest_answers(session=session, project_id=project.id)
        history = await store.answer_history(
            session=session, project_id=project.id, question_id="data_sources"
        )
    assert answers == {**expected.answers, "data_sources": "CRM and billing data"}
    assert project.intake_done_at is not None and project.stage == expected.answers["stage"]
    assert [h.version for h in history] == [1, 2]
    parent_updates = [c.args for c in slack.fake.sent("chat.update") if c.args["ts"] == thread]
    assert (
        parent_updates and "81 of 81" not in parent_updates[0]["blocks"][1]["elements"][0]["text"]
    )
    assert f"{len(answers)} of" in parent_updates[-1]["blocks"][1]["elements"][0]["text"]
