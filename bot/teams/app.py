"""Mount Microsoft Teams at POST /api/messages: botbuilder's CloudAdapter, in mlplan's aiohttp app.

With an app id, every request must carry a Bot Framework token that verifies, or it is refused
with 401 before anything is read. With no MICROSOFT_APP_ID, requests are refused with 401 unless
MLPLAN_TEAMS_ANONYMOUS=true asks for anonymous local mode (the Bot Framework Emulator): requests
carry no token and replies are sent without one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.sender import OutboxSender, flushing
from bot.teams.delivery import Connector, TeamsTransport
from bot.teams.handlers import TeamsHandlers
from bot.teams.placement import TeamsDirections

log = logging.getLogger("mlplan.teams")
FLUSH_EVERY = 15.0


class Cloud:
    """botbuilder's CloudAdapter, built when first asked for (`cloud()`).

    Importing botbuilder takes a quarter of a second, which a process with Teams unconnected (a
    Slack-only deployment, its ticks) need not spend at its start.
    """

    def __init__(self, settings, overrides: dict[str, Any]):
        self._config = _Config(settings, overrides)
        self._adapter = None

    def __call__(self):
        if self._adapter is None:
            from botbuilder.integration.aiohttp import (
                CloudAdapter,
                ConfigurationBotFrameworkAuthentication,
            )

            self._adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(self._config))
        return self._adapter


@dataclass
class TeamsAdapter:
    """Teams' pieces: botbuilder's adapter, mlplan's handlers, and the sending side."""

    cloud: Cloud  # botbuilder's CloudAdapter, `cloud()`
    handlers: TeamsHandlers
    delivery: OutboxSender
    mode: str  # Settings.teams_mode: "verified", "anonymous" or "closed"
    flush_every: float


TEAMS = web.AppKey("teams", TeamsAdapter)


class _Config:
    """The configuration object botbuilder reads its credentials (and, in tests, its URLs) from."""

    def __init__(self, settings, overrides: dict[str, Any]):
        self.APP_ID = settings.microsoft_app_id
        self.APP_PASSWORD = settings.microsoft_app_password.get_secret_value()
        self.APP_TYPE = settings.microsoft_app_type or "MultiTenant"
        self.APP_TENANTID = settings.microsoft_app_tenant_id
        for name, value in overrides.items():
            setattr(self, name, value)


def build(
    runtime, *, flush_every: float = FLUSH_EVERY, auth: dict[str, Any] | None = None
) -> TeamsAdapter:
    """Build the Teams adapter; `auth` overrides botbuilder's token URLs (tests' fake connector)."""
    settings = runtime.settings
    cloud = Cloud(settings, auth or {})
    if settings.teams_mode != "closed":
        cloud()  # now, not on the loop while the first activity waits
    connector = Connector(cloud, settings.microsoft_app_id)
    delivery = OutboxSender(
        sessions=runtime.sessions,
        clock=runtime.clock,
        transport=TeamsTransport(connector),
        directions=TeamsDirections(),
    )
    handlers = TeamsHandlers(core=runtime.core, delivery=delivery, connector=connector)
    return TeamsAdapter(cloud, handlers, delivery, settings.teams_mode, flush_every)


# The shape of an activity as the Bot Framework sends it, for the fields mlplan reads: what the
# connector would never send is refused before anything reads it.
OBJECTS = ("from", "conversation", "recipient", "channelData")
LISTS = ("entities", "membersAdded", "membersRemoved", "attachments")
STRINGS = ("id", "text", "replyToId", "serviceUrl", "channelId", "localTimezone", "name")


def malformed(body: dict[str, Any]) -> str | None:
    """Say what is wrong with an activity's shape, or None when mlplan can read it."""
    for name in OBJECTS:
        if body.get(name) is not None and not isinstance(body[name], dict):
            return f"{name!r} is not an object"
    for name in LISTS:
        value = body.get(name)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, dict) for v in value)
        ):
            return f"{name!r} is not a list of objects"
    for name in STRINGS:
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"{name!r} is not a string"
    for name in ("from", "conversation", "recipient"):
        if not isinstance((body.get(name) or {}).get("id", ""), str):
            return f"{name!r} has an id that is not a string"
    return None


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def messages(request: web.Request) -> web.Response:
    """Take one Bot Framework activity: check it and its token, handle it, answer at once."""
    from botbuilder.schema import Activity

    adapter = request.app[TEAMS]
    if adapter.mode == "closed":
        return _refuse(
            401,
            "Teams is not connected: set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD, or"
            " MLPLAN_TEAMS_ANONYMOUS=true for unauthenticated local activities",
        )
    if request.content_type != "application/json":
        return _refuse(415, "activities are JSON: send Content-Type: application/json")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _refuse(400, "the body is not valid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return _refuse(400, "the body is not a Bot Framework activity (it has no type)")
    problem = malformed(body)
    if problem is not None:
        log.warning("refused a malformed Teams activity: %s", problem)
        return _refuse(400, f"the body is not a Bot Framework activity: {problem}")
    header = request.headers.get("Authorization", "")
    if adapter.mode == "verified" and not header:
        return _refuse(401, "a Bot Framework token is required")
    try:
        activity = Activity().deserialize(body)
    except Exception as error:  # msrest raises its own and azure-core's errors alike
        log.warning("refused a malformed Teams activity (%s)", type(error).__name__)
        return _refuse(400, "the body is not a Bot Framework activity")
    authenticate = adapter.cloud().bot_framework_authentication.authenticate_request
    try:
        # botbuilder fetches token keys with blocking `requests`: keep that off the event loop.
        result = await asyncio.to_thread(asyncio.run, authenticate(activity, header))
    except Exception as error:  # a bad token raises jwt, permission and attribute errors alike
        log.warning("refused a Teams request whose token did not verify (%s)", type(error).__name__)
        return _refuse(401, "the Bot Framework token did not verify")

    async def logic(turn_context) -> None:
        await adapter.handlers.on_activity(body)

    try:
        await adapter.cloud().process_activity(result, activity, logic)
    except (SQLAlchemyError, OSError):
        log.exception("database error while handling a Teams activity")
        return _refuse(503, "mlplan cannot reach its database; nothing was changed")
    return web.Response(status=200)


async def _flush_pending(app: web.Application):
    adapter = app[TEAMS]
    async with flushing(adapter.delivery, every=adapter.flush_every):
        yield


def register(app: web.Application, adapter: TeamsAdapter) -> None:
    """Mount Teams at POST /api/messages (refusing every request when Teams is not connected)."""
    app[TEAMS] = adapter
    app.router.add_post("/api/messages", messages)
    app.cleanup_ctx.append(_flush_pending)
