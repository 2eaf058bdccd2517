"""A Slack intake through HTTP: slash command, thread replies, metadata, cards, buttons, edits."""

import sqlalchemy as sa

from storage import projects as store
from storage import workspaces
from storage.models import Answer


async def answers(slack) -> list[tuple[str, object, int]]:
    async with slack.runtime.sessions() as session:
        rows = await session.execute(
            sa.select(Answer.question_id, Answer.value, Answer.version).order_by(Answer.id)
        )
        return [tuple(r) for r in rows]


async def test_new_posts_the_parent_message_then_the_first_question_in_its_thread(slack):
    response = await slack.command("new Churn model")
    assert response.status == 200
    assert await response.text() == ""
    await slack.settle()
    parent, question = slack.posted()
    assert parent["channel"] == "C1" and "thread_ts" not in parent
    assert parent["text"] == "Planning Churn model, owned by @u1"
    assert "Owner: <@U1>" in json_text(parent["blocks"])
    parent_ts = slack.fake.sent("chat.postMessage")[0].response["ts"]
    assert question["channel"] == "C1" and question["thread_ts"] == parent_ts
    assert question["metadata"]["event_type"] == "mlplan_question"
    payload = question["metadata"]["event_payload"]
    assert (
        payload["question_id"] == "problem"
        and payload["kind"] == "text"
        and "choices" not in payload
    )
    assert isinstance(payload["project_id"], int)


async def test_a_reply_is_stored_before_slack_gets_its_200_then_the_next_question_follows(slack):
    thread = await slack.start()
    response, _ = await slack.say("Customers cancel without warning", thread=thread)
    assert response.status == 200
    assert await answers(slack) == [
        ("problem", "Customers cancel without warning", 1)
    ]  # before sending
    await slack.settle()
    question = slack.last_question()
    assert question["thread_ts"] == thread
    assert question["metadata"]["event_payload"]["question_id"] == "target_users"


async def test_a_malformed_answer_is_refused_and_the_same_question_asked_again(slack):
    thread = await slack.start()
    for text in ["A problem", "Users", "Fewer losses", "Reorders", "Units per day"]:
        await slack.say(text, thread=thread)
    await slack.settle()
    assert slack.last_question()["metadata"]["event_payload"]["question_id"] == "prediction_mode"
    await slack.say("perhaps", thread=thread)
    await slack.settle()
    refusal = slack.last_question()
    assert refusal["metadata"]["event_payload"]["question_id"] == "prediction_mode"
    assert "Real time" in json_text(refusal["blocks"][0]) and ":warning:" in json_text(refusal)
    assert [a[0] for a in await answers(slack)] == [
        "problem",
        "target_users",
        "value_proposition",
        "decisions",
        "prediction_task",
    ]


def json_text(message: dict) -> str:
    import json

    return json.dumps(message)


async def test_a_retried_event_is_handled_once(slack):
    thread = await slack.start()
    _, ts = await slack.say("First answer", thread=thread, event_id="EvRETRY")
    event = {
        "type": "message",
        "channel": "C1",
        "user": "U2",
        "text": "First answer",
        "ts": ts,
        "thread_ts": thread,
    }
    again = await slack.event(event, event_id="EvRETRY", retry=1)
    assert again.status == 200
    await slack.settle()
    assert await answers(slack) == [("problem", "First answer", 1)]
    assert len(slack.posted("mlplan_question")) == 2


async def test_messages_that_are_not_a_persons_reply_in_a_project_thread_are_ignored(slack):
    thread = await slack.start()
    await slack.event(
        {"type": "message", "channel": "C1", "user": "U2", "text": "top level", "ts": "1.1"}
    )
    await slack.say("other thread", thread="999.000")
    bot = {
        "type": "message",
        "channel": "C1",
        "bot_id": "B9",
        "text": "a bot",
        "ts": "2.2",
        "thread_ts": thread,
        "subtype": "bot_message",
    }
    await slack.event(bot)
    join = {
        "type": "message",
        "channel": "C1",
        "user": "U3",
        "text": "joined",
        "ts": "3.3",
        "thread_ts": thread,
        "subtype": "channel_join",
    }
    await slack.event(join)
    await slack.say("in another workspace", thread=thread, team="T2")
    await slack.settle()
    assert await answers(slack) == []
    assert len(slack.posted()) == 2


async def test_skip_back_status_and_help_in_the_thread(slack):
    thread = await slack.start()
    await slack.say("skip", thread=thread)
    await slack.say("back", thread=thread)
    await slack.settle()
    assert slack.last_question()["metadata"]["event_payload"]["question_id"] == "problem"
    await slack.say("help", thread=thread)
    await slack.say("status", thread=thread)
    await slack.settle()
    texts = [m["text"] for m in slack.posted()[-3:]]
    assert "Reply to answer the open question" in texts[0]
    assert texts[1].startswith("Status: Churn model")
    # Status names what was skipped and asks the open question again, to answer it there.
    assert "Skipped (does not apply)" not in json_text(slack.posted()[-2])  # back undid it
    assert slack.posted()[-1]["metadata"]["event_payload"]["question_id"] == "problem"
    assert await answers(slack) == [("problem", None, 1)]
    await slack.say("skip", thread=thread)
    await slack.say("status", thread=thread)
    await slack.settle()
    status, again = slack.posted()[-2:]
    assert "*Skipped (does not apply)*\\nProblem statement" in json_text(status)
    assert again["metadata"]["event_payload"]["question_id"] == "target_users"


