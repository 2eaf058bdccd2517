"""Issue 13's eight-project portfolio through Slack: the digest block by block, buttons, scope, zones."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.app import build_scheduler
from storage import models
from tests.bot.digest_portfolio import seed
from tests.fakes.slack_api import PERMALINK_HOST
from tests.flows.portfolio import NOW

LEAD = "U0LEAD"
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


async def build_portfolio(slack) -> dict[str, int]:
    """Start the eight intakes in #ml-team (real threads), then give them their states."""
    slack.clock.now = NOW - timedelta(days=70)
    for name in ORDER:
        await slack.start(name)
    async with slack.runtime.sessions() as session:
        ids = dict((await session.execute(sa.select(models.Project.name, models.Project.id))).all())
    await seed(slack.runtime.sessions, slack.runtime.flow, ids, NOW)
    return ids


async def tick(slack, at):
    slack.clock.now = at
    report = await build_scheduler(slack.runtime, slack_adapter=slack.adapter).tick(at)
    await slack.settle()
    return report


def digests_to(slack, channel):
    return [
        c.args
        for c in slack.fake.sent("chat.postMessage")
        if c.args["channel"] == channel and "ML digest" in c.args["text"]
    ]


def texts(blocks) -> list[str]:
    """Each block's text, in order (a section's text, a context's first element)."""
    out = []
    for block in blocks:
        if block["type"] in ("header", "section"):
            out.append(block["text"]["text"])
        elif block["type"] == "context":
            out.append(block["elements"][0]["text"])
        else:
            out.append(block["type"])
    return out


async def test_the_monday_digest_of_eight_projects_reads_in_a_minute(slack):
    ids = await build_portfolio(slack)
    slack.clock.now = NOW - timedelta(days=3)
    assert (await slack.command("digest subscribe", user=LEAD)).status == 200
    await slack.settle()

    assert (await tick(slack, NOW)).digests == 1
    [message] = digests_to(slack, LEAD)  # one message for eight projects
    blocks = message["blocks"]
    shown = texts(blocks)
    assert message["text"] == "Weekly ML digest: 8 projects (week of 23 Nov 2026)"
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "section",
        "context",
        "divider",
        *["section", "actions"] * 8,
        "context",
    ]
    # Needs you this week: project, reason, the owner as a real mention, the action asked.
    assert shown[1].splitlines() == [
        "*Needs you this week*",
        "• Fraud alerts: Deploy 3 days late, 4 overdue: <@U0CHEN>, agree a new date or close it",
        "• Pricing engine: running cost above benefit ($44.6k–$97.8k against $40k a year):"
        " <@U0EVA>, decide to re-scope or stop",
        "• Support triage: no model-card owner: <@U0DEV>, name one",
        "• Churn model: intake stalled 21 days at known data quality issues: <@U0BO>,"
        " nudge the owner or close it",
    ]
    # Every count names its projects; empty ones are not shown.
    assert shown[2].splitlines() == [
        "*Overdue (1)*: Fraud alerts",
        "*Running cost above benefit (1)*: Pricing engine",
        "*No model-card owner (1)*: Support triage",
        "*Intake stalled (1)*: Churn model",
        "*Delivered (1)*: Invoice OCR",
    ]
    assert shown[3] == (
        "*Totals (USD)*: one-time $858k · yearly running $134k–$293k · yearly benefit $440k"
        " (3 of 8 projects with figures)"
    )
    # One ranked column: each project linked to its thread, with what matters and its owner.
    rows = [t for t, b in zip(shown, blocks, strict=True) if b["type"] == "section"][2:]
    names = [row.split("|", 1)[1].split(">", 1)[0] for row in rows]
    assert names == ORDER
    async with slack.runtime.sessions() as session:
        threads = dict(
            (await session.execute(sa.select(models.Project.id, models.Project.thread_id))).all()
        )
    fraud = ids["Fraud alerts"]
    link = f"https://{PERMALINK_HOST}/archives/C1/p{threads[fraud].replace('.', '')}"
    assert rows[0] == (
        f"*1. <{link}|Fraud alerts>* · Deploy 3 days late, 4 overdue\nstage: Growth · owner <@U0CHEN>"
    )
    assert rows[-1].startswith("*8. <") and rows[-1].endswith(
        "|Invoice OCR>* · delivered\nstage: Growth · owner <@U0ANN>"
    )
    assert len(slack.fake.sent("chat.getPermalink")) == 8
    # Buttons: status and snooze, routed by project id.
    fraud_buttons = blocks[6]["elements"]
    assert [(b["action_id"], b["value"]) for b in fraud_buttons] == [
        (f"digest:status:{fraud}", "Fraud alerts"),
        (f"digest:snooze7:{fraud}", str(fraud)),
    ]
    assert shown[-1] == "Any project: `/mlplan status &lt;project&gt;`"
    # No noise: no idle warning for the finished project, no export, no empty fields, no bars.
    everything = str(blocks)
    for noise in ("Inactive", "53 days", "export", "nothing", "of 74 questions", "0 of", "█"):
        assert noise not in everything, noise
    chars = sum(len(t) for t in shown)
    assert chars < 3000  # measured: see the report; four screens before


