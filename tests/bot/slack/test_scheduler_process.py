"""`mlplan serve` and `mlplan socket` tick in a process of their own: started, restarted, ended
with them.

A thread of the server's process shared its interpreter with the acks (110-140 ms p99 during a
10,000-project tick, `docs/performance.md`); the child shares only the database. It must not
outlive the server however the server ends, or two schedulers would run after a restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import aiohttp

from bench.processes import alive, schedulers_of
from tests.bot.slack.test_processes import Server
from tests.bot.test_chat_cli import MLPLAN


async def scheduler_of(server, *, other_than: int | None = None) -> int:
    """Wait for a server's scheduler process (a new one, if `other_than`); return its pid.

    `server`: a `Server`, or the process of a server (`mlplan socket`)."""
    process = getattr(server, "process", server)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for pid in schedulers_of(process.pid):
            if pid != other_than:
                return pid
        await asyncio.sleep(0.1)
    raise AssertionError("the server started no scheduler process")


async def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_the_scheduler_process_dies_with_a_server_killed_by_sigkill(
    engine, database_url, fake
):
    server = await Server(database_url, fake.api_url).start()
    scheduler = None
    try:
        scheduler = await scheduler_of(server)
        server.process.kill()  # no shutdown: nothing in the server runs to stop its child
        await server.process.wait()
        assert await gone(scheduler), "the scheduler outlived its server"
    finally:
        await server.stop()
        if scheduler is not None and alive(scheduler):  # an orphan would tick on for ever
            os.kill(scheduler, signal.SIGKILL)


async def test_a_scheduler_process_that_dies_is_started_again_and_stopped_with_the_server(
    engine, database_url, fake, tmp_path
):
    log = tmp_path / "serve.log"
    server = await Server(database_url, fake.api_url, log=log).start()
    try:
        first = await scheduler_of(server)
        os.kill(first, signal.SIGKILL)
        second = await scheduler_of(server, other_than=first)  # after a second's pause
        assert not alive(first)
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as response:
            assert response.status == 200  # the server served on meanwhile
        await asyncio.sleep(3)  # the new scheduler up and ticking, as the next stop finds it
        await server.stop(signal.SIGTERM)
        assert server.process.returncode == 0
        assert await gone(second, timeout=1)  # stopped before the server exited
    finally:
        await server.stop()
    said = log.read_text()
    assert said.count("stopped with exit status") == 1, said  # the kill's, not the stop's
    assert "Fatal Python error" not in said and "Traceback" not in said, said


async def test_mlplan_socket_ticks_in_a_process_of_its_own_and_stops_it(engine, database_url, fake):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env |= {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-T1-token",
        "SLACK_APP_TOKEN": "xapp-1-token",
        "SLACK_API_URL": fake.api_url,
    }
    process = await asyncio.create_subprocess_exec(
        *MLPLAN, "socket", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        scheduler = await scheduler_of(process)  # started once the socket is connected
        command = {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/mlplan",
            "text": "help",
            "response_url": fake.response_url(),
        }
        ack = await fake.push("slash_commands", command)
        assert "/mlplan new" in ack["payload"]["text"]
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert await gone(scheduler, timeout=1)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
