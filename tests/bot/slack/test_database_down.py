"""With the database down, a command gets a clear private answer and an event gets a 500 to retry."""

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_runtime, build_web_app
from bot.settings import load_settings
from bot.slack.app import SLACK
from tests.bot.slack.conftest import SECRET, TOKEN, SlackHarness


@pytest.fixture
async def down(fake, clock):
    settings = load_settings(
        database_url="postgresql://mlplan@127.0.0.1:1/unreachable",
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
    )
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    web_app = build_web_app(runtime, retry_backoff=0.01, flush_every=0)
    async with TestClient(TestServer(web_app)) as client:
        yield SlackHarness(client, fake, web_app[SLACK], runtime, clock)
    await runtime.close()


async def test_a_command_says_the_database_is_down_and_nothing_changed(down):
    for text in ("new Churn model", "status Churn model", "list", "ask Churn model costs"):
        response = await down.command(text)
        assert response.status == 200
        body = await response.json()
        assert body["response_type"] == "ephemeral"
        assert "cannot reach its database" in body["text"] and "nothing was changed" in body["text"]
    await down.settle()
    assert down.posted() == []


async def test_an_event_fails_so_that_slack_delivers_it_again(down):
    response, _ = await down.say("An answer", thread="1700000000.000100")
    assert response.status == 500
    assert down.posted() == []
