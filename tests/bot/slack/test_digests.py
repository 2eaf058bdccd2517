"""Weekly digests through Slack: subscribing, once a period, in the subscriber's zone, across DST."""

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.app import build_scheduler
from bot.slack.app import build
from storage.models import DigestSubscription

# Monday 19 Oct 2026, 09:00 in Berlin (CEST, UTC+2); Europe leaves summer time on Sunday 25 Oct.
BEFORE_DST_END = datetime(2026, 10, 19, 7, 0, tzinfo=UTC)


async def subscribe(slack, text="digest subscribe", user="U1", at=None):
    slack.clock.now = at or BEFORE_DST_END - timedelta(days=3)
    response = await slack.command(text, user=user)
    assert response.status == 200
    await slack.settle()
    return await response.json()


def digests_to(slack, channel):
    return [
        c.args
        for c in slack.fake.sent("chat.postMessage")
        if c.args["channel"] == channel and c.args["text"].startswith("Weekly ML digest")
    ]


async def tick(slack, at):
    slack.clock.now = at
    return await build_scheduler(slack.runtime, slack_adapter=slack.adapter).tick(at)


async def test_subscribe_preview_and_unsubscribe_answer_privately(slack):
    slack.clock.now = BEFORE_DST_END
    await slack.start("Churn model")
    mine = await subscribe(slack)
    assert mine["response_type"] == "ephemeral" and "to you, by direct message" in mine["text"]
    again = await subscribe(slack)
    assert "already goes to you" in again["text"]
    channel = await subscribe(slack, "digest subscribe <#C0LEADS|ml-leads>")
    assert "to this channel" in channel["text"]
    preview = await (await slack.command("digest preview")).json()
    assert preview["response_type"] == "ephemeral" and preview["text"].startswith(
        "Weekly ML digest: 1 project"
    )
    assert "Churn model" in str(preview["blocks"])
    bad = await (await slack.command("digest subscribe #leads")).json()
    assert "could not read '#leads' as a channel" in bad["text"]
    stopped = await (await slack.command("digest unsubscribe")).json()
    assert "No more weekly digests" in stopped["text"]
    assert slack.fake.sent("chat.postMessage")[2:] == []  # nothing but the intake was posted


async def test_the_digest_goes_out_at_nine_in_the_subscribers_zone_across_the_dst_change(slack):
    slack.fake.users["U1"]["tz"] = "Europe/Berlin"
    await slack.start("Churn model")
    await subscribe(slack)  # mlplan learns U1's zone with the first command
    await subscribe(slack)  # and stores it with the subscription
    assert (await tick(slack, BEFORE_DST_END - timedelta(minutes=1))).digests == 0
    assert (await tick(slack, BEFORE_DST_END)).digests == 1
    assert (await tick(slack, BEFORE_DST_END + timedelta(hours=1))).digests == 0
    after = BEFORE_DST_END + timedelta(days=7)  # Monday 26 Oct, 07:00 UTC is 08:00 in Berlin now
    assert (await tick(slack, after)).digests == 0
    assert (await tick(slack, after + timedelta(hours=1))).digests == 1
    sent = digests_to(slack, "U1")
    assert len(sent) == 2 and all(len(m["blocks"]) <= 50 for m in sent)


async def test_after_weeks_of_downtime_one_digest_goes_out_not_a_flood(slack):
    await slack.start("Churn model")
    await subscribe(slack, "digest subscribe <#C0LEADS|ml-leads>")
    three_weeks_later = BEFORE_DST_END + timedelta(days=21, hours=5)
    assert (await tick(slack, three_weeks_later)).digests == 1
    assert (await tick(slack, three_weeks_later + timedelta(minutes=1))).digests == 0
    assert len(digests_to(slack, "C0LEADS")) == 1


async def test_two_schedulers_send_a_digest_once(slack):
    await slack.start("Churn model")
    await subscribe(slack)
    moment = BEFORE_DST_END + timedelta(hours=3)
    slack.clock.now = moment
    schedulers = [
        build_scheduler(slack.runtime, slack_adapter=build(slack.runtime, retry_backoff=0.01))
        for _ in range(2)
    ]
    reports = await asyncio.gather(*(s.tick(moment) for s in schedulers))
    assert sum(r.digests for r in reports) == 1
    assert len(digests_to(slack, "U1")) == 1


async def test_the_next_digest_says_what_changed_since_the_last(slack):
    slack.clock.now = BEFORE_DST_END - timedelta(days=3)
    thread = await slack.start("Churn model")
    await subscribe(slack)
    await tick(slack, BEFORE_DST_END + timedelta(hours=3))
    slack.clock.now = BEFORE_DST_END + timedelta(days=2)
    await slack.say("Customers leave", thread=thread)
    await slack.say("Store managers", thread=thread)
    await slack.settle()
    await tick(slack, BEFORE_DST_END + timedelta(days=7, hours=3))
    first, second = digests_to(slack, "U1")
    assert "Since the last digest" not in str(first["blocks"])
    assert "Churn model: 2 more answers" in str(second["blocks"])


def test_a_digest_of_300_projects_stays_within_slacks_limits(flow):
    import json

    from bot.slack.blocks import BLOCKS_TEXT_BUDGET, MAX_BLOCKS
    from bot.slack.digest_blocks import digest_messages
    from flows.digest import ProjectSnapshot, TrackedItem
    from flows.digest_build import build_digest

    now = BEFORE_DST_END
    projects = [
        ProjectSnapshot(
            id=i,
            name=f"Project {i:03d} " + "x" * 60,
            stage="MVP",
            answers={"problem": "p" * 3000, "stage": "MVP", "team_size": 3},
            milestones=tuple(
                TrackedItem(f"Step {j}", {"id": "U1"}, now.date() - timedelta(days=j), "open")
                for j in range(5)
            ),
            docs=(TrackedItem("Model card", None, now.date(), "open"),),
            last_activity=now - timedelta(days=i % 30),
        )
        for i in range(300)
    ]
    messages = digest_messages(build_digest(flow, projects, today=now.date(), now=now))
    assert len(messages) == 1  # ten projects ranked, the rest counted
    for message in messages:
        assert len(message["blocks"]) <= MAX_BLOCKS
        texts = json.dumps(message["blocks"])
        assert len(texts) < 3 * BLOCKS_TEXT_BUDGET
    assert "and 290 more: `/mlplan list`" in json.dumps(messages, ensure_ascii=False)


async def test_digest_subscribe_here_subscribes_the_channel_the_command_was_typed_in(slack):
    answer = await subscribe(slack, "digest subscribe here")
    assert "to this channel" in answer["text"]
    async with slack.runtime.sessions() as session:
        subscription = await session.scalar(sa.select(DigestSubscription))
    assert (subscription.target_kind, subscription.target_id) == ("channel", "C1")