async def test_the_buttons_open_a_status_and_snooze_a_project_for_a_week(slack):
    ids = await build_portfolio(slack)
    await slack.command("digest subscribe", user=LEAD)
    await tick(slack, NOW)
    [message] = digests_to(slack, LEAD)
    message = {**message, "ts": "1800000000.000001"}
    fraud = ids["Fraud alerts"]
    slack.clock.now = NOW + timedelta(hours=1)
    await slack.press(message, f"digest:snooze7:{fraud}", str(fraud), user=LEAD, channel=LEAD)
    await slack.settle()
    [said] = [c.args for c in slack.fake.sent("chat.postEphemeral") if c.args["user"] == LEAD]
    assert "Fraud alerts is snoozed in digests until Mon 30 Nov" in said["text"]
    await slack.press(message, f"digest:status:{fraud}", "Fraud alerts", user=LEAD, channel=LEAD)
    await slack.settle()
    status = [c.args for c in slack.fake.sent("chat.postEphemeral") if c.args["user"] == LEAD][-1]
    assert status["channel"] == LEAD and "Fraud alerts" in status["text"]
    assert "thread_ts" not in status
    # Next Monday: Fraud alerts is listed after the others, not in "Needs you".
    await tick(slack, NOW + timedelta(days=7))
    second = digests_to(slack, LEAD)[-1]["blocks"]
    needs = texts(second)[1]
    assert "Fraud alerts" not in needs and "Pricing engine" in needs


async def test_the_next_digest_carries_the_trend_and_compares_counts(slack):
    ids = await build_portfolio(slack)
    await slack.command("digest subscribe", user=LEAD)
    await tick(slack, NOW)
    async with slack.runtime.sessions() as session:
        runbook = await session.scalar(
            sa.select(models.DocItem).where(
                models.DocItem.project_id == ids["Fraud alerts"], models.DocItem.key == "runbook"
            )
        )
        runbook.status, runbook.done_at = "done", NOW + timedelta(days=1)
        await session.commit()
    await tick(slack, NOW + timedelta(days=7))
    shown = texts(digests_to(slack, LEAD)[-1]["blocks"])
    trend = next(t for t in shown if t.startswith("*Since the last digest*"))
    assert "• Fraud alerts: Runbook done; overdue 4 → 3" in trend.splitlines()
    # Only what changed is listed: the rest of the portfolio is not repeated.
    assert len(trend.splitlines()) == 2


async def test_a_subscription_scoped_to_a_tag_fortnightly(slack):
    await build_portfolio(slack)
    slack.clock.now = NOW - timedelta(days=3)
    answer = await (
        await slack.command("digest subscribe tag finance fortnightly", user=LEAD)
    ).json()
    assert "fortnightly digest of the projects tagged 'finance'" in answer["text"]
    assert (await tick(slack, NOW)).digests == 1
    [message] = digests_to(slack, LEAD)
    assert message["text"].startswith("Fortnightly ML digest: 2 projects")
    assert "Pricing engine" in str(message["blocks"]) and "Fraud alerts" not in str(message)
    assert (await tick(slack, NOW + timedelta(days=7))).digests == 0  # the off week
    assert (await tick(slack, NOW + timedelta(days=14))).digests == 1


async def test_a_subscription_scoped_to_a_channels_projects(slack):
    await build_portfolio(slack)
    await slack.start("Elsewhere", channel="C2OTHER")
    await slack.command("digest subscribe <#C0LEADS|leads> only <#C2OTHER|other>", user=LEAD)
    await tick(slack, NOW)
    [message] = digests_to(slack, "C0LEADS")
    assert message["text"].startswith("Weekly ML digest: 1 project")
    assert "Elsewhere" in str(message["blocks"])


# Monday 22 March 2027, 09:00 in Berlin is 08:00 UTC (CET); on 29 March it is 07:00 UTC (CEST).
BEFORE_SPRING = datetime(2027, 3, 22, 8, 0, tzinfo=UTC)
AFTER_SPRING = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)


async def test_a_first_subscription_goes_out_at_nine_in_the_persons_zone_across_dst(slack):
    slack.fake.users[LEAD]["tz"] = "Europe/Berlin"
    slack.clock.now = BEFORE_SPRING - timedelta(days=3)
    await slack.start("Churn model")
    # The first command of this person: their zone is learnt only after it has run.
    await slack.command("digest subscribe", user=LEAD)
    await slack.settle()
    async with slack.runtime.sessions() as session:
        stored = await session.scalar(sa.select(models.DigestSubscription.timezone))
    assert stored is None  # nothing known at subscribe time: resolved at send time
    assert (await tick(slack, BEFORE_SPRING - timedelta(minutes=1))).digests == 0
    assert (await tick(slack, BEFORE_SPRING)).digests == 1
    assert (await tick(slack, AFTER_SPRING - timedelta(minutes=1))).digests == 0
    assert (await tick(slack, AFTER_SPRING)).digests == 1


async def test_tagging_a_project_by_command_puts_it_in_a_tags_digest(slack):
    await build_portfolio(slack)
    slack.clock.now = NOW - timedelta(days=3)
    tagged = await (await slack.command("digest tag Fraud alerts; finance, risk", user=LEAD)).json()
    assert "Fraud alerts" in tagged["text"] and "finance" in tagged["text"]
    unknown = await (await slack.command("digest tag Fraud alrts; finance", user=LEAD)).json()
    assert "no project called 'Fraud alrts'" in unknown["text"]  # and nothing was tagged
    await slack.command("digest subscribe tag finance", user=LEAD)
    assert (await tick(slack, NOW)).digests == 1
    [message] = digests_to(slack, LEAD)
    assert message["text"].startswith("Weekly ML digest: 3 projects")
    assert "Fraud alerts" in str(message["blocks"]) and "Pricing engine" in str(message["blocks"])
