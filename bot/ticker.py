"""Wake the scheduler: APScheduler calls `tick(now)` every minute, in a loop, a thread or a process.

APScheduler only wakes us up; what is due and what was sent live in the database (see
`bot.scheduler`), so a missed or doubled wake-up sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from bot.scheduler import Scheduler

log = logging.getLogger("mlplan.scheduler")
TICK_EVERY = 60


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class Ticker:
    """APScheduler calling `tick(now)` every minute, and a stop that lets a running tick finish.

    APScheduler's `shutdown(wait=False)` leaves a running coroutine job behind; closing the
    database under it would leave it waiting forever on a connection that is gone.
    """

    def __init__(self, scheduler: Scheduler, clock: Callable[[], datetime], every: int):
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.scheduler = scheduler
        self.clock = clock
        self._running: set[asyncio.Task] = set()
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_job(
            self._run,
            "interval",
            seconds=every,
            # APScheduler keeps its times on the wall clock; `clock` is only what a tick is told
            # (a clock started elsewhere, `mlplan serve --now`, would put the first tick off).
            next_run_time=utcnow(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=30,
        )

    async def _run(self) -> None:
        task = asyncio.current_task()
        self._running.add(task)
        try:
            report = await self.scheduler.tick(self.clock())
        except Exception:  # the next tick tries again; claims make that safe
            log.exception("tick failed")
            return
        finally:
            self._running.discard(task)
        if report.reminders or report.digests or report.sent:
            log.info(
                "tick: %d reminders, %d digests queued; %d messages sent",
                report.reminders,
                report.digests,
                report.sent,
            )

    async def stop(self, timeout: float = 30) -> None:
        """Stop ticking; wait (a while) for a tick that is running to finish."""
        self._aps.shutdown(wait=False)
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)


def start_ticking(
    scheduler: Scheduler, *, clock: Callable[[], datetime] = utcnow, every: int = TICK_EVERY
) -> Ticker:
    """Run `tick(now)` every minute in the running loop with APScheduler; `await stop()` it."""
    ticker = Ticker(scheduler, clock, every)
    ticker._aps.start()
    return ticker


# Build, inside the ticker's own loop, a scheduler and what closes it (its engine, its clients).
SchedulerFactory = Callable[[], Awaitable[tuple[Scheduler, Callable[[], Awaitable[None]]]]]


class ThreadTicker:
    """Tick in a thread with an event loop of its own, so a tick never holds up a web request.

    Database connections and HTTP clients belong to the loop that made them: the factory builds
    the scheduler's own engine, sessions and platform clients inside the thread's loop.
    """

    def __init__(self, build: SchedulerFactory, clock: Callable[[], datetime], every: int):
        self._build = build
        self.clock = clock
        self.every = every
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="mlplan-ticker", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # reported by start(); the web process goes on
            self._failed = err
            log.exception("the ticker thread stopped")
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        scheduler, close = await self._build()
        try:
            ticker = start_ticking(scheduler, clock=self.clock, every=self.every)
            self._ready.set()
            try:
                await self._stopping.wait()
            finally:
                await ticker.stop()
        finally:
            await close()

    async def start(self) -> ThreadTicker:
        """Start the thread and wait until it ticks (or raise what stopped it)."""
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._failed is not None:
            raise RuntimeError("the scheduler could not start") from self._failed
        return self

    async def stop(self, timeout: float = 30) -> None:
        """Stop ticking, let a running tick finish (a while), close the thread's connections."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        await asyncio.to_thread(self._thread.join, timeout)


async def start_ticking_in_thread(
    build: SchedulerFactory, *, clock: Callable[[], datetime] = utcnow, every: int = TICK_EVERY
) -> ThreadTicker:
    """Run `tick(now)` every minute in a thread of its own; `await stop()` it."""
    return await ThreadTicker(build, clock, every).start()


# The arguments of `python -m bot` that start a scheduler process beside a server, asked at
# every start of it (`bot.cli` builds them: `worker --beside-server`, and `--now` if rehearsing).
WorkerArguments = Callable[[], Sequence[str]]
# The pause before a scheduler process that died is started again: doubling up to a minute,
# back to a second once one has run for a minute.
RESTART_PAUSE, RESTART_PAUSE_MAX = 1.0, 60.0


class ProcessTicker:
    """Tick in a child process, `python -m bot worker --beside-server`, beside a server.

    A thread of the server's own process still shares its interpreter: during a long tick the
    server's acks waited 110-140 ms (p99) on it. A child shares nothing but the database. It is
    stopped with the server (SIGTERM: a running tick finishes), started again after a pause if
    it dies, and it dies with the server however the server ends, even by SIGKILL: its standard
    input is a pipe whose only other end is the server's (`die_with_the_server`).
    """

    def __init__(self, argv: WorkerArguments):
        self._argv = argv  # asked at every start: `--now` reads the server's clock then
        self._child: asyncio.subprocess.Process | None = None
        self._supervising: asyncio.Task | None = None

    async def _spawn(self) -> asyncio.subprocess.Process:
        # A session of its own: a Ctrl-C in the server's terminal reaches the server alone,
        # which then stops its child (rather than both at once, and a restart logged between).
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self._argv(),
            stdin=asyncio.subprocess.PIPE,
            start_new_session=True,
        )

    async def start(self) -> ProcessTicker:
        """Start the scheduler process (without waiting for its first tick) and watch it."""
        self._child = await self._spawn()
        self._supervising = asyncio.create_task(self._supervise(), name="mlplan-ticker-process")
        return self

    async def _supervise(self) -> None:
        pause = RESTART_PAUSE
        while True:
            began = time.monotonic()
            status = await self._child.wait()
            if time.monotonic() - began > RESTART_PAUSE_MAX:
                pause = RESTART_PAUSE
            log.error(
                "the scheduler process (pid %d) stopped with exit status %s;"
                " starting it again in %g s",
                self._child.pid,
                status,
                pause,
            )
            while True:
                await asyncio.sleep(pause)
                pause = min(2 * pause, RESTART_PAUSE_MAX)
                try:
                    self._child = await self._spawn()
                    break
                except OSError:  # the interpreter replaced under us, say, by a deploy
                    log.exception("cannot start the scheduler process; trying in %g s", pause)

    async def stop(self, timeout: float = 35) -> None:
        """Stop the scheduler process: SIGTERM, a running tick finishes (a while), then SIGKILL.

        The child's own stop gives a running tick 30 s (`Ticker.stop`); this, a little more.
        """
        if self._supervising is not None:
            self._supervising.cancel()
            await asyncio.gather(self._supervising, return_exceptions=True)
        child = self._child
        if child is None or child.returncode is not None:
            return
        child.terminate()
        try:
            await asyncio.wait_for(child.wait(), timeout)
        except TimeoutError:
            log.warning("the scheduler process (pid %d) did not stop: killed", child.pid)
            child.kill()
            await child.wait()


def die_with_the_server() -> None:
    """End this process at once when the server that started it is gone (`--beside-server`).

    Standard input is the server's pipe; it reads as closed only when the server has exited,
    however it exited. What was being sent then is resent by whoever ticks next, as after any
    crash: claims are in the database (`bot.sender`).
    """

    def watch() -> None:
        # The raw descriptor, not sys.stdin: a thread blocked in a buffered read holds its
        # lock, and the interpreter's shutdown after a graceful stop aborts on that lock.
        while os.read(sys.stdin.fileno(), 4096):
            pass
        log.warning("the server that started this scheduler is gone: stopping at once")
        os._exit(0)

    threading.Thread(target=watch, name="mlplan-server-watch", daemon=True).start()
