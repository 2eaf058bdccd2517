"""Wire Slack into the web app: a Bolt AsyncApp at POST /slack/events (or Socket Mode) and the outbox sender."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.sender import OutboxSender, flushing
from bot.slack.delivery import NotInstalled, SlackTransport
from bot.slack.handlers import SlackListeners
from bot.slack.placement import SlackDirections

log = logging.getLogger("mlplan.slack")
# The bot scopes an OAuth install asks for; manifest.template.yml declares the same (a test checks).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:history",
    "groups:history",
    "im:history",
    "im:write",
    "users:read",
    "users:read.email",
)
# How often pending messages (a failed send, a Slack outage) are tried again.
FLUSH_EVERY = 15.0


@dataclass
class SlackAdapter:
    """Slack's part of the running app."""

    bolt: AsyncApp
    client: AsyncWebClient
    delivery: OutboxSender
    flush_every: float
    verifier: SignatureVerifier | None = None  # None over Socket Mode: Slack vouches for it


SLACK = web.AppKey("slack", SlackAdapter)


def web_client(
    token: str | None,
    base_url: str,
    *,
    retry_backoff: float,
    session: aiohttp.ClientSession | None = None,
    waits: bool = True,
) -> AsyncWebClient:
    """Make the Web API client: retries 5xx and connection errors with a short backoff.

    `session`: the process's kept HTTP session (without one, every call opens its own).
    `waits`: also wait out 429s (for Bolt's own calls). The outbox sender's client does not
    (`waits=False`): it must never sleep on a claimed row, so a 429 comes back to it as an error
    whose Retry-After becomes the row's next attempt time.
    """
    backoff = BackoffRetryIntervalCalculator(backoff_factor=retry_backoff)
    handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        AsyncServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
    ]
    if waits:
        handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    return AsyncWebClient(
        token=token, base_url=base_url, timeout=10, retry_handlers=handlers, session=session
    )


def build(
    runtime,
    *,
    retry_backoff: float = 0.5,
    flush_every: float = FLUSH_EVERY,
    socket_mode: bool = False,
) -> SlackAdapter | None:
    """Build the Slack adapter from the settings, or None when Slack is not configured.

    Over HTTP every request is verified with the signing secret; over Socket Mode Slack itself
    authenticates the connection with the app token, so there is no request to verify.
    """
    settings = runtime.settings
    if socket_mode and settings.slack_bot_token is None:
        return None
    if not (socket_mode or settings.slack_enabled):
        return None
    session = runtime.outgoing.get()  # Bolt's per-request clients copy it from `client`
    if settings.slack_oauth and not socket_mode:
        bolt, client_for = _many_workspaces(runtime, retry_backoff, session)
        client = bolt.client
    else:
        token = settings.slack_bot_token.get_secret_value()
        client = web_client(
            token, settings.slack_api_url, retry_backoff=retry_backoff, session=session
        )
        log.addFilter(_same_token)
        bolt = AsyncApp(
            client=client,
            signing_secret=None
            if socket_mode
            else settings.slack_signing_secret.get_secret_value(),
            request_verification_enabled=not socket_mode,
            # Listeners store what they were given before Slack gets its 200; sending comes after.
            process_before_response=True,
            logger=log,
        )
        log.removeFilter(_same_token)

        sending = web_client(
            token,
            settings.slack_api_url,
            retry_backoff=retry_backoff,
            session=session,
            waits=False,
        )

        async def client_for(team_id: str, *, waits: bool = True) -> AsyncWebClient:
            return client if waits else sending

    transport = SlackTransport(lambda team_id: client_for(team_id, waits=False), session=session)
    delivery = OutboxSender(
        sessions=runtime.sessions,
        clock=runtime.clock,
        transport=transport,
        directions=SlackDirections(settings.mlplan_slash_command, client_for=client_for),
    )
    SlackListeners(
        core=runtime.core,
        delivery=delivery,
        client_for=client_for,
        command=settings.mlplan_slash_command,
        clock=runtime.clock,
        session=session,
    ).register(bolt)
    secret = None if socket_mode else settings.slack_signing_secret.get_secret_value()
    return SlackAdapter(
        bolt=bolt,
        client=client,
        delivery=delivery,
        flush_every=flush_every,
        verifier=SignatureVerifier(secret) if secret else None,
    )


def _same_token(record: logging.LogRecord) -> bool:
    """Drop Bolt's warning that it skips SLACK_BOT_TOKEN for the client: the client holds it."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _many_workspaces(runtime, retry_backoff: float, session: aiohttp.ClientSession):
    """Build Bolt for OAuth installs, with installations and states in mlplan's database."""
    settings = runtime.settings
    client_id = settings.slack_client_id
    installations = AsyncSQLAlchemyInstallationStore(
        client_id=client_id, engine=runtime.engine, logger=log
    )
    oauth = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        installation_store=installations,
        state_store=AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=600, engine=runtime.engine, logger=log
        ),
    )
    # No token here: Bolt gives each request a copy of this client with the team's bot token.
    client = web_client(None, settings.slack_api_url, retry_backoff=retry_backoff, session=session)
    bolt = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        oauth_settings=oauth,
        process_before_response=True,
        logger=log,
    )
    clients: dict[tuple[str, bool], AsyncWebClient] = {}

    async def client_for(team_id: str, *, waits: bool = True) -> AsyncWebClient:
        bot = await installations.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None:
            raise NotInstalled(team_id)
        if (bot.bot_token, waits) not in clients:
            clients[bot.bot_token, waits] = web_client(
                bot.bot_token,
                settings.slack_api_url,
                retry_backoff=retry_backoff,
                session=session,
                waits=waits,
            )
        return clients[bot.bot_token, waits]

    return bolt, client_for


