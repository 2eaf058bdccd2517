"""Queue Teams messages with the change that causes them, then send them through the Bot Framework.

Every message, a reply as much as a reminder, is an outbox row whose payload names where it
goes (`to`: a key of `storage.references`) and the activity to send. Rows are sent proactively
through the stored conversation reference (`CloudAdapter.continue_conversation`), so a reply
that fails is retried later like any other message, and nothing is lost when a process dies
between storing an answer and sending the next question.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import OutboxSender, backoff
from bot.teams import render
from storage import outbox, people, references
from storage.outbox import Message

log = logging.getLogger("mlplan.teams")
PLATFORM = "msteams"
# What the connector answers when the bot can no longer write there (removed, chat deleted).
GONE = {403, 404}
# Errors another try cannot fix: the activity itself was refused.
REFUSED = {400, 413}


def person_key(person_id: str) -> str:
    """Key of a person's personal chat with the bot."""
    return f"person:{person_id}"


def conversation_key(conversation_id: str) -> str:
    """Key of a chat, a channel, or one reply chain of a channel."""
    return f"conversation:{conversation_id}"


def project_key(project_id: int) -> str:
    """Key of the conversation where a project's intake lives."""
    return f"project:{project_id}"


def digest_key(target_id: str) -> str:
    """Key of a digest subscriber: a person (29:…) or a channel or chat (19:…, a:…)."""
    return (
        conversation_key(target_id)
        if target_id.startswith(("19:", "a:"))
        else person_key(target_id)
    )


class Gone(Exception):
    """The connector refused a conversation for good (403/404): the bot cannot write there."""


