"""Drive mlplan's Slack adapter over HTTP: requests signed as Slack signs them, a fake Web API."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.signature import SignatureVerifier

from bot.app import build_runtime, build_web_app
from bot.settings import load_settings
from bot.slack.app import SLACK
from tests.conftest import NOW
from tests.fakes.slack_api import fake_slack

SECRET = "test-signing-secret"
TOKEN = "xoxb-T1-test-token"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class SlackHarness:
    """Send Slack's requests to mlplan and read what mlplan sent to the fake Web API."""

    def __init__(self, client: TestClient, fake, adapter, runtime, clock: Clock):
        self.client = client
        self.fake = fake
        self.adapter = adapter
        self.runtime = runtime
        self.clock = clock
        self._ids = itertools.count(1)

    def _headers(
        self, body: str, content_type: str, *, timestamp: int | None = None, secret: str = SECRET
    ):
        timestamp = int(time.time()) if timestamp is None else timestamp
        signature = SignatureVerifier(secret).generate_signature(
            timestamp=str(timestamp), body=body
        )
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature,
        }

    async def post(self, body: str, content_type: str, **signing):
        headers = self._headers(
            body, content_type, **{k: v for k, v in signing.items() if k != "extra"}
        )
        headers |= signing.get("extra", {})
        return await self.client.post("/slack/events", data=body.encode(), headers=headers)

    async def command(
        self, text: str, *, user: str = "U1", team: str = "T1", channel: str = "C1", **signing
    ):
        body = urlencode(
            {
                "token": "legacy",
                "team_id": team,
                "team_domain": "acme",
                "channel_id": channel,
                "channel_name": "ml-team",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/mlplan",
                "text": text,
                "api_app_id": "A1",
                "response_url": self.fake.response_url("cmd"),
                "trigger_id": "1.2.3",
            }
        )
        return await self.post(body, "application/x-www-form-urlencoded", **signing)

    async def event(
        self,
        event: dict,
        *,
        team: str = "T1",
        event_id: str | None = None,
        retry: int | None = None,
        **signing,
    ):
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": team,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self._ids):06d}",
                "event_time": int(time.time()),
                "event": event,
                "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
            }
        )
        extra = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return await self.post(body, "application/json", extra=extra, **signing)

    async def say(
        self,
        text: str,
        *,
        thread: str,
        user: str = "U2",
        channel: str = "C1",
        team: str = "T1",
        **kwargs,
    ):
        """Post a person's reply in a thread, as a message event."""
        ts = f"{1800000000 + next(self._ids)}.000100"
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "thread_ts": thread,
            "channel_type": "channel",
        }
        response = await self.event(event, team=team, **kwargs)
        return response, ts

    async def direct(
        self, text: str, *, user: str, channel: str, thread: str | None = None, team: str = "T1"
    ):
        """Post a person's direct message to mlplan (in the DM, or in a thread there)."""
        ts = f"{1800000000 + next(self._ids)}.000100"
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "channel_type": "im",
        }
        if thread is not None:
            event["thread_ts"] = thread
        response = await self.event(event, team=team)
        return response, ts

    async def press(
        self,
        message: dict,
        action_id: str,
        value: str,
        *,
        user: str = "U2",
        team: str = "T1",
        channel: str = "C1",
        block_id: str = "b",
        **action_fields,
    ):
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A1",
            "channel": {"id": channel, "name": "ml-team"},
            "message": message,
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
            "response_url": self.fake.response_url("action"),
            "trigger_id": "4.5.6",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "type": "button",
                    "action_ts": "1",
                    **action_fields,
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def settle(self) -> None:
        """Wait until every message mlplan queued in the background is sent (or given up)."""
        await self.adapter.delivery.drain()

    def posted(self, event_type: str | None = None) -> list[dict]:
        """Messages mlplan posted, optionally only those with one metadata event type."""
        messages = [call.args for call in self.fake.sent("chat.postMessage")]
        if event_type is None:
            return messages
        return [m for m in messages if (m.get("metadata") or {}).get("event_type") == event_type]

    def last_question(self) -> dict:
        return self.posted("mlplan_question")[-1]

    async def start(self, name: str = "Churn model", **kwargs) -> str:
        """Start an intake and return its thread (the parent message's ts)."""
        response = await self.command(f"new {name}", **kwargs)
        assert response.status == 200, await response.text()
        await self.settle()
        parent = self.posted()[-2]
        assert parent.get("thread_ts") is None
        return self.fake.sent("chat.postMessage")[-2].response["ts"]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def fake():
    async with fake_slack() as server:
        yield server


@pytest.fixture
async def slack(engine, database_url, fake, clock):
    settings = load_settings(
        database_url=database_url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
    )
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    web_app = build_web_app(runtime, retry_backoff=0.01, flush_every=0)
    async with TestClient(TestServer(web_app)) as client:
        yield SlackHarness(client, fake, web_app[SLACK], runtime, clock)
    await runtime.close()
