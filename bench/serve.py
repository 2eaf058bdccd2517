"""Measure a real `mlplan serve` process: cold start, slash-command acks during a large tick, memory.

It fills a database with N projects (`bench.ticks.populate`, as settled by yesterday's ticks,
in a time zone where it is now past nine, so that today's reminders all fall due), starts
`python -m bot serve` against it and a fake Slack Web API on 127.0.0.1, and measures:

- cold start: from the process's start to the first 200 on `GET /healthz`;
- acks: signed `/mlplan help` commands, 20 a second, for as long as the scheduler's first
  tick (run by the server's scheduler process, `worker --beside-server`) is sending the day's
  reminders; their p50, p99 and maximum time to the HTTP response, and how many reminders
  went out meanwhile;
- peak memory: the server's high-water resident set (VmHWM) at the end, and its scheduler's.

`--worker` measures the Procfile's layout instead: `serve --no-scheduler` beside a `worker`
process that ticks (started by hand, after the server answered, not by the server).

Run it from the repository root, with a database of its own (it is emptied first):

    python -m bench.serve --database-url postgresql://postgres@127.0.0.1:5432/bench [--projects 10000] [--worker]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from bench.answers import SECRET, TOKEN, Poster
from bench.processes import compiled, peak_rss_mb, schedulers_of
from bench.ticks import analyze, populate, reset
from storage import db

ROOT = Path(__file__).resolve().parent.parent
RATE = 20  # slash commands a second during the tick
QUIET = 3.0  # seconds without a new reminder, once they began, that end the measurement


def _zone_past_nine(now: datetime) -> str:
    """Name a fixed-offset zone where the local time is now between noon and one."""
    offset = (12 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    # POSIX-style names are inverted: Etc/GMT-3 is three hours ahead of UTC.
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reminders(fake) -> int:
    """Count the direct messages (reminders) the fake Slack took so far."""
    return sum(
        1 for call in fake.calls if call.ok and str(call.args.get("channel", "")).startswith("U")
    )


def percentile(samples: list[float], q: float) -> float:
    """Return the q-quantile of samples (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


async def _start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    compiled()
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def measure(
    database_url: str,
    projects: int,
    *,
    timeout: float = 600,
    quiet: float = QUIET,
    worker: bool = False,
) -> dict:
    """Build the workspace, start `mlplan serve` (and a `worker`), and measure it."""
    from tests.fakes.slack_api import fake_slack

    now = datetime.now(UTC)
    zone = _zone_past_nine(now)
    engine = db.create_engine(database_url)
    try:
        await reset(engine)
        await populate(engine, projects=projects, now=now - timedelta(days=1), tz=ZoneInfo(zone))
        await analyze(engine)
    finally:
        await engine.dispose()
    async with fake_slack() as fake:
        port = _free_port()
        env = os.environ | {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "MLPLAN_TIMEZONE": zone,
            "PORT": str(port),
        }
        started = time.perf_counter()
        web = ("--no-scheduler",) if worker else ()
        process = await _start("serve", "--host", "127.0.0.1", *web, env=env)
        ticking = None
        try:
            async with aiohttp.ClientSession() as session:
                base = f"http://127.0.0.1:{port}"
                while True:
                    if process.returncode is not None:
                        raise RuntimeError("mlplan serve stopped before it answered /healthz")
                    try:
                        async with session.get(f"{base}/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.01)
                cold_start = time.perf_counter() - started
                if worker:
                    ticking = await _start("worker", env=env)
                poster = Poster(session, f"{base}/slack/events")
                acks, last_count, last_change = [], 0, time.perf_counter()
                deadline = time.perf_counter() + timeout
                while time.perf_counter() < deadline:
                    began = time.perf_counter()
                    status = await poster.command("help", fake.response_url())
                    acks.append(time.perf_counter() - began)
                    assert status == 200, status
                    count = _reminders(fake)
                    if count != last_count:
                        last_count, last_change = count, time.perf_counter()
                    elif last_count and time.perf_counter() - last_change > quiet:
                        break
                    await asyncio.sleep(max(0.0, 1 / RATE - (time.perf_counter() - began)))
                reminders = _reminders(fake)
                tick_seconds = last_change - started - cold_start
                peak = peak_rss_mb(process.pid)
                beside = schedulers_of(process.pid) if ticking is None else [ticking.pid]
                scheduler = beside[0] if beside else None
                scheduler_peak = peak_rss_mb(scheduler) if scheduler else None
        finally:
            for child in (process, ticking):
                if child is not None and child.returncode is None:
                    child.terminate()
                    await child.wait()
    return {
        "projects": projects,
        "layout": "serve --no-scheduler + worker" if worker else "serve (ticks in its child)",
        "cold_start_seconds": round(cold_start, 2),
        "acks": len(acks),
        "ack_p50_ms": percentile(acks, 0.5),
        "ack_p99_ms": percentile(acks, 0.99),
        "ack_max_ms": round(max(acks) * 1000, 1),
        "reminders_sent": reminders,
        "tick_seconds": round(tick_seconds, 1),
        "peak_rss_mb": peak,
        "scheduler_peak_rss_mb": scheduler_peak,
    }


def table(results: list[dict]) -> str:
    """Lay the results out as a Markdown table, a row each."""
    return "\n".join(
        [
            "| projects | processes | cold start to /healthz 200 | acks during the tick | p50"
            " | p99 | max | reminders sent | tick | peak RSS of serve | of its scheduler |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *(
                f"| {r['projects']:,} | {r['layout']} | {r['cold_start_seconds']:.2f} s"
                f" | {r['acks']} | {r['ack_p50_ms']} ms | {r['ack_p99_ms']} ms"
                f" | {r['ack_max_ms']} ms | {r['reminders_sent']:,} | {r['tick_seconds']} s"
                f" | {r['peak_rss_mb']} MB | {r['scheduler_peak_rss_mb']} MB |"
                for r in results
            ),
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    )
    parser.add_argument("--projects", type=int, default=10000)
    parser.add_argument("--worker", action="store_true", help="the Procfile's two processes")
    options = parser.parse_args()
    result = asyncio.run(measure(options.database_url, options.projects, worker=options.worker))
    print(table([result]))
