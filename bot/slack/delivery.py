"""Queue Slack messages with the change that causes them, then send them in order, retrying."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.sender import OutboxSender, backoff
from storage import outbox, projects, workspaces
from storage.outbox import Message

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
METHODS = {"post": "chat.postMessage", "update": "chat.update", "ephemeral": "chat.postEphemeral"}


class NotInstalled(LookupError):
    """mlplan has no bot token for this workspace (never installed, or uninstalled)."""


class SlackDelivery(OutboxSender):
    """Send due outbox rows to the Slack Web API (the core queued them)."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        client_for: Callable[[str], Awaitable[AsyncWebClient]],
        clock: Callable[[], datetime],
    ):
        super().__init__(sessions=sessions, clock=clock)
        self.client_for = client_for

    async def _send(self, row: Message, now: datetime) -> bool:
        async with self.sessions() as session:
            workspace = await workspaces.get(session=session, workspace_id=row.workspace_id)
            team = workspace.external_id if workspace is not None else None
            project = (
                await projects.get_project(
                    session=session, workspace_id=row.workspace_id, project_id=row.project_id
                )
                if row.project_id
                else None
            )
        if project is not None and row.in_thread and project.thread_id is None:
            # The parent message is still to be sent (by this or another process): wait for it.
            await self._finish(row, now, error="waiting for the parent message", retry_at=now)
            return False
        arguments = dict(row.payload)
        if row.method == "update":
            arguments["ts"] = row.target_id or project.thread_id
            arguments["channel"] = project.channel_id if row.target_id is None else row.channel
        else:
            arguments["channel"] = row.channel or project.channel_id
            if row.in_thread:
                arguments["thread_ts"] = project.thread_id
            if row.method == "ephemeral":
                arguments["user"] = row.user_id
        try:
            client = await self.client_for(team)
            response = await client.api_call(METHODS[row.method], json=arguments)
        except SlackApiError as err:
            code = err.response.get("error", "unknown_error")
            status = err.response.status_code
            if status == 429 or status >= 500 or code not in PERMANENT:
                log.warning(
                    "Slack %s failed with %s (%s); will retry", METHODS[row.method], code, status
                )
                await self._finish(row, now, error=code, retry_at=now + backoff(row.attempts))
            else:
                log.warning("Slack %s failed for good with %s", METHODS[row.method], code)
                await self._finish(row, now, error=code, retry_at=None)
                if row.starts_thread and project is not None:
                    async with self.sessions() as session:
                        await outbox.fail_pending(
                            session=session,
                            project_id=project.id,
                            error=f"the parent message failed: {code}",
                        )
                        await session.commit()
                await self._tell(row, code)
            return False
        except NotInstalled:
            log.warning("no Slack installation for workspace %s; message marked failed", team)
            await self._finish(row, now, error="not_installed", retry_at=None)
            return False
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            log.warning(
                "Slack %s could not be reached (%s); will retry",
                METHODS[row.method],
                type(err).__name__,
            )
            await self._finish(
                row, now, error=type(err).__name__, retry_at=now + backoff(row.attempts)
            )
            return False
        ts = response.get("ts") or response.get("message_ts")
        async with self.sessions() as session:
            await outbox.finish(session=session, outgoing_id=row.id, now=now, sent_id=ts)
            if row.starts_thread and project is not None:
                await projects.set_thread(
                    session=session,
                    project_id=project.id,
                    channel_id=response.get("channel", arguments["channel"]),
                    thread_id=ts,
                )
            await session.commit()
        return True

    async def _tell(self, row: Message, code: str) -> None:
        """Tell the person who caused a message that it could not be posted, when Slack lets us."""
        if not row.response_url:
            return
        hint = (
            " Invite me to the channel with `/invite @mlplan` and try again."
            if code in ("not_in_channel", "channel_not_found")
            else ""
        )
        text = f"I could not post in this channel ({code}).{hint}"
        try:
            await AsyncWebhookClient(row.response_url).send(text=text, response_type="ephemeral")
        except (aiohttp.ClientError, TimeoutError, OSError):
            log.warning("could not report a failed Slack message through its response_url")
