"""The fake Slack Web API answers slack_sdk the way Slack does, over a real socket."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers, jitter
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_api import Failure, fake_slack

TOKEN = "xoxb-T1-abc"


@pytest.fixture
async def slack():
    """Run a fake Slack Web API for one test."""
    async with fake_slack() as fake:
        yield fake


@pytest.fixture
def client(slack) -> AsyncWebClient:
    """Give a test a client of the fake without retry handlers beyond slack_sdk's default."""
    return AsyncWebClient(token=TOKEN, base_url=slack.api_url)


@pytest.fixture
def no_jitter(monkeypatch):
    """Drop slack_sdk's random 0-1 s jitter from retry sleeps so that retry tests stay fast."""
    zero = SimpleNamespace(random=lambda: 0.0)
    monkeypatch.setattr(builtin_async_handlers, "random", zero)
    monkeypatch.setattr(jitter, "random", zero)


async def test_post_message_records_decoded_blocks_metadata_and_increasing_ts(slack, client):
    blocks = [SectionBlock(block_id="b1", text="*Plan*")]
    metadata = {"event_type": "plan_posted", "event_payload": {"project": 7}}
    first = await client.chat_postMessage(
        channel="C1", text="Plan", blocks=blocks, metadata=metadata
    )
    second = await client.chat_postMessage(channel="C1", text="Reply", thread_ts=first["ts"])
    # A form-encoded post carries blocks and metadata as JSON strings.
    third = await client.api_call(
        "chat.postMessage",
        data={"channel": "C2", "blocks": json.dumps([{"type": "divider"}]), "metadata": "{}"},
    )

    posts = slack.sent("chat.postMessage")
    assert len(posts) == 3
    assert posts[0].args["blocks"] == [
        {"type": "section", "block_id": "b1", "text": {"type": "mrkdwn", "text": "*Plan*"}}
    ]
    assert posts[0].args["metadata"] == metadata
    assert posts[1].args["thread_ts"] == first["ts"]
    assert posts[2].args == {"channel": "C2", "blocks": [{"type": "divider"}], "metadata": {}}
    assert {call.token for call in posts} == {TOKEN}
    assert all(call.status == 200 and call.retry_attempt == 0 for call in posts)

    stamps = [first["ts"], second["ts"], third["ts"]]
    assert first["ts"] == "1700000000.000100"
    assert len(set(stamps)) == 3
    assert stamps == sorted(stamps, key=float)
    assert first["channel"] == "C1"
    assert first["message"]["metadata"] == metadata
    assert first["message"]["user"] == "UBOT"
    assert second["message"]["thread_ts"] == first["ts"]
    assert "thread_ts" not in first["message"]


async def test_message_without_channel_or_text_is_refused_like_slack(slack, client):
    with pytest.raises(SlackApiError) as no_channel:
        await client.chat_postMessage(channel="", text="hi")
    with pytest.raises(SlackApiError) as no_text:
        await client.api_call("chat.postMessage", json={"channel": "C1"})
    assert no_channel.value.response["error"] == "channel_not_found"
    assert no_text.value.response["error"] == "no_text"
    assert slack.sent("chat.postMessage") == []
    assert [call.ok for call in slack.calls] == [False, False]


@pytest.mark.parametrize(
    ("token", "team"), [(TOKEN, "T1"), ("xoxb-T42-xyz", "T42"), ("xoxb-abc", "T1")]
)
async def test_auth_test_answers_with_the_team_of_the_token(slack, token, team):
    answer = await AsyncWebClient(token=token, base_url=slack.api_url).auth_test()
    assert answer["team_id"] == team
    assert (answer["user_id"], answer["bot_id"]) == ("UBOT", "BBOT")
    assert slack.sent("auth.test")[0].token == token


async def test_rate_limit_is_retried_by_the_rate_limit_handler(slack, no_jitter):
    slack.fail("chat.postMessage", Failure(status=429, error="ratelimited", retry_after=0))
    client = AsyncWebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    answer = await client.chat_postMessage(channel="C1", text="hi")
    assert answer["ok"] is True
    assert [(c.status, c.ok, c.retry_attempt) for c in slack.calls] == [
        (429, False, 0),
        (200, True, 1),
    ]
    assert len(slack.sent("chat.postMessage")) == 1
    assert slack.pending_failures("chat.postMessage") == []


