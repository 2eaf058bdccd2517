"""Build mlplan in one place: settings, database, flow, conversation service and web app."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot import http
from bot.clients import KeptSession
from bot.conversation import Conversations
from bot.core import Core
from bot.digests import Digests
from bot.notify import Notifier
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.slack import app as slack
from bot.teams import app as teams
from bot.ticker import (
    ProcessTicker,
    ThreadTicker,
    Ticker,
    WorkerArguments,
    start_ticking,
    start_ticking_in_thread,
)
from bot.tracking import Tracking
from flows.model import Flow, default_flow
from storage import db

log = logging.getLogger("mlplan")

# Allocations between two collections of the garbage collector's youngest generation (Python's
# default: 700). A turn allocates thousands of objects, nearly all freed by their counts at once.
YOUNGEST_COLLECTED_AFTER = 10_000


@dataclass
class Runtime:
    """Everything a command needs, built once per process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    flow: Flow
    conversations: Conversations
    digests: Digests
    tracking: Tracking
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    core: Core = field(init=False)
    # The HTTP session the platforms' clients share, closed with the runtime.
    outgoing: KeptSession = field(init=False, default_factory=KeptSession)

    def __post_init__(self) -> None:
        self.core = Core(
            sessions=self.sessions,
            flow=self.flow,
            conversations=self.conversations,
            digests=self.digests,
            tracking=self.tracking,
            clock=lambda: self.clock(),  # tests replace the runtime's clock after it is built
        )

    async def close(self) -> None:
        """Close the outgoing HTTP session and release the database connections."""
        await self.outgoing.close()
        await db.dispose(self.engine)


async def build_runtime(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], datetime] | None = None
) -> Runtime:
    """Open the database (migrating it to head unless told not to) and build the services."""
    engine = db.create_engine(settings.database_url)
    if migrate:
        await db.upgrade(engine)
    sessions = db.sessionmaker(engine)
    flow = default_flow()
    conversations = Conversations(sessions=sessions, flow=flow, default_timezone=settings.timezone)
    digests = Digests(sessions=sessions, flow=flow, default_timezone=settings.timezone)
    tracking = Tracking(sessions=sessions, default_timezone=settings.timezone)
    runtime = Runtime(settings, engine, sessions, flow, conversations, digests, tracking)
    if clock is not None:
        runtime.clock = clock
    return runtime


def build_scheduler(
    runtime: Runtime,
    *,
    slack_adapter: slack.SlackAdapter | None,
    teams_adapter: teams.TeamsAdapter | None = None,
) -> Scheduler:
    """Build the scheduler with a notifier for each connected platform."""
    notifiers = {}
    if slack_adapter is not None:
        notifiers["slack"] = Notifier(slack_adapter.delivery)
    if teams_adapter is not None:
        notifiers["msteams"] = Notifier(teams_adapter.delivery)
    return Scheduler(
        sessions=runtime.sessions,
        default_timezone=runtime.settings.timezone,
        notifiers=notifiers,
        digests=runtime.digests,
        digest_cron=runtime.settings.mlplan_digest_cron,
    )


@dataclass
class Platforms:
    """The adapter of each configured platform, and the scheduler that reaches them."""

    slack: slack.SlackAdapter | None
    teams: teams.TeamsAdapter
    scheduler: Scheduler

    def start_ticking(self, runtime: Runtime) -> Ticker:
        """Run the scheduler every minute in the running loop; `await stop()` the ticker.

        For a process that does nothing else (the worker); beside a server, `tick_apart`.
        """
        return start_ticking(self.scheduler, clock=runtime.clock)

    async def drain(self) -> None:
        """Wait for the messages being sent right now."""
        if self.slack is not None:
            await self.slack.delivery.drain()
        await self.teams.delivery.drain()


async def tick_apart(
    runtime: Runtime, worker: WorkerArguments | None = None
) -> ThreadTicker | ProcessTicker:
    """Run the scheduler every minute away from the server's loop; `await stop()` the ticker.

    With `worker`, in a process of its own (`mlplan serve` and `mlplan socket`: a tick then
    shares no interpreter with the acks); else in a thread of this process, which builds its
    own engine, sessions and platform clients (each belongs to the loop that made it).
    """
    if worker is not None:
        return await ProcessTicker(worker).start()
    clock = lambda: runtime.clock()  # noqa: E731 - tests move the runtime's clock after start

    async def build():
        own = await build_runtime(runtime.settings, migrate=False, clock=clock)
        platforms = build_platforms(own)

        async def close() -> None:
            await platforms.drain()
            await own.close()

        return platforms.scheduler, close

    return await start_ticking_in_thread(build, clock=clock)


