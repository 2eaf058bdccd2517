"""Build mlplan in one place: settings, database, flow, conversation service and web app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot import http
from bot.conversation import Conversations
from bot.core import Core
from bot.digests import Digests
from bot.notify import Notifier
from bot.scheduler import Scheduler, start_ticking
from bot.settings import Settings
from bot.slack import app as slack
from bot.slack.placement import SlackDirections
from bot.teams import app as teams
from bot.teams.placement import TeamsDirections
from bot.tracking import Tracking
from flows.model import Flow, default_flow
from storage import db

log = logging.getLogger("mlplan")


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
        """Release the database connections."""
        await self.engine.dispose()


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
        notifiers["slack"] = Notifier(
            SlackDirections(runtime.settings.mlplan_slash_command), slack_adapter.delivery
        )
    if teams_adapter is not None:
        notifiers["msteams"] = Notifier(TeamsDirections(), teams_adapter.delivery)
    return Scheduler(
        sessions=runtime.sessions,
        default_timezone=runtime.settings.timezone,
        notifiers=notifiers,
        digests=runtime.digests,
        digest_cron=runtime.settings.mlplan_digest_cron,
    )


def build_web_app(
    runtime: Runtime,
    *,
    run_scheduler: bool = False,
    teams_options: dict | None = None,
    **slack_options,
) -> web.Application:
    """Build the one aiohttp application that serves every route (and ticks, if asked)."""
    app = web.Application()
    app[http.RUNTIME] = runtime
    http.register(app)
    slack.register(app, runtime, **slack_options)
    teams.register(app, runtime, **(teams_options or {}))
    if run_scheduler:
        app.cleanup_ctx.append(_ticking)
    return app


async def _ticking(app: web.Application):
    runtime = app[http.RUNTIME]
    scheduler = build_scheduler(
        runtime, slack_adapter=app.get(slack.SLACK), teams_adapter=app.get(teams.TEAMS)
    )
    ticker = start_ticking(scheduler, clock=runtime.clock)
    yield
    await ticker.stop()


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
    if settings.microsoft_app_id:
        teams_line = (
            "Teams: Bot Framework activities arrive at POST /api/messages (tokens verified)."
        )
    else:
        teams_line = (
            "Teams: POST /api/messages runs in anonymous local mode (Bot Framework Emulator);"
            " set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to connect Teams (see README,"
            " 'Connect Teams')."
        )
    return f"{slack_line}\n{teams_line}"
