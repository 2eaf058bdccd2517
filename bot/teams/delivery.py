"""Send one queued Teams activity through the Bot Framework and say what became of it.

Every message, a reply as much as a reminder, is an outbox row whose channel names where it
goes (a key of `storage.references`) and whose payload holds the activity. Rows are sent
proactively through the stored conversation reference (`CloudAdapter.continue_conversation`),
so a reply that fails is retried later like any other message, and nothing is lost when a
process dies between storing an answer and sending the next question. The core's sender
(`bot.sender`) looks the reference up, orders, records and retries; this module only talks to
the connector.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.sender import Failed, Message, Outcome, Retry, Sent, Where

log = logging.getLogger("mlplan.teams")
PLATFORM = "msteams"
# What the connector answers when the bot can no longer write there (removed, chat deleted).
GONE = {403, 404}
# Statuses another try can fix: throttling, the service's own failures; other statuses refuse it.
PASSING = {408, 429, 500, 502, 503, 504}
# Errors without a status that no later try fixes: the activity itself is malformed.
MISTAKES = (TypeError, ValueError, KeyError, AttributeError)


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


class Connector:
    """Send and update activities through botbuilder's CloudAdapter (every botbuilder call is here)."""

    def __init__(self, cloud, app_id: str):
        self.cloud = cloud  # `cloud()` is the CloudAdapter (built on first use)
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

        await self.cloud().continue_conversation(
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

        await self.cloud().continue_conversation(
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

        await self.cloud().create_conversation(
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


class TeamsTransport:
    """Send outbox rows through the Bot Framework connector (the core queued and orders them)."""

    platform = PLATFORM
    uses_references = True

    def __init__(self, connector: Connector):
        self.connector = connector

    async def send(self, message: Message, where: Where) -> Outcome:
        to = message.channel or message.payload.get("to", "")
        activity = message.payload["activity"]
        reference, remember = where.reference, {}
        try:
            if reference is None:
                if not to.startswith("person:") or where.seed is None:
                    log.warning("no Teams conversation for %s; message marked failed", _kind(to))
                    return Failed("no_conversation")
                reference = await self._open(where.seed, to)
                if isinstance(reference, Failed):
                    return reference
                remember = {to: reference}
            if message.method == "update":
                target = message.target_id or where.parent
                if target is None:
                    return Retry("waiting for the parent message", timedelta(seconds=5))
                await self.connector.update(dict(reference), target, activity)
                sent_id = target
            else:
                sent_id = await self.connector.post(dict(reference), activity)
        except Exception as error:  # msrest, aiohttp and botbuilder raise many kinds
            return _failed(to, error)
        return Sent(sent_id, remember=remember)

    async def _open(self, seed, to: str) -> dict[str, Any] | Failed:
        try:
            return await self.connector.open_personal(dict(seed), to.removeprefix("person:"))
        except Exception as error:
            status = _status(error)
            if status in GONE:  # not a member of the tenant, or the app is not installed
                reason = f"could not open a chat: {status}"
                return Failed(f"conversation_gone: {reason}", gone=True, broken=to)
            raise

    async def tell(self, message: Message, text: str) -> bool:
        """Teams has no private answer to a request after the fact: the core tells elsewhere."""
        return False


def _kind(to: str) -> str:
    return to.split(":")[0]


def _failed(to: str, error: Exception) -> Outcome:
    """Read a connector error: gone for good, refused for good, or worth another try."""
    status = _status(error)
    name = type(error).__name__
    if status in GONE:
        log.warning("Teams refused %s for good (%s); marking it broken", _kind(to), status)
        return Failed(f"conversation_gone: {status}", gone=True, broken=to)
    if status in PASSING or (status is None and not isinstance(error, MISTAKES)):
        log.warning("Teams send failed (%s %s); will retry", status or "no status", name)
        after = _retry_after(error) if status == 429 else None
        return Retry(f"{name}: {status}", after)
    log.warning("Teams refused a message (%s %s); marked failed", status or "no status", name)
    return Failed(f"refused: {status or name}")


def _retry_after(error: Exception) -> timedelta | None:
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    try:
        return timedelta(seconds=int(headers.get("Retry-After")))
    except (TypeError, ValueError):
        return None
