"""Reminders and digests reach Teams users proactively, through stored conversation references."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.app import build_scheduler
from storage.models import ConversationReference, Milestone, Outgoing
from tests.bot.teams.conftest import BEN, CHANNEL
from tests.fakes.bot_connector import Failure

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BEN_CHAT = f"a:personal-{BEN['id']}"


def mention(person: dict) -> dict:
    tag = f"<at>{person['name']}</at>"
    return {
        "type": "mention",
        "text": tag,
        "mentioned": {"id": person["id"], "name": person["name"]},
    }


async def tick(teams, at: datetime):
    teams.clock.now = at
    report = await build_scheduler(
        teams.runtime, slack_adapter=None, teams_adapter=teams.adapter
    ).tick(at)
    await teams.settle()
    return report


async def plan_in_channel(teams, due: str = "2026-11-26") -> str:
    """Start an intake in a channel post; give it a milestone owned by Ben; return the chain."""
    post = await teams.say("new Churn model", mention_bot=True, conversation=CHANNEL)
    chain = f"{CHANNEL};messageid={post['id']}"
    await teams.say(
        f"milestone add Churn model; Baseline; <at>{BEN['name']}</at>; {due}",
        mention_bot=True,
        conversation=CHANNEL,
        entities=[mention(BEN)],
    )
    return chain


def to(teams, conversation: str) -> list:
    return teams.fake.sent(lambda s: s.conversation == conversation and s.method != "update")


async def test_a_new_owner_and_a_due_milestone_reach_them_in_a_personal_chat_opened_for_them(teams):
    await plan_in_channel(teams)
    report = await tick(teams, MONDAY)
    assert report.assignments == 1 and report.reminders == 1
    [created] = teams.fake.created
    assert created["members"] == [{"id": BEN["id"]}]
    assert created["channelData"]["tenant"]["id"] == created["tenantID"] == "tenant-1"
    notices = to(teams, BEN_CHAT)
    assert len(notices) == 2
    assert all(n.method == "send" for n in notices)  # new messages, not replies to an old one
    assert "You own new items" in notices[0].text
    assert "Baseline" in notices[1].text and notices[1].card["version"] == "1.5"
    # Ticking again sends nothing twice; the opened chat is reused, not opened again.
    await tick(teams, MONDAY + timedelta(minutes=1))
    assert len(to(teams, BEN_CHAT)) == 2 and len(teams.fake.created) == 1


async def test_pressing_done_on_a_reminder_closes_the_milestone_and_updates_the_card(teams):
    await plan_in_channel(teams)
    await tick(teams, MONDAY)
    reminder = to(teams, BEN_CHAT)[-1]
    done = next(
        a["data"]
        for element in reminder.card["body"]
        for a in element.get("actions", [])
        if a.get("data", {}).get("mlplan_remind", {}).get("verb") == "done"
    )
    await teams.press(reminder, done, user=BEN, conversation=BEN_CHAT, kind="personal")
    async with teams.runtime.sessions() as session:
        assert await session.scalar(sa.select(Milestone.status)) == "done"
    [update] = teams.fake.sent(lambda s: s.method == "update" and s.id == reminder.id)
    assert "Ben Okafor" in str(update.card) and "done" in str(update.card).lower()


async def test_a_reminder_waits_for_nine_in_the_owners_teams_time_zone(teams):
    await plan_in_channel(teams)
    # Ben writes once (anywhere): Teams tells his time zone.
    await teams.say(
        "list", mention_bot=True, conversation=CHANNEL, user=BEN, timezone="America/New_York"
    )
    await tick(teams, datetime(2026, 11, 23, 13, 59, tzinfo=UTC))  # 08:59 in New York
    assert not [s for s in to(teams, BEN_CHAT) if s.text.startswith("Reminder")]
    await tick(teams, datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    assert [s for s in to(teams, BEN_CHAT) if s.text.startswith("Reminder")]


async def test_a_digest_goes_to_a_subscriber_personal_chat_and_to_a_channel(teams):
    await plan_in_channel(teams)
    await teams.say("digest subscribe")  # Ada, in her personal chat
    await teams.say("digest subscribe here", mention_bot=True, conversation=CHANNEL)
    report = await tick(teams, MONDAY + timedelta(days=7))
    assert report.digests == 2
    personal = [s for s in to(teams, "a:1personal-ada") if "Weekly ML digest" in s.text]
    channel = [s for s in to(teams, CHANNEL) if "Weekly ML digest" in s.text]
    assert personal and channel
    assert channel[0].method == "send"  # a new post in the channel, not a reply in some chain
    assert "Churn model" in str(personal[0].card)
    await tick(teams, MONDAY + timedelta(days=7, minutes=1))
    assert len([s for s in to(teams, CHANNEL) if "Weekly ML digest" in s.text]) == 1


async def test_a_chat_the_bot_was_removed_from_is_marked_reported_once_and_not_retried(teams):
    chain = await plan_in_channel(teams)
    await teams.say(
        "hello", user=BEN, conversation=BEN_CHAT, kind="personal"
    )  # Ben's chat is known
    teams.fake.fail(Failure(403))  # the first message to Ben: the bot was removed from his chat
    await tick(teams, MONDAY)
    async with teams.runtime.sessions() as session:
        broken = await session.scalar(
            sa.select(ConversationReference).where(
                ConversationReference.key == f"person:{BEN['id']}"
            )
        )
        failed = (
            await session.scalars(sa.select(Outgoing).where(Outgoing.status == "failed"))
        ).all()
    assert broken.broken_at is not None and "403" in broken.broken_reason
    assert len(failed) == 2 and all("conversation_gone" in f.last_error for f in failed)
    await teams.adapter.delivery.deliver()  # the report was queued during that round
    reports = [s for s in to(teams, chain) if "could not reach Ben Okafor" in s.text]
    assert len(reports) == 1
    attempts = len(teams.fake.activities)
    await tick(
        teams, MONDAY + timedelta(days=3)
    )  # due today: a new reminder, not sent to a dead chat
    assert len(teams.fake.activities) == attempts
    # Ben writes to the bot again: the fresh reference heals, and reminders flow again.
    await teams.say("hello again", user=BEN, conversation=BEN_CHAT, kind="personal")
    await tick(teams, MONDAY + timedelta(days=4))
    assert [s for s in to(teams, BEN_CHAT) if s.text.startswith("Reminder")]


async def test_a_new_date_from_the_reminder_card_moves_the_milestone(teams):
    from bot.teams.reminder_card import due_input_id

    await plan_in_channel(teams)
    await tick(teams, MONDAY)
    reminder = to(teams, BEN_CHAT)[-1]
    save = next(
        a["data"]
        for element in reminder.card["body"]
        for show in element.get("actions", [])
        if show["type"] == "Action.ShowCard"
        for a in show["card"]["actions"]
    )
    ref = save["mlplan_remind"]
    field = due_input_id(ref["kind"], ref["id"])
    await teams.press(
        reminder, {**save, field: "2020-01-01"}, user=BEN, conversation=BEN_CHAT, kind="personal"
    )
    assert "today or later" in teams.fake.sent()[-1].text
    await teams.press(
        reminder, {**save, field: "2026-12-15"}, user=BEN, conversation=BEN_CHAT, kind="personal"
    )
    async with teams.runtime.sessions() as session:
        assert str(await session.scalar(sa.select(Milestone.due))) == "2026-12-15"
