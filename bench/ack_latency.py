"""Measure how fast mlplan answers Slack: the time to the HTTP response of commands and replies.

Slack gives an app three seconds. This drives the real path (signed request, Bolt, database,
outbox) against a fake Web API on 127.0.0.1 and prints percentiles. Run it from the repo root:

    python -m bench.ack_latency [--database-url URL] [--replies 200]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_runtime, build_web_app
from bot.settings import load_settings
from bot.slack.app import SLACK
from storage import db
from tests.bot.slack.conftest import SECRET, TOKEN, Clock, SlackHarness
from tests.fakes.slack_api import fake_slack


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.5):.1f} ms, p95 {pick(0.95):.1f} ms, max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"


async def main(database_url: str, replies: int) -> None:
    async with fake_slack() as fake:
        settings = load_settings(
            database_url=database_url,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
        )
        engine = db.create_engine(database_url)
        await db.upgrade(engine)
        await engine.dispose()
        runtime = await build_runtime(settings, migrate=False, clock=Clock(datetime.now(UTC)))
        web_app = build_web_app(runtime, flush_every=0)
        async with TestClient(TestServer(web_app)) as client:
            slack = SlackHarness(client, fake, web_app[SLACK], runtime, runtime.clock)
            commands, answers = [], []
            for i in range(20):
                started = time.perf_counter()
                response = await slack.command(f"new Bench project {time.time_ns()} {i}")
                commands.append(time.perf_counter() - started)
                assert response.status == 200
                await slack.settle()
            thread = fake.sent("chat.postMessage")[-2].response["ts"]
            for i in range(replies):
                started = time.perf_counter()
                response, _ = await slack.say("skip" if i % 2 else "back", thread=thread)
                answers.append(time.perf_counter() - started)
                assert response.status == 200
                await slack.settle()
        await runtime.close()
    print(f"/mlplan new, to the 200:  {percentiles(commands)}")
    print(f"thread reply, to the 200: {percentiles(answers)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    )
    parser.add_argument("--replies", type=int, default=200)
    options = parser.parse_args()
    asyncio.run(main(options.database_url, options.replies))
