"""The outbox under faults: nothing overtakes a waiting message, no claim sleeps, bad rows give up.

Issue 11, defects 1-3, reproduced through Slack's real path (signed events in, the fake Web API
answering 500, 429 or a permanent error, the real database).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from bot.app import build_runtime, build_web_app
from bot.placement import Row
from bot.sender import AT_ONCE, MAX_ATTEMPTS
from bot.slack.app import SLACK
from storage import workspaces
from storage.models import Outgoing
from tests.fakes.slack_api import Failure


def question_ids(slack) -> list[str]:
    return [q["metadata"]["event_payload"]["question_id"] for q in slack.posted("mlplan_question")]


async def rows(slack, *where) -> list[Outgoing]:
    async with slack.runtime.sessions() as session:
        return list(await session.scalars(sa.select(Outgoing).where(*where).order_by(Outgoing.id)))


async def test_a_message_waiting_for_its_retry_holds_back_the_rest_of_its_thread(slack):
    """Three 500s, an answer, four seconds, another answer: the questions still arrive in order."""
    thread = await slack.start()
    slack.fake.fail("chat.postMessage", *[Failure(status=500)] * 3)  # the client's tries, and more
    await slack.say("Customers leave after the first bill", thread=thread)
    await slack.settle()
    slack.clock.advance(seconds=4)
    await slack.say("Account managers", thread=thread)  # answers the question not yet seen
    await slack.settle()
    assert question_ids(slack) == ["problem"]  # the third waits behind the second
    [waiting, behind] = await rows(slack, Outgoing.status == "pending")
    assert waiting.attempts == 1 and behind.attempts == 0
    slack.clock.advance(minutes=1)
    assert await slack.adapter.delivery.deliver() == 2
    ids = question_ids(slack)
    assert ids[:2] == ["problem", "target_users"] and len(ids) == 3 and ids[2] != "target_users"


async def test_a_rate_limited_message_is_released_with_its_next_try_and_sent_once_by_two_senders(
    slack, database_url
):
    """The sender never sleeps on a claimed row: a 429 releases it until Retry-After has passed."""
    thread = await slack.start()
    second = await build_runtime(slack.runtime.settings, migrate=False, clock=slack.clock)
    other = build_web_app(second, retry_backoff=0.01, flush_every=0)[SLACK].delivery
    try:
        slack.fake.fail(
            "chat.postMessage", Failure(status=429, error="ratelimited", retry_after=30)
        )
        await slack.say("Customers leave", thread=thread)
        await slack.settle()
        [row] = await rows(slack, Outgoing.status == "pending")
        assert row.claimed_until is None and row.last_error == "ratelimited"
        assert row.next_attempt_at == slack.clock() + timedelta(seconds=30)
        assert await other.deliver() == 0  # not due yet, for any process
        slack.clock.advance(seconds=31)
        sent = await asyncio.gather(slack.adapter.delivery.deliver(), other.deliver())
        assert sorted(sent) == [0, 1]
    finally:
        await second.close()
    statuses = [c.status for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert statuses == [200, 200, 429, 200]  # parent, first question, the 429, once more
    assert question_ids(slack) == ["problem", "target_users"]


async def test_a_message_slack_refuses_for_good_fails_at_once_is_told_once_and_the_thread_goes_on(
    slack,
):
    thread = await slack.start()
    slack.fake.fail("chat.postMessage", Failure(error="invalid_blocks"))
    await slack.say("Customers leave", thread=thread)
    await slack.settle()
    [failed] = await rows(slack, Outgoing.status == "failed")
    assert failed.last_error == "invalid_blocks" and failed.attempts == 1
    notices = [m for m in slack.posted() if "invalid_blocks" in m.get("text", "")]
    assert len(notices) == 1 and notices[0]["thread_ts"] == thread
    await slack.say("Account managers", thread=thread)
    await slack.settle()
    assert len(question_ids(slack)) == 2  # the conversation moved on past the failed message
    assert await rows(slack, Outgoing.status == "pending") == []


async def test_a_message_that_keeps_failing_is_given_up_after_its_tries_and_told_once(slack):
    thread = await slack.start()
    # An error Slack may lift later (no HTTP 5xx, so the client itself does not retry it).
    slack.fake.fail("chat.postMessage", *[Failure(error="internal_error")] * MAX_ATTEMPTS)
    await slack.say("Customers leave", thread=thread)
    await slack.settle()
    for _ in range(MAX_ATTEMPTS):
        slack.clock.advance(hours=1)
        await slack.adapter.delivery.deliver()
    [failed] = await rows(slack, Outgoing.status == "failed")
    assert failed.attempts == MAX_ATTEMPTS and "gave up after" in failed.last_error
    assert slack.fake.pending_failures("chat.postMessage") == []  # Slack is back
    notices = [m for m in slack.posted() if "gave up after" in m.get("text", "")]
    assert len(notices) == 1 and notices[0]["thread_ts"] == thread


async def test_a_channel_mlplan_was_removed_from_fails_its_thread_and_tells_the_owner_once(slack):
    thread = await slack.start()
    slack.fake.fail("chat.postMessage", Failure(error="not_in_channel"))
    await slack.say("Customers leave", thread=thread)
    await slack.settle()
    [failed] = await rows(slack, Outgoing.status == "failed")
    assert failed.last_error == "not_in_channel"
    direct = [m for m in slack.posted() if "not_in_channel" in m.get("text", "")]
    assert len(direct) == 1 and direct[0]["channel"].startswith("U")  # the owner, directly
    assert "thread_ts" not in direct[0] and "/invite @mlplan" in direct[0]["text"]


async def test_no_more_messages_than_a_senders_batch_are_ever_sent_and_not_yet_recorded(slack):
    """What a kill can make the next process send again is bounded by AT_ONCE, even with slow commits.

    A send is recorded after the platform took it; a message in between is sent again after a
    crash. Held to AT_ONCE (the sends a sender runs at once), the resends after a SIGKILL are too.
    """
    delivery = slack.adapter.delivery
    async with slack.runtime.sessions() as session:
        workspace = await workspaces.get_or_create(
            session=session, platform="slack", external_id="T1", now=slack.clock.now
        )
        for n in range(3 * AT_ONCE):  # a conversation each: one pass takes them all
            row = Row({"text": f"Hello {n}"}, channel=f"U{n}")
            delivery.enqueue(session, workspace_id=workspace.id, row=row, now=slack.clock.now)
        await session.commit()
    handed = recorded = most = 0
    send, record = delivery.transport.send, delivery._sent_all

    async def counted_send(message, where):
        nonlocal handed, most
        handed += 1
        most = max(most, handed - recorded)
        return await send(message, where)

    async def slow_record(records):
        nonlocal recorded
        await asyncio.sleep(0.2)  # a database slow to commit
        await record(records)
        recorded += len(records)

    delivery.transport.send, delivery._sent_all = counted_send, slow_record
    assert await delivery.deliver() == 3 * AT_ONCE
    assert recorded == 3 * AT_ONCE and most == AT_ONCE


async def queue_texts(slack, channels_texts: list[tuple[str, str]]) -> None:
    """Queue plain messages, (channel, text) each, in that order, as a tick would."""
    delivery = slack.adapter.delivery
    async with slack.runtime.sessions() as session:
        workspace = await workspaces.get_or_create(
            session=session, platform="slack", external_id="T1", now=slack.clock.now
        )
        rows = [(workspace.id, Row({"text": text}, channel=ch)) for ch, text in channels_texts]
        await delivery.enqueue_all(session, rows=rows, now=slack.clock.now)
        await session.commit()


def texts_to(slack, channel: str) -> list[str]:
    return [m["text"] for m in slack.posted() if m["channel"] == channel]


async def test_a_backlog_to_one_person_drains_in_one_delivery_in_order_beside_everyone_elses(
    slack,
):
    """No cap of a pass or a minute: 450 messages to one person and one to each of 250 others."""
    backlog = [("U0", f"Reminder {n}") for n in range(450)]
    others = [(f"U{n}", f"Hello {n}") for n in range(1, 251)]
    mixed = [m for pair in zip(backlog[:250], others, strict=True) for m in pair]
    await queue_texts(slack, mixed + backlog[250:])
    assert await slack.adapter.delivery.deliver() == 700
    assert texts_to(slack, "U0") == [text for _, text in backlog]
    assert all(texts_to(slack, ch) == [text] for ch, text in others)
    assert await rows(slack, Outgoing.status != "sent") == []


async def test_a_rate_limited_conversation_waits_its_retry_after_and_goes_on_in_order(slack):
    """Slack's per-channel limit is met with a 429: that conversation resumes when Slack says."""
    await queue_texts(slack, [("U0", f"Reminder {n}") for n in range(30)] + [("U1", "Hello")])
    limited = Failure(status=429, error="ratelimited", retry_after=2)
    slack.fake.fail("chat.postMessage", *[Failure()] * 10, limited)  # the first pass sends two
    assert await slack.adapter.delivery.deliver() == 10
    assert texts_to(slack, "U1") == ["Hello"]  # another conversation is not held back by it
    assert len(texts_to(slack, "U0")) == 9
    waiting = (await rows(slack, Outgoing.status == "pending"))[0]
    assert waiting.payload["text"] == "Reminder 9" and waiting.attempts == 1
    assert waiting.next_attempt_at == slack.clock() + timedelta(seconds=2)
    slack.clock.advance(seconds=1)
    assert await slack.adapter.delivery.deliver() == 0  # not before Slack said
    slack.clock.advance(seconds=1)
    assert await slack.adapter.delivery.deliver() == 21
    assert texts_to(slack, "U0") == [f"Reminder {n}" for n in range(30)]
