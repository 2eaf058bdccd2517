"""Wire Slack into the web app: a Bolt AsyncApp at POST /slack/events (or Socket Mode) and the outbox sender."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.delivery import SlackDelivery
from bot.slack.handlers import register_listeners

log = logging.getLogger("mlplan.slack")
# How often pending messages (a failed send, a Slack outage) are tried again.
FLUSH_EVERY = 15.0


@dataclass
class SlackAdapter:
    """Slack's part of the running app."""

    bolt: AsyncApp
    client: AsyncWebClient
    delivery: SlackDelivery
    flush_every: float


SLACK = web.AppKey("slack", SlackAdapter)


def web_client(token: str, base_url: str, *, retry_backoff: float) -> AsyncWebClient:
    """Make the Web API client: waits out 429s, retries 5xx and connection errors with backoff."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=retry_backoff)
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        ],
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
    if settings.slack_bot_token is None or not (socket_mode or settings.slack_enabled):
        return None
    token = settings.slack_bot_token.get_secret_value()
    client = web_client(token, settings.slack_api_url, retry_backoff=retry_backoff)
    bolt = AsyncApp(
        client=client,
        signing_secret=None if socket_mode else settings.slack_signing_secret.get_secret_value(),
        request_verification_enabled=not socket_mode,
        # Listeners store what they were given before Slack gets its 200; sending comes after.
        process_before_response=True,
        logger=log,
    )

    async def client_for(team_id: str) -> AsyncWebClient:
        return client

    delivery = SlackDelivery(sessions=runtime.sessions, client_for=client_for, clock=runtime.clock)
    register_listeners(
        bolt,
        conversations=runtime.conversations,
        delivery=delivery,
        flow=runtime.flow,
        command=settings.mlplan_slash_command,
        clock=runtime.clock,
    )
    return SlackAdapter(bolt=bolt, client=client, delivery=delivery, flush_every=flush_every)


async def events(request: web.Request) -> web.Response:
    """Hand an HTTP request from Slack to Bolt: it checks the signature, then runs a listener."""
    adapter = request.app[SLACK]
    response = await adapter.bolt.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(response)


async def flush_forever(adapter: SlackAdapter) -> None:
    """Send pending messages every few seconds: the later tries of anything Slack did not take."""
    while True:
        await asyncio.sleep(adapter.flush_every)
        try:
            await adapter.delivery.deliver()
        except Exception:  # the next round tries again; one bad round must not stop the loop
            log.exception("sending pending Slack messages failed")


@contextlib.asynccontextmanager
async def flushing(adapter: SlackAdapter):
    """Run the pending-message loop while the block runs; finish in-flight sends at the end."""
    task = asyncio.create_task(flush_forever(adapter)) if adapter.flush_every > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await adapter.delivery.drain()


async def _flush_pending(app: web.Application):
    async with flushing(app[SLACK]):
        yield


def register(app: web.Application, runtime, **options) -> None:
    """Mount Slack at POST /slack/events when it is configured."""
    adapter = build(runtime, **options)
    if adapter is None:
        return
    app[SLACK] = adapter
    app.router.add_post("/slack/events", events)
    app.cleanup_ctx.append(_flush_pending)


async def run_socket_mode(runtime, *, stop: asyncio.Event, **options) -> SlackAdapter:
    """Serve Slack over Socket Mode until `stop` is set (`mlplan socket`)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    adapter = build(runtime, socket_mode=True, **options)
    app_token = runtime.settings.slack_app_token.get_secret_value()
    handler = AsyncSocketModeHandler(adapter.bolt, app_token)
    await handler.connect_async()
    try:
        async with flushing(adapter):
            await stop.wait()
    finally:
        await handler.close_async()
    return adapter