async def oauth_route(request: web.Request) -> web.Response:
    """Run Slack's install flow: the install page, then the redirect back with a code."""
    flow = request.app[SLACK].bolt.oauth_flow
    bolt_request = await to_bolt_request(request)
    if request.path == flow.install_path:
        return await to_aiohttp_response(await flow.handle_installation(bolt_request))
    return await to_aiohttp_response(await flow.handle_callback(bolt_request))


# Fields of Slack's envelopes that Bolt reads as objects (or lists of objects) before any listener
# runs: a body where they are something else crashes its middleware, so it is refused first.
OBJECTS = ("event", "team", "user", "channel", "container", "message", "view")
LISTS = ("actions", "authorizations")
# Who and where, as Bolt reads them at every level: a string or an object, never a number or list.
IDS = ("user", "channel", "team")
NESTED = ("event", "message", "previous_message", "item", "assistant_thread")


def malformed(body: str, content_type: str) -> str | None:
    """Say what is wrong with a request body Slack would never send, or None when it is well formed.

    Events come as a JSON object; slash commands as a form; interactions as a form whose
    `payload` is a JSON object. Anything else would crash Bolt's parsing.
    """
    if content_type == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            return "the body is not valid JSON"
        return _odd_envelope(parsed, "the body")
    form = parse_qs(body, keep_blank_values=True)
    if "payload" not in form:
        return None
    try:
        payload = json.loads(form["payload"][0])
    except ValueError:
        return "the payload is not valid JSON"
    return _odd_envelope(payload, "the payload")


def _odd_envelope(parsed, what: str) -> str | None:
    if not isinstance(parsed, dict):
        return f"{what} is not a JSON object"
    if parsed.get("enterprise") is not None and not isinstance(parsed["enterprise"], dict):
        return f"{what}'s 'enterprise' is not an object"
    for name in OBJECTS:
        if name in parsed and not isinstance(parsed[name], dict):
            return f"{what}'s {name!r} is not an object"
    for name in LISTS:
        value = parsed.get(name, [])
        if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return f"{what}'s {name!r} is not a list of objects"
    return None


def odd_ids(body: str, content_type: str) -> str | None:
    """Say which id of a well-formed body is neither a string nor an object (Bolt reads them all).

    Slack never sends such an event; a signed one is ignored with a 200, so that Slack does not
    retry it, and a log line.
    """
    if content_type == "application/json":
        return _odd_ids(json.loads(body), "the body")
    form = parse_qs(body, keep_blank_values=True)
    return _odd_ids(json.loads(form["payload"][0]), "the payload") if "payload" in form else None


def _odd_ids(parsed: dict, what: str) -> str | None:
    for name in IDS:
        value = parsed.get(name)
        if value is not None and not isinstance(value, str | dict):
            return f"{what}'s {name!r} is neither an id nor an object"
    for name in NESTED:
        if isinstance(parsed.get(name), dict):
            problem = _odd_ids(parsed[name], f"{what}'s {name!r}")
            if problem is not None:
                return problem
    return None


async def events(request: web.Request) -> web.Response:
    """Hand an HTTP request from Slack to Bolt once its signature and its shape are checked."""
    adapter = request.app[SLACK]
    body = await request.text()
    if adapter.verifier is not None and not adapter.verifier.is_valid_request(
        body, dict(request.headers)
    ):
        return web.json_response({"error": "invalid signature"}, status=401)
    problem = malformed(body, request.content_type)
    if problem is not None:
        log.warning("refused a signed Slack request: %s", problem)
        return web.json_response({"error": problem}, status=400)
    odd = odd_ids(body, request.content_type)
    if odd is not None:
        log.warning("ignored a signed Slack request: %s", odd)
        return web.Response(status=200)
    response = await adapter.bolt.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(response)


async def _flush_pending(app: web.Application):
    adapter = app[SLACK]
    async with flushing(adapter.delivery, every=adapter.flush_every):
        yield


def register(app: web.Application, adapter: SlackAdapter | None) -> None:
    """Mount Slack at POST /slack/events when it is configured (`adapter` is not None)."""
    if adapter is None:
        return
    app[SLACK] = adapter
    app.router.add_post("/slack/events", events)
    if adapter.bolt.oauth_flow is not None:
        app.router.add_get(adapter.bolt.oauth_flow.install_path, oauth_route)
        app.router.add_get(adapter.bolt.oauth_flow.redirect_uri_path, oauth_route)
    app.cleanup_ctx.append(_flush_pending)


async def run_socket_mode(
    adapter: SlackAdapter, app_token: str, *, stop: asyncio.Event, on_ready=None
) -> SlackAdapter:
    """Serve an adapter built for Socket Mode until `stop` is set (`mlplan socket`).

    `await on_ready()` may start the scheduler; what it returns is stopped at the end.
    """
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(adapter.bolt, app_token)
    await handler.connect_async()
    ticker = await on_ready() if on_ready else None
    try:
        async with flushing(adapter.delivery, every=adapter.flush_every):
            await stop.wait()
    finally:
        if ticker is not None:
            await ticker.stop()
        await handler.close_async()
    return adapter
