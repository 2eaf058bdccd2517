"""The outbox under faults: nothing overtakes a waiting message, no claim sleeps, bad rows give up.

Issue 11, defects 1-3, reproduced through Slack's real path (signed events in, the fake Web API
answering 500, 429 or a permanent error, the real database).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from bot.app import build_runtime, build_web_app
from bot.sender import MAX_ATTEMPTS
from bot.slack.app import SLACK
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