async def test_rate_limit_without_retry_handler_raises_then_normal_behaviour_resumes(slack, client):
    slack.fail("chat.postMessage", Failure(status=429, error="ratelimited", retry_after=0))
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "0"
    assert "application/json" in raised.value.response.headers["Content-Type"]

    await client.chat_postMessage(channel="C1", text="hi")
    assert [call.status for call in slack.calls] == [429, 200]


async def test_server_errors_are_retried_by_the_server_error_handler(slack, no_jitter):
    slack.fail("chat.postMessage", Failure(status=500), Failure(status=503))
    client = AsyncWebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[
            AsyncServerErrorRetryHandler(
                max_retry_count=2,
                interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=0.01),
            )
        ],
    )
    answer = await client.chat_postMessage(channel="C1", text="hi")
    assert answer["ok"] is True
    assert [c.status for c in slack.calls] == [500, 503, 200]
    assert [c.response.get("error") for c in slack.calls[:2]] == ["internal_error"] * 2
    assert len(slack.sent("chat.postMessage")) == 1


async def test_permanent_slack_error_raises_without_retry(slack):
    slack.fail("chat.postMessage", Failure(error="not_in_channel"))
    client = AsyncWebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response["error"] == "not_in_channel"
    assert len(slack.calls) == 1
    assert slack.calls[0].status == 200
    assert slack.sent("chat.postMessage") == []


async def test_delayed_answer_provokes_a_client_timeout(slack):
    slack.fail("users.info", Failure(status=500, delay=5.0))
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url, timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        await client.users_info(user="U1")
    assert [(c.method, c.status) for c in slack.calls] == [("users.info", 500)]


async def test_response_url_records_the_posted_body(slack):
    answer = await AsyncWebhookClient(slack.response_url("x")).send(
        text="hi", response_type="ephemeral"
    )
    assert answer.status_code == 200
    assert json.loads(answer.body) == {"ok": True}
    assert slack.responses == [{"name": "x", "text": "hi", "response_type": "ephemeral"}]
    assert slack.calls == []


async def test_other_methods_are_shaped_like_slack(slack, client):
    slack.users["U2"]["tz"] = "Europe/Paris"
    del slack.users["U3"]

    u1 = await client.users_info(user="U1")
    u2 = await client.users_info(user="U2")
    with pytest.raises(SlackApiError) as missing:
        await client.users_info(user="U3")
    dm = await client.conversations_open(users=["U1", "U2"])
    dm_from_string = await client.conversations_open(users="U4,U5")
    update = await client.chat_update(channel="C1", ts="1700000000.000100", text="new")
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    view = await client.views_open(trigger_id="t", view={"type": "modal", "callback_id": "m"})
    other = await client.reactions_add(channel="C1", timestamp="1.2", name="eyes")

    assert u1["user"] == {**u1["user"], "id": "U1", "name": "u1", "tz": "UTC", "is_bot": False}
    assert u2["user"]["tz"] == "Europe/Paris"
    assert missing.value.response["error"] == "user_not_found"
    assert slack.users.get("U3") is None
    assert dm["channel"]["id"] == "DU1"
    assert dm_from_string["channel"]["id"] == "DU4"
    assert (update["ts"], update["text"], update["channel"]) == ("1700000000.000100", "new", "C1")
    assert float(ephemeral["message_ts"]) > 0
    assert view["view"] == {"id": "V1", "type": "modal", "callback_id": "m"}
    assert other.data == {"ok": True}
    assert [c.method for c in slack.calls if not c.ok] == ["users.info"]


async def test_wait_for_times_out_with_the_calls_seen(slack, client):
    await client.auth_test()
    slack.fail("chat.postMessage", Failure(error="channel_not_found"))
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C9", text="lost")

    with pytest.raises(AssertionError) as raised:
        await slack.wait_for("chat.postMessage", timeout=0.1)
    message = str(raised.value)
    assert "1 successful chat.postMessage" in message
    assert "auth.test status=200 ok=True" in message
    assert "'channel_not_found'" in message


async def test_wait_for_returns_when_a_concurrent_task_posts(slack, client):
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C1", text="one")
        await client.chat_postMessage(channel="C1", text="two")

    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(post_later())
    calls = await slack.wait_for("chat.postMessage", count=2, timeout=3.0)
    elapsed = loop.time() - started
    await task
    assert [c.args["text"] for c in calls] == ["one", "two"]
    assert elapsed < 1.0
