"""Many workspaces: Slack's OAuth install flow, installations in mlplan's database, one token each."""

import re
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_runtime, build_web_app
from bot.settings import load_settings
from bot.slack.app import BOT_SCOPES, SLACK
from tests.bot.slack.conftest import SECRET, SlackHarness


@pytest.fixture
async def multi(engine, database_url, fake, clock):
    settings = load_settings(
        database_url=database_url,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
    )
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    web_app = build_web_app(runtime, retry_backoff=0.01, flush_every=0)
    async with TestClient(TestServer(web_app)) as client:
        yield SlackHarness(client, fake, web_app[SLACK], runtime, clock)
    await runtime.close()


async def install(harness: SlackHarness, team: str) -> None:
    page = await harness.client.get("/slack/install")
    assert page.status == 200
    html = await page.text()
    link = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', html).group(1)
    state = re.search(r"state=([^&\"]+)", unquote(link.replace("&amp;", "&"))).group(1)
    assert all(scope in unquote(link) for scope in BOT_SCOPES)
    cookie = page.cookies["slack-app-oauth-state"].value
    done = await harness.client.get(
        "/slack/oauth_redirect",
        params={"code": f"{team}:abc", "state": state},
        headers={"Cookie": f"slack-app-oauth-state={cookie}"},
    )
    assert done.status == 200, await done.text()


async def test_each_installed_workspace_is_answered_with_its_own_token(multi):
    await install(multi, "T8")
    await install(multi, "T9")
    for team in ("T8", "T9"):
        response = await multi.command("new Churn model", team=team)
        assert response.status == 200
    await multi.settle()
    tokens = [call.token for call in multi.fake.sent("chat.postMessage")]
    # Two projects' threads go out side by side: each team's two posts with its own token.
    assert sorted(tokens) == ["xoxb-T8-installed"] * 2 + ["xoxb-T9-installed"] * 2


async def test_a_forged_state_installs_nothing(multi):
    done = await multi.client.get(
        "/slack/oauth_redirect", params={"code": "T7:abc", "state": "forged"}
    )
    assert done.status >= 400
    response = await multi.command("new Churn model", team="T7")
    await multi.settle()
    assert multi.fake.sent("chat.postMessage") == []
    assert response.status in (200, 401)
