"""Drive mlplan's Teams adapter over HTTP: activities as Teams sends them, a fake connector."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_runtime, build_web_app
from bot.settings import load_settings
from bot.teams.app import TEAMS
from tests.bot.slack.conftest import Clock
from tests.conftest import NOW
from tests.fakes.bot_connector import BOT_ID, TENANT, Sent, fake_connector

CHANNEL = "19:ml-team@thread.tacv2"
PERSONAL = "a:1personal-ada"
ADA = {"id": "29:1ada", "name": "Ada Lovelace", "aadObjectId": "aad-ada"}
BEN = {"id": "29:1ben", "name": "Ben Okafor", "aadObjectId": "aad-ben"}


class TeamsHarness:
    """Post Teams activities to /api/messages and read what mlplan sent to the fake connector."""

    def __init__(self, client: TestClient, fake, adapter, runtime, clock: Clock):
        self.client = client
        self.fake = fake
        self.adapter = adapter
        self.runtime = runtime
        self.clock = clock
        self._ids = itertools.count(1000)

    def activity(
        self,
        *,
        conversation: str = PERSONAL,
        kind: str | None = None,
        user: dict[str, Any] = ADA,
        tenant: str = TENANT,
        timezone: str | None = "Europe/London",
        **fields: Any,
    ) -> dict[str, Any]:
        """Build an activity the way Teams sends one (ids, accounts, tenant, service URL)."""
        if kind is None:
            kind = (
                "channel"
                if conversation.startswith("19:") and "thread.tacv2" in conversation
                else "personal"
            )
        body: dict[str, Any] = {
            "type": "message",
            "id": str(next(self._ids)),
            "timestamp": "2026-11-23T09:00:00.000Z",
            "serviceUrl": self.fake.service_url,
            "channelId": "msteams",
            "from": user,
            "recipient": {"id": BOT_ID, "name": "mlplan"},
            "conversation": {"id": conversation, "conversationType": kind, "tenantId": tenant},
            "channelData": {"tenant": {"id": tenant}},
            "locale": "en-GB",
        }
        if timezone:
            body["localTimezone"] = timezone
        body.update(fields)
        return body

    async def post(self, body: dict[str, Any], headers: dict[str, str] | None = None):
        return await self.client.post("/api/messages", json=body, headers=headers or {})

    async def say(self, text: str, *, mention_bot: bool = False, **kwargs: Any):
        """Send a message; in a channel, @mention the bot as Teams does."""
        entities = list(kwargs.pop("entities", []))
        if mention_bot:
            text = f"<at>mlplan</at> {text}"
            entities.append(
                {
                    "type": "mention",
                    "text": "<at>mlplan</at>",
                    "mentioned": {"id": BOT_ID, "name": "mlplan"},
                }
            )
        body = self.activity(text=text, entities=entities, **kwargs)
        response = await self.post(body)
        assert response.status == 200, await response.text()
        await self.settle()
        return body

    async def press(self, sent: Sent, data: dict[str, Any], **kwargs: Any):
        """Press an Action.Submit button of a card mlplan sent: a message with `value`, no text."""
        kwargs.setdefault("conversation", sent.conversation)
        body = self.activity(value=data, replyToId=sent.id, **kwargs)
        response = await self.post(body)
        assert response.status == 200, await response.text()
        await self.settle()
        return body

    async def settle(self) -> None:
        """Wait until everything mlplan queued has been sent (or given up for now)."""
        await self.adapter.delivery.drain()

    def last_question(self) -> Sent:
        return self.fake.questions()[-1]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def connector():
    async with fake_connector() as fake:
        yield fake


@pytest.fixture
async def teams(engine, database_url, connector, clock):
    settings = load_settings(database_url=database_url, mlplan_teams_anonymous=True)
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    web_app = build_web_app(runtime, teams_options={"flush_every": 0})
    async with TestClient(TestServer(web_app)) as client:
        yield TeamsHarness(client, connector, web_app[TEAMS], runtime, clock)
    await runtime.close()
