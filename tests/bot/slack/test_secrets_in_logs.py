"""No secret in any log line: a whole Slack run at DEBUG, faults included, is searched for them."""

from __future__ import annotations

import logging

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
