"""No secret in any log line: a whole Slack run at DEBUG, faults included, is searched for them."""

from __future__ import annotations

import logging

from bot.app import build_runtime, build_web_app
from bot.settings import load_settings
from bot.slack.app import SLACK
from tests.bot.slack.conftest import SECRET, TOKEN
from tests.fakes.slack_api import Failure


def logged(records: list[logging.LogRecord]) -> str:
    """Everything the records would print: messages, arguments and tracebacks."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in records)


async def test_a_run_at_debug_with_faults_logs_neither_the_token_nor_the_signing_secret(
    slack, caplog
):
    caplog.set_level(logging.DEBUG)  # every logger, slack_sdk's and Bolt's request dumps too
    thread = await slack.start()
    slack.fake.fail("chat.postMessage", Failure(status=429, error="ratelimited", retry_after=0))
    await slack.say("Customers leave", thread=thread)
    slack.fake.fail("chat.postMessage", Failure(status=500), Failure(error="invalid_blocks"))
    await slack.say("Account managers", thread=thread)
    await slack.command("status Churn model")
    await slack.command("new Forged", secret="not-the-secret")  # refused: logged, not its secret
    await slack.settle()
    text = logged(caplog.records)
    assert "chat.postMessage" in text  # the run was logged in detail
    assert len(caplog.records) > 20
    for secret in (TOKEN, SECRET, TOKEN.split("-", 1)[1]):
        assert secret not in text


async def test_a_token_given_in_the_environment_starts_slack_without_a_warning(
    engine, database_url, fake, clock, monkeypatch, caplog
):
    # Deployments set SLACK_BOT_TOKEN; Bolt reads it too and, seeing mlplan's client, warned
    # that it skipped the token: the client holds that very token, so nothing was skipped.
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    settings = load_settings(database_url=database_url, slack_api_url=fake.api_url)
    caplog.set_level(logging.WARNING)
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    try:
        web_app = build_web_app(runtime, flush_every=0)
        assert web_app[SLACK].client.token == TOKEN
    finally:
        await runtime.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
