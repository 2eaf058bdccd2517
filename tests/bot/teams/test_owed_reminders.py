"""What people owe a plan is reminded in Teams: a question left for later, a section assigned."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.app import build_scheduler
from storage.models import OpenQuestion
from tests.bot.teams.conftest import BEN, PERSONAL
from tests.conftest import NOW

BEN_CHAT = f"a:personal-{BEN['id']}"


async def tick(teams, at):
    teams.clock.now = at
    report = await build_scheduler(
        teams.runtime, slack_adapter=None, teams_adapter=teams.adapter
    ).tick(at)
    await teams.settle()
    return report


def waiting(teams, conversation: str) -> list:
    return teams.fake.sent(
        lambda s: (
            s.conversation == conversation
            and s.method != "update"
            and s.text.startswith("Waiting for you in")
        )
    )


def actions(sent) -> dict[str, dict]:
    """Map each button of a reminder card to the data it submits."""
    return {
        a["title"]: a["data"]
        for element in sent.card["body"]
        for a in element.get("actions", [])
        if "mlplan_remind" in a.get("data", {})
    }


async def test_an_open_question_is_reminded_in_the_owners_chat_once_and_answered_from_it(teams):
    await teams.say("new Churn model")
    card = teams.last_question()
    later = next(a["data"] for a in card.card["actions"] if a["title"] == "Answer later")
    await teams.press(card, later)
    revisit = NOW + timedelta(days=7)  # nine in London, where Ada is
    assert (await tick(teams, NOW + timedelta(minutes=1))).reminders == 0
    assert (await tick(teams, revisit - timedelta(minutes=1))).reminders == 0
    assert (await tick(teams, revisit)).reminders == 1
    assert (await tick(teams, revisit + timedelta(minutes=1))).reminders == 0
    [reminder] = waiting(teams, PERSONAL)
    assert reminder.card["version"] == "1.5"
    assert "Problem statement" in reminder.text and "to revisit by Mon 30 Nov 2026" in str(
        reminder.card
    )
    buttons = actions(reminder)
    assert list(buttons) == ["Answer now", "Snooze a week", "Skip"]

    await teams.press(reminder, buttons["Answer now"], conversation=PERSONAL)
    asked = teams.last_question()
    assert asked.conversation == PERSONAL
    assert asked.value["mlplan_question"]["question_id"] == "problem"
    [update] = teams.fake.sent(lambda s: s.method == "update" and s.id == reminder.id)
    assert "asked again in the project's conversation" in str(update.card)
    await teams.say("Customers leave without warning")
    async with teams.runtime.sessions() as session:
        row = await session.scalar(sa.select(OpenQuestion))
    assert row.closed_at is not None and row.remind_at is None
    assert (await tick(teams, revisit + timedelta(days=7))).reminders == 0
    assert len(waiting(teams, PERSONAL)) == 1


async def test_an_assigned_section_is_reminded_in_the_assignees_chat_and_goes_on_there(teams):
    await teams.say("new Churn model")
    tag = f"<at>{BEN['name']}</at>"
    await teams.say(
        f"/assign Churn model metrics_detail {tag}",
        entities=[{"type": "mention", "text": tag, "mentioned": BEN}],
    )
    reminded = [d for d in range(0, 11) if (await tick(teams, NOW + timedelta(days=d))).reminders]
    assert reminded == [3, 10]
    first = waiting(teams, BEN_CHAT)[0]
    assert "Metrics in detail" in first.text and "3 days ago" in str(first.card)
    buttons = actions(first)
    assert list(buttons) == ["Continue"]
    await teams.press(first, buttons["Continue"], user=BEN, conversation=BEN_CHAT, kind="personal")
    asked = teams.last_question()
    assert asked.conversation == BEN_CHAT
    assert asked.value["mlplan_question"]["question_id"] == "baseline_kind"
    for answer in ("Heuristic", "Misses cost more", "no", "ben@example.com"):
        await teams.say(answer, user=BEN, conversation=BEN_CHAT, kind="personal")
    assert any("answered “Metrics in detail”" in s.text for s in teams.fake.sent())
    assert (await tick(teams, NOW + timedelta(days=17))).reminders == 0
    assert len(waiting(teams, BEN_CHAT)) == 2
