"""/mlplan milestone and /mlplan doc after the intake; new owners are told once."""

from datetime import timedelta

import sqlalchemy as sa

from bot.app import build_scheduler
from storage.models import DocItem, ItemAction, Milestone


async def private(slack, text, **kwargs) -> str:
    response = await slack.command(text, **kwargs)
    assert response.status == 200
    body = await response.json()
    assert body["response_type"] == "ephemeral"
    return body["text"] + str(body.get("blocks", ""))


async def test_milestones_are_added_listed_and_finished_and_their_owner_told_once(slack):
    await slack.start("Churn model")
    added = await private(slack, "milestone add churn model; Labels checked; <@U3|cai>; 2026-12-18")
    assert "Milestone “Labels checked” added to 'Churn model': @cai, due Fri 18 Dec 2026." in added
    scheduler = build_scheduler(slack.runtime, slack_adapter=slack.adapter)
    for minutes in (0, 1, 2):
        await scheduler.tick(slack.clock() + timedelta(minutes=minutes))
    notices = [c.args for c in slack.fake.sent("chat.postMessage") if c.args["channel"] == "U3"]
    assert len(notices) == 1 and notices[0]["text"].startswith(
        "You own new items in Churn model: Labels checked"
    )
    listed = await private(slack, "milestone list Churn model")
    assert "Labels checked" in listed and "@cai, due Fri 18 Dec 2026" in listed
    done = await private(slack, "milestone done churn model; labels CHECKED", user="U3")
    assert "“Labels checked” of 'Churn model' is done." in done
    async with slack.runtime.sessions() as session:
        item = await session.scalar(sa.select(Milestone))
        actions = [
            (a.action, a.by["id"])
            for a in await session.scalars(sa.select(ItemAction).order_by(ItemAction.id))
        ]
    assert item.status == "done" and item.done_by["id"] == "U3"
    assert actions == [("add", "U1"), ("done", "U3")]
    assert "✓ Labels checked" in await private(slack, "milestone list churn model")


async def test_documentation_items_keep_their_link(slack):
    await slack.start("Churn model")
    await private(slack, "doc add churn model; Model card; <@U3|cai>; in 2 weeks")
    assert "no link yet" in await private(slack, "doc list churn model")
    done = await private(
        slack, "doc done churn model; Model card; <https://wiki.example.com/churn/card>"
    )
    assert "Its link is saved" in done
    async with slack.runtime.sessions() as session:
        doc = await session.scalar(sa.select(DocItem))
    assert doc.link == "https://wiki.example.com/churn/card" and doc.status == "done"


async def test_bad_commands_change_nothing_and_say_why(slack):
    await slack.start("Churn model")
    cases = {
        "milestone add churn modle; X; <@U3>; in 2 weeks": "There is no project called 'churn modle'",
        "milestone add churn model; X; cai; in 2 weeks": "Mention the person with @",
        "milestone add churn model; X; <@U3>; 2020-01-01": "in the past",
        "milestone done churn model; Nothing": "has no item called 'Nothing'",
        "doc done churn model; Model card; wiki page": "A link starts with https://",
        "milestone add churn model; X": "Usage:",
    }
    for text, expected in cases.items():
        assert expected in await private(slack, text), text
    assert "There is no project called 'Churn model'" in await private(
        slack, "milestone add Churn model; X; <@U3>; in 2 weeks", team="T2"
    )
    async with slack.runtime.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Milestone)) == 0
