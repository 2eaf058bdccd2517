"""Real `mlplan serve` processes on one database: two of them under a 429 storm, one SIGKILLed.

Issue 11's fault runs, kept: nothing may be lost (every acknowledged answer stored once, every
next question posted or still queued) and nothing posted twice, whichever process takes a
request and whichever sends its reply.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from storage.models import Answer, Outgoing
from tests.bot.slack.conftest import SECRET, TOKEN, SlackHarness
from tests.fakes.slack_api import Failure

ANSWERS = 3  # a project's first questions are all text: any answer is taken


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `mlplan serve` process (with its scheduler) against the test database and fake Slack."""

    def __init__(self, database_url: str, api_url: str):
        self.database_url, self.api_url = database_url, api_url
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> Server:
        script = Path(sys.executable).with_name("mlplan")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
        env |= {
            "DATABASE_URL": self.database_url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.api_url,
            "PORT": str(self.port),
        }
        self.process = await asyncio.create_subprocess_exec(
            *command,
            "serve",
            "--host",
            "127.0.0.1",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError("mlplan serve did not answer /healthz")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(sig)
            await asyncio.wait_for(self.process.wait(), 30)


class Requests:
    """Slack's signed requests (one counter of event ids), sent to whichever server is named."""

    def __init__(self, fake):
        self.fake = fake
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.harness = SlackHarness(None, fake, None, None, None)
        self.events = itertools.count(1)

    def to(self, server: Server) -> SlackHarness:
        if server.url not in self.sessions:
            self.sessions[server.url] = aiohttp.ClientSession(base_url=server.url)
        self.harness.client = self.sessions[server.url]
        return self.harness

    async def close(self) -> None:
        for session in self.sessions.values():
            await session.close()


async def posts_by_thread(fake, count: int, timeout: float = 60) -> dict[str, list[str]]:
    """Wait for `count` successful posts; return each thread's question ids, in order."""
    await fake.wait_for("chat.postMessage", count=count, timeout=timeout)
    threads: dict[str, list[str]] = defaultdict(list)
    for call in fake.sent("chat.postMessage"):
        meta = call.args.get("metadata") or {}
        if meta.get("event_type") == "mlplan_question":
            threads[call.args["thread_ts"]].append(meta["event_payload"]["question_id"])
    return threads


async def parents(fake, names: list[str]) -> dict[str, str]:
    await fake.wait_for("chat.postMessage", count=2 * len(names), timeout=60)
    found = {}
    for call in fake.sent("chat.postMessage"):
        for name in names:
            if call.args.get("thread_ts") is None and name in call.args.get("text", ""):
                found[name] = call.response["ts"]
    assert set(found) == set(names)
    return found


async def stored(engine) -> tuple[dict[int, list[str]], list[str]]:
    async with engine.connect() as connection:
        answers = defaultdict(list)
        for project_id, raw in await connection.execute(
            sa.select(Answer.project_id, Answer.raw).order_by(Answer.id)
        ):
            answers[project_id].append(raw)
        statuses = (await connection.execute(sa.select(Outgoing.status))).scalars().all()
    return answers, statuses


@pytest.fixture
async def requests(fake):
    sent = Requests(fake)
    yield sent
    await sent.close()


async def test_two_servers_and_two_schedulers_under_a_429_storm_lose_nothing_and_post_once(
    engine, database_url, fake, requests
):
    first, second = Server(database_url, fake.api_url), Server(database_url, fake.api_url)
    await asyncio.gather(first.start(), second.start())
    try:
        storm = [Failure(status=429, error="ratelimited", retry_after=1)] * 6
        fake.fail("chat.postMessage", *storm)
        names = [f"Storm {n}" for n in range(3)]
        for n, name in enumerate(names):
            response = await requests.to((first, second)[n % 2]).command(f"new {name}")
            assert response.status == 200
        threads = await parents(fake, names)

        async def answer(thread: str) -> None:
            for k in range(ANSWERS):
                server = (first, second)[k % 2]
                response, _ = await requests.to(server).say(f"Answer {k}", thread=thread)
                assert response.status == 200

        await asyncio.gather(*(answer(t) for t in threads.values()))
        questions = await posts_by_thread(fake, count=len(names) * (2 + ANSWERS))
        await asyncio.sleep(2)  # a second process sending anything twice would show by now
    finally:
        await asyncio.gather(first.stop(), second.stop())
    assert fake.pending_failures("chat.postMessage") == []  # the storm was met
    assert len(fake.sent("chat.postMessage")) == len(names) * (2 + ANSWERS)
    for thread in threads.values():
        asked = questions[thread]
        assert len(asked) == 1 + ANSWERS and len(set(asked)) == len(asked), asked
    answers, statuses = await stored(engine)
    assert sorted(len(v) for v in answers.values()) == [ANSWERS] * len(names)
    assert set(statuses) == {"sent"}


async def test_a_server_killed_during_a_burst_of_answers_loses_none_and_posts_none_twice(
    engine, database_url, fake, requests
):
    server = await Server(database_url, fake.api_url).start()
    names = [f"Burst {n}" for n in range(3)]
    for name in names:
        assert (await requests.to(server).command(f"new {name}")).status == 200
    threads = await parents(fake, names)
    fake.fail("chat.postMessage", *[Failure(delay=0.3)] * 4)  # slow sends: kill mid-flight
    unacked: list[tuple[dict, str]] = []
    acked = 0
    killed = asyncio.Event()

    async def answer(thread: str) -> None:
        nonlocal acked
        for k in range(ANSWERS + 1):
            ts = f"{1800000000 + next(requests.events)}.000200"
            event = {
                "type": "message",
                "channel": "C1",
                "user": "U2",
                "text": f"Answer {k}",
                "ts": ts,
                "thread_ts": thread,
                "channel_type": "channel",
            }
            event_id = f"EvBurst{ts}"
            if killed.is_set():
                unacked.append((event, event_id))
                continue
            try:
                response = await requests.to(server).event(event, event_id=event_id)
                assert response.status == 200
                acked += 1
                if acked == 4:
                    server.process.kill()  # SIGKILL: no shutdown, no flush
                    killed.set()
            except (aiohttp.ClientError, ConnectionError):
                unacked.append((event, event_id))

    await asyncio.gather(*(answer(t) for t in threads.values()))
    await server.process.wait()
    restarted = await Server(database_url, fake.api_url).start()
    try:
        for event, event_id in unacked:  # Slack retries what got no 200, with the same event id
            harness = requests.to(restarted)
            assert (await harness.event(event, event_id=event_id, retry=1)).status == 200
        await asyncio.sleep(3)
    finally:
        await restarted.stop()
    answers, statuses = await stored(engine)
    for raws in answers.values():
        assert raws == [f"Answer {k}" for k in range(len(raws))]  # each once, in order
    assert sum(len(v) for v in answers.values()) == len(names) * (ANSWERS + 1)
    assert "failed" not in statuses  # every message sent or still queued, none given up
    posted = defaultdict(list)
    for call in fake.sent("chat.postMessage"):
        meta = call.args.get("metadata") or {}
        if meta.get("event_type") == "mlplan_question":
            posted[call.args["thread_ts"]].append(meta["event_payload"]["question_id"])
    for asked in posted.values():
        assert len(set(asked)) == len(asked), asked  # nothing posted twice
