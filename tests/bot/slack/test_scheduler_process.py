"""`mlplan serve` ticks in a process of its own: started with it, restarted, gone with it.

A thread of the server's process shared its interpreter with the acks (110-140 ms p99 during a
10,000-project tick, `docs/performance.md`); the child shares only the database. It must not
outlive the server however the server ends, or two schedulers would run after a restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp

from tests.bot.slack.test_processes import Server


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it ended while we looked
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` is still running (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def scheduler_of(server: Server, *, other_than: int | None = None) -> int:
    """Wait for the server's scheduler process (a new one, if `other_than`); return its pid."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for pid in children(server.process.pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--beside-server" in command and pid != other_than and alive(pid):
                return pid
        await asyncio.sleep(0.1)
    raise AssertionError("mlplan serve started no scheduler process")


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