async def test_buttons_answer_the_open_question_and_stale_buttons_do_nothing(slack):
    thread = await slack.start()
    for text in ["A problem", "Users", "Fewer losses", "Reorders", "Units per day"]:
        await slack.say(text, thread=thread)
    await slack.settle()
    question_call = slack.fake.sent("chat.postMessage")[-1]
    message = {**question_call.response["message"], "thread_ts": thread}
    actions = [
        e for b in question_call.args["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert [e["action_id"] for e in actions] == [
        "answer:prediction_mode:0",
        "answer:prediction_mode:1",
        "skip:prediction_mode",
        "later:prediction_mode",
    ]
    response = await slack.press(message, "answer:prediction_mode:0", "Batch")
    assert response.status == 200
    await slack.settle()
    assert (await answers(slack))[-1] == ("prediction_mode", "Batch", 1)
    update = slack.fake.sent("chat.update")[-1].args
    assert update["ts"] == message["ts"] and not any(
        b["type"] == "actions" for b in update["blocks"]
    )
    again = await slack.press(message, "answer:prediction_mode:1", "Real time")
    assert again.status == 200
    await slack.settle()
    assert (await answers(slack))[-1] == ("prediction_mode", "Batch", 1)
    ephemeral = slack.fake.sent("chat.postEphemeral")[-1].args
    assert ephemeral["user"] == "U2" and "no longer the open question" in ephemeral["text"]


async def test_editing_a_reply_makes_a_new_version_and_says_so(slack):
    thread = await slack.start()
    _, ts = await slack.say("Churn is high", thread=thread)
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C1",
        "ts": "9.9",
        "message": {
            "type": "message",
            "user": "U2",
            "text": "Churn is very high",
            "ts": ts,
            "thread_ts": thread,
            "edited": {"user": "U2", "ts": "9.9"},
        },
        "previous_message": {
            "type": "message",
            "user": "U2",
            "text": "Churn is high",
            "ts": ts,
            "thread_ts": thread,
        },
    }
    await slack.event(edit)
    await slack.settle()
    assert await answers(slack) == [
        ("problem", "Churn is high", 1),
        ("problem", "Churn is very high", 2),
    ]
    assert "Updated “Problem statement” to Churn is very high." in slack.posted()[-1]["text"]
    assert slack.last_question()["metadata"]["event_payload"]["question_id"] == "target_users"


async def test_people_cannot_smuggle_pings_or_links_through_names_or_answers(slack):
    thread = await slack.start(name="<!channel> Churn")
    await slack.say("<!here> see <https://evil.example|this> and <@U999>", thread=thread)
    await slack.say("back", thread=thread)
    await slack.settle()
    dump = json_text(slack.posted())
    assert (
        "<!channel>" not in dump
        and "<!here>" not in dump
        and "<https://evil" not in dump
        and "<@U999>" not in dump
    )
    assert "&lt;!channel&gt; Churn" in slack.posted()[0]["text"]
    async with slack.runtime.sessions() as session:
        ws = await workspaces.get_or_create(
            session=session, platform="slack", external_id="T1", now=slack.clock()
        )
        assert (
            await store.find_project(session=session, workspace_id=ws.id, name="<!channel> Churn")
            is not None
        )


async def test_dates_are_read_in_the_persons_slack_time_zone(slack):
    slack.fake.users["U2"]["tz"] = "Pacific/Auckland"
    slack.clock.now = slack.clock.now.replace(hour=12)  # already Tuesday 01:00 in Auckland
    thread = await slack.start()
    await slack.command("ask Churn model milestones")
    await slack.settle()
    await slack.say("<@U024BE7LH>", thread=thread)  # the first reply: mlplan asks Slack who U2 is
    await slack.settle()
    assert any(c.method == "users.info" and c.args["user"] == "U2" for c in slack.fake.calls)
    await slack.say("tomorrow", thread=thread)
    await slack.settle()
    assert (await answers(slack))[-1] == ("ms_data_pipeline_due", "2026-11-25", 1)


async def test_ask_walks_a_section_in_the_thread_and_keep_keeps_each_answer(slack):
    thread = await slack.start()
    await slack.say("Churn is high", thread=thread)
    await slack.say("Account managers", thread=thread)
    response = await slack.command("ask Churn model intake")
    assert response.status == 200
    await slack.settle()
    first = slack.last_question()
    assert first["thread_ts"] == thread
    payload = first["metadata"]["event_payload"]
    assert payload["question_id"] == "problem" and payload["kind"] == "text"
    assert "Current answer: Churn is high" in json_text([first])
    await slack.say("keep", thread=thread)
    await slack.settle()
    second = slack.last_question()
    assert second["metadata"]["event_payload"]["question_id"] == "target_users"
    assert "Current answer: Account managers" in json_text([second])
    await slack.say("Retention team", thread=thread)
    await slack.settle()
    assert slack.last_question()["metadata"]["event_payload"]["question_id"] == "value_proposition"
    assert await answers(slack) == [
        ("problem", "Churn is high", 1),
        ("target_users", "Account managers", 1),
        ("target_users", "Retention team", 2),
    ]