class Connector:
    """Send and update activities through botbuilder's CloudAdapter (every botbuilder call is here)."""

    def __init__(self, adapter, app_id: str):
        self.adapter = adapter
        self.app_id = app_id

    async def post(self, reference: dict[str, Any], activity: dict[str, Any]) -> str:
        """Send an activity into a referenced conversation; return its id."""
        from botbuilder.schema import Activity, ConversationReference

        sent: dict[str, str] = {}

        async def send(turn_context) -> None:
            # Reply to the referenced message (a channel's reply chain), or post anew (no id).
            turn_context.activity.id = reference.get("activityId")
            response = await turn_context.send_activity(Activity().deserialize(activity))
            sent["id"] = response.id if response is not None else ""

        await self.adapter.continue_conversation(
            ConversationReference().deserialize(reference), send, bot_app_id=self.app_id
        )
        return sent.get("id", "")

    async def update(self, reference: dict[str, Any], activity_id: str, activity: dict) -> None:
        """Replace an activity mlplan sent earlier."""
        from botbuilder.schema import Activity, ConversationReference

        async def change(turn_context) -> None:
            replacement = Activity().deserialize(activity)
            replacement.id = activity_id
            await turn_context.update_activity(replacement)

        await self.adapter.continue_conversation(
            ConversationReference().deserialize(reference), change, bot_app_id=self.app_id
        )

    async def open_personal(self, seed: dict[str, Any], person_id: str) -> dict[str, Any]:
        """Open (or find) the personal chat of a person; return its conversation reference.

        `seed` is any working reference of the same tenant: it names the service URL and the bot.
        """
        from botbuilder.core import TurnContext
        from botbuilder.schema import ChannelAccount, ConversationParameters

        tenant = seed.get("tenantId")
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(
                **{k: v for k, v in (seed.get("bot") or {}).items() if k in ("id", "name")}
            ),
            members=[ChannelAccount(id=person_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        opened: dict[str, Any] = {}

        async def keep(turn_context) -> None:
            opened.update(TurnContext.get_conversation_reference(turn_context.activity).serialize())

        await self.adapter.create_conversation(
            self.app_id,
            keep,
            parameters,
            channel_id=seed.get("channelId", PLATFORM),
            service_url=seed["serviceUrl"],
        )
        opened["tenantId"] = tenant
        opened["activityId"] = None  # a new message, not a reply to one
        return opened


def _status(error: Exception) -> int | None:
    """Read the HTTP status of a connector error (msrest's HttpOperationError), if it has one."""
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None) or getattr(response, "status", None)


class TeamsDelivery(OutboxSender):
    """Send due outbox rows through the Bot Framework connector (the core queued most of them)."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        connector: Connector,
        clock: Callable[[], datetime],
    ):
        super().__init__(sessions=sessions, clock=clock)
        self.connector = connector

    def enqueue_to(
        self,
        session: AsyncSession,
        *,
        workspace_id: int,
        to: str,
        activity: dict[str, Any],
        now: datetime,
        **options: Any,
    ) -> None:
        """Queue one activity for a conversation key in the current transaction.

        `options` are the outbox's: project_id, method ("update" with target_id), starts_thread.
        """
        outbox.enqueue(
            session=session,
            workspace_id=workspace_id,
            platform=PLATFORM,
            payload={"to": to, "activity": activity},
            now=now,
            **options,
        )

    # Sending.

    def conversation_of(self, row: Message) -> Hashable:
        if row.project_id is not None:
            return ("project", row.project_id)
        return ("to", row.payload.get("to"))

    async def _send(self, row: Message, now: datetime) -> bool | None:
        to = row.payload.get("to", "")
        try:
            reference = await self._reference(row.workspace_id, to, now)
            if reference is None:
                log.warning("no Teams conversation for %s; message marked failed", to.split(":")[0])
                await self._finish(row, now, error="no_conversation", retry_at=None)
                return None
            if row.method == "update":
                target = row.target_id or await self._parent_id(row)
                if target is None:
                    # The project's first message is still to be sent: wait for it.
                    await self._finish(
                        row, now, error="waiting for the parent message", retry_at=now
                    )
                    return False
                await self.connector.update(reference, target, row.payload["activity"])
                sent_id = target
            else:
                sent_id = await self.connector.post(reference, row.payload["activity"])
        except Gone as gone:
            await self._finish(row, now, error=f"conversation_gone: {gone}", retry_at=None)
            return None
        except Exception as error:  # msrest, requests and botbuilder raise many kinds
            return await self._failed(row, to, error, now)
        async with self.sessions() as session:
            await outbox.finish(session=session, outgoing_id=row.id, now=now, sent_id=sent_id)
            await session.commit()
        return True

    async def _failed(self, row: Message, to: str, error: Exception, now: datetime) -> bool | None:
        status = _status(error)
        name = type(error).__name__
        if status in GONE:
            log.warning(
                "Teams refused %s for good (%s); marking it broken", to.split(":")[0], status
            )
            await self._finish(row, now, error=f"conversation_gone: {status}", retry_at=None)
            await self._broken(row, to, f"the connector answered {status}", now)
            return None
        if status in REFUSED:
            log.warning("Teams refused a message (%s %s); marked failed", status, name)
            await self._finish(row, now, error=f"refused: {status}", retry_at=None)
            return None
        log.warning("Teams send failed (%s %s); will retry", status or "no status", name)
        await self._finish(
            row, now, error=f"{name}: {status}", retry_at=now + backoff(row.attempts)
        )
        return False

    async def _reference(self, workspace_id: int, to: str, now: datetime) -> dict | None:
        """Find the reference for a key; open a person's personal chat when there is none yet."""
        async with self.sessions() as session:
            found = await references.find(session=session, workspace_id=workspace_id, key=to)
            if found is not None and found.broken_at is not None:
                raise Gone(found.broken_reason or "broken")
            if found is not None:
                return found.reference
            if not to.startswith("person:"):
                return None
            seed = await references.any_working(session=session, workspace_id=workspace_id)
        if seed is None:
            return None
        try:
            opened = await self.connector.open_personal(seed.reference, to.removeprefix("person:"))
        except Exception as error:
            if _status(error) in GONE:  # not a member of the tenant, or the app is not installed
                async with self.sessions() as session:
                    await references.remember(
                        session=session, workspace_id=workspace_id, key=to, reference={}, now=now
                    )
                    await references.mark_broken(
                        session=session,
                        workspace_id=workspace_id,
                        key=to,
                        reason=f"could not open a chat: {_status(error)}",
                        now=now,
                    )
                    await session.commit()
                raise Gone(f"could not open a chat: {_status(error)}") from error
            raise
        async with self.sessions() as session:
            await references.remember(
                session=session, workspace_id=workspace_id, key=to, reference=opened, now=now
            )
            await session.commit()
        return opened

    async def _parent_id(self, row: Message) -> str | None:
        async with self.sessions() as session:
            return await outbox.parent_id(session=session, project_id=row.project_id)

    async def _broken(self, row: Message, to: str, reason: str, now: datetime) -> None:
        """Mark a reference broken, once; tell the project's conversation about a person's."""
        async with self.sessions() as session:
            newly = await references.mark_broken(
                session=session, workspace_id=row.workspace_id, key=to, reason=reason, now=now
            )
            if newly and to.startswith("person:") and row.project_id is not None:
                person = await people.find(
                    session=session,
                    workspace_id=row.workspace_id,
                    person_id=to.removeprefix("person:"),
                )
                name = person.name if person is not None and person.name else "someone"
                text = (
                    f"I could not reach {name} in Teams (the app was removed from their chat,"
                    " or the chat is gone), so their reminders are paused until they message me."
                )
                self.enqueue_to(
                    session,
                    workspace_id=row.workspace_id,
                    to=project_key(row.project_id),
                    activity=render.text_only(text),
                    now=now,
                    project_id=row.project_id,
                )
            await session.commit()
        if newly:
            log.warning("Teams conversation %s marked broken: %s", to.split(":")[0], reason)
