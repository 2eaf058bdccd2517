"""A move to another database carries who gets the digest, in which zone, where each stood, and
what digests keep of projects: `mlplan export --all`, an empty database, `mlplan import`."""

from datetime import timedelta

import sqlalchemy as sa

from storage import models
from tests.bot.slack.test_digest_portfolio import LEAD, build_portfolio, digests_to, texts, tick
from tests.bot.test_chat_cli import run_mlplan
from tests.conftest import empty_tables
from tests.flows.portfolio import NOW


async def project_id(slack, name: str) -> int:
    async with slack.runtime.sessions() as session:
        return await session.scalar(sa.select(models.Project.id).where(models.Project.name == name))


async def test_a_move_carries_the_digests_their_zones_trends_snoozes_and_links(
    slack, engine, database_url, tmp_path
):
    await build_portfolio(slack)
    slack.fake.users[LEAD]["tz"] = "Europe/Berlin"  # the lead's digest goes out at 08:00 UTC
    slack.clock.now = NOW - timedelta(days=3)
    for text in ("digest subscribe", "digest subscribe here tag finance fortnightly"):
        assert (await slack.command(text, user=LEAD)).status == 200
    await slack.settle()
    assert (await tick(slack, NOW)).digests == 2
    [message] = digests_to(slack, LEAD)
    fraud = await project_id(slack, "Fraud alerts")
    slack.clock.now = NOW + timedelta(hours=1)
    message = {**message, "ts": "1800000000.000001"}
    await slack.press(message, f"digest:snooze7:{fraud}", str(fraud), user=LEAD, channel=LEAD)
    await slack.settle()
    links = len(slack.fake.sent("chat.getPermalink"))
    assert links == 8

    exported = run_mlplan(database_url, "export", "--all")
    assert exported.returncode == 0, exported.stderr
    file = tmp_path / "backup.jsonl"
    file.write_text(exported.stdout)
    await empty_tables(engine)
    moved = NOW + timedelta(hours=2)
    restored = run_mlplan(database_url, "import", str(file), "--now", moved.isoformat())
    assert restored.returncode == 0, restored.stderr
    assert "2 digest subscriptions;" in restored.stdout

    # The same Monday, after the move: neither digest goes out again.
    sent = len(slack.fake.sent("chat.postMessage"))
    assert (await tick(slack, moved)).digests == 0
    fraud = await project_id(slack, "Fraud alerts")
    async with slack.runtime.sessions() as session:
        runbook = await session.scalar(
            sa.select(models.DocItem).where(
                models.DocItem.project_id == fraud, models.DocItem.key == "runbook"
            )
        )
        runbook.status, runbook.done_at = "done", NOW + timedelta(days=1)
        await session.commit()

    # Next Monday at 08:30 UTC, 09:30 in Berlin: the lead's weekly digest, not yet in UTC, and
    # not the channel's fortnightly one.
    assert (await tick(slack, NOW + timedelta(days=7, minutes=-30))).digests == 1
    [second] = digests_to(slack, LEAD)[1:]
    shown = texts(second["blocks"])
    assert "Fraud alerts" not in shown[1] and "Pricing engine" in shown[1]  # still snoozed
    trend = next(t for t in shown if t.startswith("*Since the last digest*"))
    assert "• Fraud alerts: Runbook done; overdue 4 → 3" in trend.splitlines()
    assert len(slack.fake.sent("chat.getPermalink")) == links  # each thread's link was kept
    assert len(slack.fake.sent("chat.postMessage")) == sent + 1
    assert (await tick(slack, NOW + timedelta(days=14))).digests == 2
    [fortnightly] = digests_to(slack, "C1")[1:]
    assert fortnightly["text"].startswith("Fortnightly ML digest: 2 projects")
