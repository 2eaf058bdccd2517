"""Slack robustness: signatures, rate limits, outages, permanent failures, workspaces, bad input."""

import time

import sqlalchemy as sa

from storage.models import Answer, Outgoing, Project
from tests.fakes.slack_api import Failure


async def count(slack, model) -> int:
    async with slack.runtime.sessions() as session:
        return await session.scalar(sa.select(sa.func.count()).select_from(model))


async def test_a_forged_signature_is_refused_and_changes_nothing(slack):
    response = await slack.command("new Churn model", secret="not-the-secret")
    assert response.status == 401
    thread = await slack.start("Real")
    forged, _ = await slack.say("forged answer", thread=thread, secret="wrong")
    assert forged.status == 401
    await slack.settle()
    assert await count(slack, Answer) == 0
    assert await count(slack, Project) == 1


async def test_a_request_older_than_five_minutes_is_refused(slack):
    stale = int(time.time()) - 301
    response = await slack.command("new Churn model", timestamp=stale)
    assert response.status == 401
    missing = await slack.client.post(
        "/slack/events",
        data=b"command=%2Fmlplan&text=new+x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert missing.status == 401
    await slack.settle()
    assert await count(slack, Project) == 0
    assert slack.posted() == []


async def test_a_rate_limited_post_waits_and_is_sent_once(slack):
    slack.fake.fail("chat.postMessage", Failure(status=429, error="ratelimited", retry_after=0))
    thread = await slack.start()
    assert thread is not None
    statuses = [c.status for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert statuses == [429, 200, 200]
    assert len(slack.posted()) == 2


async def test_server_errors_are_retried_with_backoff(slack):
    slack.fake.fail("chat.postMessage", Failure(status=500), Failure(status=503))
    await slack.start()
    statuses = [c.status for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert statuses == [500, 503, 200, 200]


async def test_a_message_that_cannot_be_sent_now_is_kept_and_sent_later_in_order(slack):
    thread = await slack.start()
    slack.fake.fail("chat.postMessage", *[Failure(status=503)] * 3)  # more than the client retries
    await slack.say("Customers leave", thread=thread)
    await slack.settle()
    async with slack.runtime.sessions() as session:
        pending = list(
            await session.scalars(sa.select(Outgoing).where(Outgoing.status == "pending"))
        )
    assert len(pending) == 1 and pending[0].last_error == "internal_error"
    assert await count(slack, Answer) == 1  # the answer itself was never at risk
    await slack.adapter.delivery.deliver()  # too early: the backoff has not passed
    assert len(slack.posted("mlplan_question")) == 1
    slack.clock.advance(minutes=1)
    assert await slack.adapter.delivery.deliver() == 1
    await slack.adapter.delivery.deliver()
    questions = slack.posted("mlplan_question")
    assert [q["metadata"]["event_payload"]["question_id"] for q in questions] == [
        "problem",
        "target_users",
    ]


async def test_a_channel_mlplan_cannot_post_in_is_reported_to_the_person(slack):
    slack.fake.fail("chat.postMessage", Failure(error="not_in_channel"))
    response = await slack.command("new Churn model")
    assert response.status == 200
    await slack.settle()
    notice = await slack.fake.wait_for_response()
    assert "not_in_channel" in notice[0]["text"] and "/invite @mlplan" in notice[0]["text"]
    async with slack.runtime.sessions() as session:
        statuses = sorted((await session.scalars(sa.select(Outgoing.status))).all())
    assert statuses == ["failed", "failed"]  # the parent, and the question that had no thread


async def test_two_workspaces_with_a_project_of_the_same_name_cannot_see_each_other(slack):
    first = await slack.start("Churn model", team="T1")
    second = await slack.start("Churn model", team="T2")
    assert first != second
    await slack.say("T1's problem", thread=first, team="T1")
    await slack.say("T2 answering in T1's thread", thread=first, team="T2")
    await slack.settle()
    async with slack.runtime.sessions() as session:
        rows = (await session.execute(sa.select(Answer.value))).scalars().all()
    assert rows == ["T1's problem"]
    status = await slack.command("status Churn model", team="T2")
    body = await status.json()
    assert body["response_type"] == "ephemeral" and "0 of" in body["text"] + str(body["blocks"])
    listing = await (await slack.command("list", team="T3")).json()
    assert "No projects yet" in listing["text"]


async def test_unknown_subcommands_and_projects_get_private_help(slack):
    unknown = await (await slack.command("nwe Churn")).json()
    assert unknown["response_type"] == "ephemeral"
    assert (
        "I don't know the command `nwe`" in unknown["text"]
        and "/mlplan new &lt;project name&gt;" in unknown["text"]
    )
    await slack.start("Churn model")
    missing = await (await slack.command("status churn modle")).json()
    assert (
        missing["response_type"] == "ephemeral" and "Did you mean 'Churn model'" in missing["text"]
    )
    duplicate = await (await slack.command("new churn MODEL")).json()
    assert "already a project called" in duplicate["text"]
    helped = await (await slack.command("help")).json()
    assert "/mlplan ask &lt;project&gt; &lt;section&gt;" in helped["text"]
    await slack.settle()
    assert len(slack.posted()) == 2  # only the one intake's parent and first question


async def test_ask_posts_one_section_in_the_projects_thread(slack):
    thread = await slack.start()
    response = await slack.command("ask Churn model costs")
    assert response.status == 200 and await response.text() == ""
    await slack.settle()
    question = slack.last_question()
    assert question["thread_ts"] == thread
    assert question["metadata"]["event_payload"]["question_id"] == "currency"
    assert question["metadata"]["event_payload"]["choices"][0] == "USD"


async def test_malformed_bodies_get_a_400_and_forged_ones_a_401(slack):
    for body, content_type in (
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"a string"', "application/json"),
        ("payload=garbage", "application/x-www-form-urlencoded"),
        ("payload=%5B1%5D", "application/x-www-form-urlencoded"),
    ):
        response = await slack.post(body, content_type)
        assert response.status == 400, body
        assert "Traceback" not in await response.text()
        forged = await slack.post(body, content_type, secret="wrong")
        assert forged.status == 401, body
    await slack.settle()
    assert await count(slack, Project) == 0


async def test_well_signed_events_with_odd_fields_are_ignored_with_a_200(slack, caplog):
    thread = await slack.start()
    odd = [
        {"type": "message", "user": "U2", "text": "no channel", "ts": "1.1", "thread_ts": thread},
        {"type": "message", "user": "U2", "text": "no ts", "channel": "C1", "thread_ts": thread},
        {
            "type": "message",
            "user": "U2",
            "text": 42,
            "channel": "C1",
            "ts": "1.2",
            "thread_ts": thread,
        },
        {
            "type": "message",
            "user": ["U2"],
            "text": "odd user",
            "channel": "C1",
            "ts": "1.3",
            "thread_ts": thread,
        },
        {"type": "message", "subtype": "message_changed", "channel": "C1", "message": "not a dict"},
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "message": {"user": "U2", "ts": "1", "thread_ts": thread, "text": None},
        },
    ]
    for event in odd:
        response = await slack.event(event)
        assert response.status == 200, event
    await slack.settle()
    assert await count(slack, Answer) == 0
    assert "Traceback" not in caplog.text
    # The intake still works afterwards.
    response, _ = await slack.say("Churn is high", thread=thread)
    assert response.status == 200
    await slack.settle()
    assert await count(slack, Answer) == 1


async def test_control_characters_in_an_answer_are_stripped_before_it_is_stored(slack):
    thread = await slack.start()
    response, _ = await slack.say("Churn\x00 is\x07 high\x1b[31m", thread=thread)
    assert response.status == 200
    await slack.settle()
    async with slack.runtime.sessions() as session:
        [value] = (await session.scalars(sa.select(Answer.value))).all()
    assert value == "Churn is high"
