"""Issue 13's eight-project portfolio through Teams: one card, a FactSet, a Table, mentions, links."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from bot.app import build_scheduler
from storage import models
from tests.bot.digest_portfolio import seed
from tests.bot.teams.conftest import CHANNEL
from tests.flows.portfolio import NOW

ADA_CHAT = "a:1personal-ada"
ORDER = [
    "Fraud alerts",
    "Pricing engine",
    "Support triage",
    "Churn model",
    "Demand forecast",
    "Doc search",
    "Lead scoring",
    "Invoice OCR",
]
TEAMS_PEOPLE = {"U0CHEN": "29:1chen", "U0EVA": "29:1eva", "U0DEV": "29:1dev", "U0BO": "29:1bo"}


async def tick(teams, at):
    teams.clock.now = at
    report = await build_scheduler(
        teams.runtime, slack_adapter=None, teams_adapter=teams.adapter
    ).tick(at)
    await teams.settle()
    return report


def texts(element) -> list[str]:
    """Every TextBlock's text inside an element, in order."""
    if isinstance(element, dict):
        own = [element["text"]] if element.get("type") == "TextBlock" else []
        return own + [t for value in element.values() for t in texts(value)]
    if isinstance(element, list):
        return [t for item in element for t in texts(item)]
    return []


async def test_the_monday_digest_of_eight_projects_in_teams(teams):
    teams.clock.now = NOW - timedelta(days=70)
    for name in ORDER:
        await teams.say(f"new {name}", mention_bot=True, conversation=CHANNEL)
    async with teams.runtime.sessions() as session:
        ids = dict((await session.execute(sa.select(models.Project.name, models.Project.id))).all())
    planned = await seed(teams.runtime.sessions, teams.runtime.flow, ids, NOW)
    async with teams.runtime.sessions() as session:  # owners as Teams people
        for p in planned:
            project = await session.get(models.Project, ids[p.name])
            owner = dict(project.owner)
            owner["id"] = TEAMS_PEOPLE.get(owner["id"], owner["id"])
            project.owner = owner
        for item in await session.scalars(sa.select(models.Milestone)):
            if item.owner:
                item.owner = {
                    **item.owner,
                    "id": TEAMS_PEOPLE.get(item.owner["id"], item.owner["id"]),
                }
        await session.commit()
    teams.clock.now = NOW - timedelta(days=3)
    await teams.say("digest subscribe")  # Ada, in her personal chat

    assert (await tick(teams, NOW)).digests == 1
    [sent] = [
        s for s in teams.fake.sent(lambda s: s.conversation == ADA_CHAT) if "ML digest" in s.text
    ]
    card = sent.card
    body = card["body"]
    lines = texts(body)
    assert lines[0] == "Weekly ML digest: 8 projects (week of 23 Nov 2026)"
    assert lines[1:6] == [
        "**Needs you this week**",
        "• Fraud alerts: Deploy 3 days late, 4 overdue: <at>chen</at>, agree a new date or close it",
        "• Pricing engine: running cost above benefit ($44.6k–$97.8k against $40k a year):"
        " <at>eva</at>, decide to re-scope or stop",
        "• Support triage: no model-card owner: <at>dev</at>, name one",
        "• Churn model: intake stalled 21 days at known data quality issues: <at>bo</at>,"
        " nudge the owner or close it",
    ]
    # Each line its own TextBlock: a line break stays a line break, none becomes a paragraph.
    assert not any("\n" in line for line in lines)
    entities = {e["mentioned"]["id"] for e in card["msteams"]["entities"]}
    assert {"29:1chen", "29:1eva", "29:1dev", "29:1bo"} <= entities
    [facts] = [e for e in body if e["type"] == "FactSet"]
    assert [(f["title"], f["value"]) for f in facts["facts"]] == [
        ("Overdue (1)", "Fraud alerts"),
        ("Running cost above benefit (1)", "Pricing engine"),
        ("No model-card owner (1)", "Support triage"),
        ("Intake stalled (1)", "Churn model"),
        ("Delivered (1)", "Invoice OCR"),
        (
            "Totals (USD)",
            "one-time $858k · yearly running $134k–$293k · yearly benefit $440k"
            " (3 of 8 projects with figures)",
        ),
    ]
    [table] = [e for e in body if e["type"] == "Table"]
    rows = table["rows"][1:]
    assert [texts(r["cells"][0]) for r in rows] == [[f"{n}."] for n in range(1, 9)]
    heads = [texts(r["cells"][1])[0] for r in rows]
    assert [h.split("[", 1)[1].split("]", 1)[0] for h in heads] == ORDER
    fraud_link = heads[0].split("](", 1)[1].split(")", 1)[0]
    assert fraud_link.startswith(
        "https://teams.microsoft.com/l/message/19%3Aml-team%40thread.tacv2/"
    )
    assert heads[-1].endswith("· delivered")
    assert texts(rows[0]["cells"][2]) == ["<at>chen</at>"]
    buttons = [a["data"] for a in rows[0]["cells"][1]["items"][-1]["actions"]]
    assert buttons == [
        {"mlplan_digest": {"verb": "status", "project_id": ids["Fraud alerts"]}},
        {"mlplan_digest": {"verb": "snooze7", "project_id": ids["Fraud alerts"]}},
    ]
    everything = json.dumps(card, ensure_ascii=False)
    for noise in ("Inactive", "53 days", "export", "of 74 questions"):
        assert noise not in everything, noise
    # Snooze a week, pressed in the card, answers in the same chat.
    await teams.press(sent, buttons[1], conversation=ADA_CHAT, kind="personal")
    said = [s.text for s in teams.fake.sent(lambda s: s.conversation == ADA_CHAT)][-1]
    assert "Fraud alerts is snoozed in digests until Mon 30 Nov" in said
