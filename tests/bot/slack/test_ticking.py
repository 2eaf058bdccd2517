"""Ticks run in a thread of their own: a slash command is acked while a long tick is running."""

import asyncio
import threading
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_runtime, build_web_app
from bot.scheduler import Scheduler
from bot.settings import load_settings
from bot.slack.app import SLACK
from tests.bot.slack.conftest import SECRET, TOKEN, Clock, SlackHarness


async def test_a_slash_command_is_acked_and_answered_while_a_slow_tick_runs(
    engine, database_url, fake, monkeypatch
):
    events: list[str] = []
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    threads: set[str] = set()
    real_tick = Scheduler.tick

    async def slow_tick(self, now):
        if started.is_set():  # only the first tick is slow
            return await real_tick(self, now)
        threads.add(threading.current_thread().name)
        events.append("tick started")
        started.set()
        release.wait(timeout=30)  # holds its loop, as a tick of 10,000 projects would
        report = await real_tick(self, now)
        events.append("tick finished")
        finished.set()
        return report

    monkeypatch.setattr(Scheduler, "tick", slow_tick)
    settings = load_settings(
        database_url=database_url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
    )
    # The ticker's first tick is due at once on this clock (it need not be any particular day).
    clock = Clock(datetime.now(UTC))
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    web_app = build_web_app(runtime, run_scheduler=True, retry_backoff=0.01, flush_every=0)
    try:
        async with TestClient(TestServer(web_app)) as client:
            slack = SlackHarness(client, fake, web_app[SLACK], runtime, clock)
            assert await asyncio.to_thread(started.wait, 30)
            response = await slack.command("new Churn model")
            assert response.status == 200
            events.append("acked")
            await slack.settle()
            assert "Churn model" in slack.posted()[0]["text"]
            assert len(slack.posted("mlplan_question")) == 1
            events.append("answered")
            release.set()
            assert await asyncio.to_thread(finished.wait, 30)
    finally:
        release.set()
        await runtime.close()
    assert events == ["tick started", "acked", "answered", "tick finished"]
    assert threads == {"mlplan-ticker"}