def build_platforms(
    runtime: Runtime,
    *,
    socket_mode: bool | None = None,
    slack_options: dict | None = None,
    teams_options: dict | None = None,
) -> Platforms:
    """Build the platforms' adapters and the scheduler for a runtime.

    Slack is built for Socket Mode (True), for HTTP (False), or, when the process only sends
    (the worker, `mlplan tick`: None), for Socket Mode exactly when SLACK_APP_TOKEN is set.
    """
    if socket_mode is None:
        socket_mode = runtime.settings.slack_app_token is not None
    slack_adapter = slack.build(runtime, socket_mode=socket_mode, **(slack_options or {}))
    teams_adapter = teams.build(runtime, **(teams_options or {}))
    scheduler = build_scheduler(runtime, slack_adapter=slack_adapter, teams_adapter=teams_adapter)
    return Platforms(slack_adapter, teams_adapter, scheduler)


def build_web_app(
    runtime: Runtime,
    *,
    run_scheduler: bool = False,
    worker: WorkerArguments | None = None,
    teams_options: dict | None = None,
    **slack_options,
) -> web.Application:
    """Build the one aiohttp application that serves every route (and ticks, if asked).

    The scheduler runs in a thread, or, given `worker`, in a process (`tick_apart`).
    """
    platforms = build_platforms(
        runtime, socket_mode=False, slack_options=slack_options, teams_options=teams_options
    )
    app = web.Application()
    app[http.RUNTIME] = runtime
    http.register(app)
    slack.register(app, platforms.slack)
    teams.register(app, platforms.teams)
    if run_scheduler:

        async def ticking(app: web.Application):
            ticker = await tick_apart(runtime, worker)
            yield
            await ticker.stop()

        app.cleanup_ctx.append(ticking)
    return app


async def run_socket_mode(
    runtime: Runtime,
    *,
    stop: asyncio.Event,
    run_scheduler: bool = False,
    worker: WorkerArguments | None = None,
    **slack_options,
) -> slack.SlackAdapter:
    """Serve Slack over Socket Mode until `stop` is set, running the scheduler if asked.

    The scheduler runs in a thread, or, given `worker`, in a process (`tick_apart`).
    """
    platforms = build_platforms(runtime, socket_mode=True, slack_options=slack_options)
    return await slack.run_socket_mode(
        platforms.slack,
        runtime.settings.slack_app_token.get_secret_value(),
        stop=stop,
        on_ready=(lambda: tick_apart(runtime, worker)) if run_scheduler else None,
    )


def settle_memory() -> None:
    """Keep what a server built to start out of the garbage collector's way, and collect less often.

    Called once a server has started (`mlplan serve`, `mlplan socket`): the modules, the flow and
    the apps then live as long as the process, and every collection of the older generations
    walked them all again. An answer cost some 8 % of its time in the collector before.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNGEST_COLLECTED_AFTER, *gc.get_threshold()[1:])


def connection_hint(settings: Settings) -> str:
    """Say which platforms are connected and how to connect the others, a line each."""
    if settings.slack_oauth:
        slack_line = "Slack: workspaces install mlplan at GET /slack/install; events arrive at POST /slack/events."
    elif settings.slack_enabled:
        slack_line = "Slack: connected over HTTP at POST /slack/events."
    else:
        slack_line = (
            "Slack is not connected: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see README,"
            " 'Connect Slack'); meanwhile try `mlplan chat`."
        )
    teams_line = {
        "verified": "Teams: Bot Framework activities arrive at POST /api/messages (tokens verified).",
        "anonymous": (
            "Teams: POST /api/messages runs in anonymous local mode (MLPLAN_TEAMS_ANONYMOUS=true:"
            " unauthenticated activities, for the Bot Framework Emulator); set MICROSOFT_APP_ID"
            " and MICROSOFT_APP_PASSWORD to connect Teams (see README, 'Connect Teams')."
        ),
        "closed": (
            "Teams is not connected: POST /api/messages refuses every request (401). Set"
            " MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (see README, 'Connect Teams'), or"
            " MLPLAN_TEAMS_ANONYMOUS=true to try it with the Bot Framework Emulator."
        ),
    }[settings.teams_mode]
    return f"{slack_line}\n{teams_line}"
