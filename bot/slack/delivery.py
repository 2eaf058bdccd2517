"""Send one queued Slack message through the Web API and say what became of it.

The core's sender (`bot.sender`) claims rows, keeps each conversation in order, records the
outcome and retries; this transport only calls Slack. Its client never sleeps on a claimed row:
a 429 comes back as a retry after Slack's Retry-After.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sender import Failed, Message, Outcome, Retry, Sent, Where

log = logging.getLogger("mlplan.slack")
PLATFORM = "slack"
# Errors that another try cannot fix: the message is marked failed and the person told.
PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "no_text",
    "invalid_blocks",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "restricted_action",
    "user_not_in_channel",
    "message_not_found",
    "cant_update_message",
    "edit_window_closed",
}
# Errors that say mlplan can no longer write in the channel at all: its other messages fail too.
GONE = {"channel_not_found", "not_in_channel", "is_archived", "user_not_in_channel"}
METHODS = {"post": "chat.postMessage", "update": "chat.update", "ephemeral": "chat.postEphemeral"}


class NotInstalled(LookupError):
    """mlplan has no bot token for this workspace (never installed, or uninstalled)."""


class SlackTransport:
    """Send outbox rows to the Slack Web API (the core queued them and orders them)."""

    platform = PLATFORM
    uses_references = False

    def __init__(
        self,
        client_for: Callable[[str], Awaitable[AsyncWebClient]],
        *,
        session: aiohttp.ClientSession | None = None,
    ):
        self.client_for = client_for
        self.session = session  # the kept HTTP session, for response URLs too

    async def send(self, message: Message, where: Where) -> Outcome:
        arguments = dict(message.payload)
        if message.method == "update":
            arguments["ts"] = message.target_id or where.parent
            arguments["channel"] = where.channel if message.target_id is None else message.channel
        else:
            arguments["channel"] = message.channel or where.channel
            if message.in_thread:
                arguments["thread_ts"] = where.parent
            if message.method == "ephemeral":
                arguments["user"] = message.user_id
        method = METHODS[message.method]
        try:
            client = await self.client_for(where.workspace)
            response = await client.api_call(method, json=arguments)
        except SlackApiError as err:
            return await self._refused(message, method, err)
        except NotInstalled:
            log.warning("no Slack installation for a workspace; message marked failed")
            return Failed("not_installed")
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            log.warning("Slack %s could not be reached (%s)", method, type(err).__name__)
            return Retry(type(err).__name__)
        ts = response.get("ts") or response.get("message_ts")
        thread = (
            (response.get("channel", arguments["channel"]), ts) if message.starts_thread else None
        )
        return Sent(ts, thread=thread)

    async def _refused(self, message: Message, method: str, err: SlackApiError) -> Outcome:
        code = err.response.get("error", "unknown_error")
        status = err.response.status_code
        if status == 429:
            wait = _retry_after(err.response.headers)
            log.warning("Slack %s rate limited; next try in %s s", method, wait.total_seconds())
            return Retry("ratelimited", wait)
        if status >= 500 or code not in PERMANENT:
            log.warning("Slack %s failed with %s (%s)", method, code, status)
            return Retry(code)
        log.warning("Slack %s failed for good with %s", method, code)
        explain = _explain(code) if code in GONE else None
        told = explain is not None and await self.tell(message, explain)
        return Failed(code, gone=code in GONE, told=told, explain=explain)

    async def tell(self, message: Message, text: str) -> bool:
        """Tell the person who caused a message, through its response_url, if it has one."""
        if not message.response_url:
            return False
        try:
            await AsyncWebhookClient(message.response_url, session=self.session).send(
                text=text, response_type="ephemeral"
            )
        except (aiohttp.ClientError, TimeoutError, OSError):
            log.warning("could not report a failed Slack message through its response_url")
            return False
        return True


def _explain(code: str) -> str:
    hint = (
        " Invite me to the channel with `/invite @mlplan` and try again."
        if code in ("not_in_channel", "channel_not_found")
        else ""
    )
    return f"I could not post in this channel ({code}).{hint}"


def _retry_after(headers) -> timedelta:
    """Read Slack's Retry-After (seconds); wait a second when it is missing or malformed."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), "1")
    value = value[0] if isinstance(value, list) else value
    try:
        return timedelta(seconds=max(0, int(value)))
    except ValueError:
        return timedelta(seconds=1)
