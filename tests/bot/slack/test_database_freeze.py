"""A frozen PostgreSQL (packets held, no reset): answers fail fast with a 500, and nothing is lost.

Runs against PostgreSQL only (a network database can freeze; a SQLite file cannot): the
connection goes through a TCP proxy that holds every byte while frozen.
"""

import asyncio
import time

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from bot.app import build_runtime, build_web_app
from bot.settings import load_settings
from bot.slack.app import SLACK
from storage.models import Answer
from tests.bot.slack.conftest import SECRET, TOKEN, SlackHarness
from tests.fakes.tcp_proxy import TcpProxy


@pytest.fixture
async def frozen(engine, database_url, fake, clock):
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("a SQLite file cannot freeze: this runs on PostgreSQL")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = load_settings(
        database_url=through,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
    )
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    web_app = build_web_app(runtime, retry_backoff=0.01, flush_every=0)
    async with TestClient(TestServer(web_app)) as client:
        yield SlackHarness(client, fake, web_app[SLACK], runtime, clock), proxy
    proxy.heal()
    await asyncio.sleep(0.1)
    await runtime.close()
    proxy.close()


async def stored(engine) -> list[tuple[str, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.select(Answer.question_id, Answer.value))
        return [tuple(r) for r in rows]


async def test_a_frozen_database_fails_an_answer_fast_and_the_retry_is_handled_once(frozen, engine):
    slack, proxy = frozen
    thread = await slack.start()
    proxy.freeze()
    started = time.monotonic()
    response, ts = await slack.say("Churn is high", thread=thread, event_id="EvFROZEN")
    took = time.monotonic() - started
    assert response.status == 500 and took < 2.9  # Slack waits three seconds, then retries
    started = time.monotonic()
    health = await slack.client.get("/healthz")
    assert health.status == 503 and time.monotonic() - started < 3
    assert await stored(engine) == []

    proxy.heal()
    await asyncio.sleep(0.2)
    event = {
        "type": "message",
        "channel": "C1",
        "user": "U2",
        "text": "Churn is high",
        "ts": ts,
        "thread_ts": thread,
        "channel_type": "channel",
    }
    for retry in (1, 2):  # Slack's retries of the same event: one answer, one next question
        again = await slack.event(event, event_id="EvFROZEN", retry=retry)
        assert again.status == 200
    await slack.settle()
    assert await stored(engine) == [("problem", "Churn is high")]
    assert slack.last_question()["metadata"]["event_payload"]["question_id"] == "target_users"
    assert (await slack.client.get("/healthz")).status == 200


async def test_a_server_stopping_while_the_database_is_frozen_stops_at_once(frozen, monkeypatch):
    from storage import db

    slack, proxy = frozen
    await slack.start()  # pooled connections, idle now
    monkeypatch.setattr(db, "CLOSE_WITHIN", 0.5)
    proxy.freeze()
    started = time.monotonic()
    # asyncpg waits for the server's goodbye, which never comes: without a bound, forever
    await asyncio.wait_for(slack.runtime.close(), 10)
    assert time.monotonic() - started < 2
