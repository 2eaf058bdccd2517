"""Real `mlplan serve` processes on one database: two under a 429 storm, one SIGKILLed twice over.

Issue 11's fault runs, kept: nothing may be lost (every acknowledged answer stored once, every
next question posted or still queued) and nothing posted twice, whichever process takes a
request and whichever sends its reply; a server killed in the middle of a tick's sends posts
again, after a restart, only what was in flight at the kill, and nothing out of order.
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
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from bot.sender import AT_ONCE
from storage.models import Answer, Outgoing
from tests.bot.backup_files import Planned, project_line, restore_here
from tests.bot.slack.conftest import SECRET, TOKEN, SlackHarness
from tests.conftest import NOW
from tests.fakes.slack_api import Failure

ANSWERS = 3  # a project's first questions are all text: any answer is taken


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `mlplan serve` process (with its scheduler) against the test database and fake Slack."""

    def __init__(
        self, database_url: str, api_url: str, now: datetime | None = None, log: Path | None = None
    ):
        self.database_url, self.api_url = database_url, api_url
        self.now = now  # the moment its clock starts at (`serve --now`), else the real one
        self.log = log  # where its standard error goes (its scheduler's too), else nowhere
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
            *(["--now", self.now.isoformat()] if self.now else []),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w") if self.log else subprocess.DEVNULL,
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


PEOPLE = [f"U{n}" for n in range(10, 20)]
PROJECTS = 6
WEEK_LATER = NOW + timedelta(days=7, hours=1)  # Monday 10:00: the reminders and digests are due


async def outbox(engine) -> list[tuple[int, str, str, str, bool]]:
    """Every queued message: (id, channel, text, status, claimed), in outbox order."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(
                Outgoing.id,
                Outgoing.channel,
                Outgoing.payload,
                Outgoing.status,
                Outgoing.claimed_until,
            ).order_by(Outgoing.id)
        )
        return [(i, channel, p["text"], status, c is not None) for i, channel, p, status, c in rows]


async def a_week_of_projects(slack, flow, tmp_path) -> None:
    """Import projects whose items fall due in a week; each person subscribes to the digest."""
    file = tmp_path / "backup.jsonl"
    lines = [
        project_line(
            flow,
            number=n,
            workspace="slack:T1",
            now=NOW,
            owner={"id": PEOPLE[0], "name": "lead"},
            items=[
                Planned("milestone", f"Step {p}", NOW.date() + timedelta(days=7), {"id": p})
                for p in PEOPLE
            ],
        )
        for n in range(PROJECTS)
    ]
    file.write_text("".join(line + "\n" for line in lines))
    done = await restore_here(slack.runtime.sessions, flow, file, NOW)
    assert (done.projects, done.items) == (PROJECTS, PROJECTS * len(PEOPLE))
    slack.clock.now = NOW + timedelta(hours=1)
    for person in PEOPLE:
        assert (await slack.command("digest subscribe", user=person)).status == 200
    assert (await slack.command("digest subscribe <#C0LEADS|ml-leads>")).status == 200
    await slack.settle()
    assert slack.fake.sent("chat.postMessage") == []  # nothing is due until a week later


async def all_sent(engine, timeout: float = 60) -> None:
    """Wait until every queued message is recorded as sent."""
    deadline = time.monotonic() + timeout
    while {status for *_, status, _ in await outbox(engine)} != {"sent"}:
        assert time.monotonic() < deadline, "the restarted server did not send the rest"
        await asyncio.sleep(0.2)


async def test_a_server_killed_during_a_ticks_sends_loses_none_and_resends_only_what_was_in_flight(
    engine, database_url, slack, flow, tmp_path
):
    """SIGKILL while a tick sends the day's reminders and digests, then a restart on the database.

    Every message due arrives; the only ones twice are those Slack took and the dead process had
    not recorded (at most AT_ONCE, the sends a sender runs at once); each conversation in order.
    """
    fake = slack.fake
    await a_week_of_projects(slack, flow, tmp_path)
    reminders = len(PEOPLE) * PROJECTS  # a reminder a project and person
    due = reminders + len(PEOPLE) + 1  # and the digests
    kill_after = 3 * AT_ONCE
    # Slow sends (a quarter of a second) while the kill lands, so that some are in flight.
    fake.fail("chat.postMessage", *[Failure(delay=0.25)] * (kill_after + AT_ONCE))
    server = await Server(database_url, fake.api_url, now=WEEK_LATER).start()
    await fake.wait_for("chat.postMessage", count=kill_after, timeout=60)
    server.process.kill()  # SIGKILL in the middle of the tick's sends: no shutdown, no drain
    await server.process.wait()
    await asyncio.sleep(0.2)  # a request already on its way is still taken by the fake
    queued = await outbox(engine)
    # The tick queued the day's reminders in one go and sends them before it builds digests.
    assert len(queued) == reminders
    sent_then = [(c.args["channel"], c.args["text"]) for c in fake.sent("chat.postMessage")]
    unrecorded = {i for i, *_, status, claimed in queued if status == "pending" and claimed}

    # Restarted later than the claims of the dead process last: it takes them over.
    later = WEEK_LATER + timedelta(minutes=2)
    restarted = await Server(database_url, fake.api_url, now=later).start()
    try:
        await all_sent(engine)
    finally:
        await restarted.stop()
    queued = await outbox(engine)
    assert len(queued) == due  # the second tick queued the digests, and nothing again
    ids = {(channel, text): i for i, channel, text, *_ in queued}
    assert len(ids) == due  # each message is known by where it goes and what it says
    in_flight = {ids[key] for key in sent_then} & unrecorded  # handed to Slack, never recorded
    assert 1 <= len(in_flight) <= AT_ONCE, in_flight
    arrived = [(c.args["channel"], c.args["text"]) for c in fake.sent("chat.postMessage")]
    counts = Counter(ids[key] for key in arrived)
    assert set(counts) == set(ids.values())  # nothing lost
    assert {i for i, n in counts.items() if n > 1} == in_flight  # twice: only what was in flight
    assert max(counts.values()) == 2
    by_channel: dict[str, list[int]] = defaultdict(list)
    for channel, text in arrived:
        by_channel[channel].append(ids[channel, text])
    assert len(by_channel) == len(PEOPLE) + 1
    for channel, order in by_channel.items():  # a resend repeats the last, never an older one
        assert order == sorted(order), (channel, order)
