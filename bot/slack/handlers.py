"""Translate Slack payloads into inbound values for the core: the slash command, replies, edits, buttons, forms."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import inbound as said
from bot.conversation import Place, Speaker
from bot.core import Core, Handled
from bot.dispatch import posts_in_thread
from bot.slack import render
from bot.slack.delivery import SlackDelivery
from bot.slack.placement import PLATFORM, SlackPlacement
from flows.digest import Digest

log = logging.getLogger("mlplan.slack")
# Message subtypes that are a person writing in a thread; everything else (joins, bot posts,
# deletions, topic changes) is not an answer.
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}
REMINDER_ACTION = re.compile(r"^remind:(done|snooze1|snooze7|date):(milestone|doc):[0-9]+$")


class DatabaseDown(RuntimeError):
    """The database cannot be reached: Slack gets a 500 and delivers the event again."""


def _typed(text: str) -> str:
    """Undo Slack's escaping of what the person typed (&amp; &lt; &gt;); mentions stay as markup."""
    return html.unescape(text or "")


def _ephemeral(handled: Handled) -> dict[str, Any]:
    """Put the replies shown at once into one ephemeral response to the slash command."""
    outcome = handled.outcome
    project_id = outcome.project.id if outcome is not None and outcome.project else 0
    blocks, texts = [], []
    for reply in handled.at_once:
        if isinstance(reply, Digest):
            return _preview(reply)
        message = render.render(reply, project_id=project_id)
        blocks.extend(message.get("blocks", []))
        texts.append(message["text"])
    return {
        "text": "\n".join(texts)[: render.TEXT_LIMIT],
        "blocks": blocks[: render.MAX_BLOCKS],
        "response_type": "ephemeral",
    }


def _preview(digest: Digest) -> dict[str, Any]:
    """Show the digest the speaker would get now, privately: its first message."""
    messages = render.digest_messages(digest)
    first = messages[0]
    more = (
        f" This preview shows the first of {len(messages)} messages." if len(messages) > 1 else ""
    )
    return {"text": first["text"] + more, "blocks": first["blocks"], "response_type": "ephemeral"}


class SlackListeners:
    """What mlplan does with each Slack payload: translate it, hand it to the core, kick the sender."""

    def __init__(
        self,
        *,
        core: Core,
        delivery: SlackDelivery,
        command: str,
        clock: Callable[[], datetime],
    ):
        self.core = core
        self.delivery = delivery
        self.command = command
        self.clock = clock

    def register(self, bolt: AsyncApp) -> None:
        """Attach the listeners to a Bolt app."""
        bolt.command(self.command)(self.on_command)
        bolt.event("message")(self.on_message)
        bolt.action(re.compile(r"^(answer|skip|later):"))(self.on_button)
        bolt.action(REMINDER_ACTION)(self.on_reminder_button)
        bolt.view("mlplan_new_date")(self.on_new_date)

    def placement(self, channel: str, **options: Any) -> SlackPlacement:
        return SlackPlacement(channel=channel, prefix=self.command, **options)

    async def handle(
        self, event: said.Inbound, place: Place, speaker: Speaker, out: SlackPlacement
    ) -> Handled:
        handled = await self.core.handle(event, place=place, speaker=speaker, out=out)
        if handled.queued:
            self.delivery.kick()
        return handled

    async def on_command(self, ack, body: dict[str, Any]) -> None:
        """`/mlplan …`: answered privately in the ack, or in a project's thread."""
        place = Place(PLATFORM, body["team_id"], body["channel_id"])
        speaker = Speaker(id=body["user_id"], name=body.get("user_name"))
        out = self.placement(
            body["channel_id"], response_url=body.get("response_url"), answers_at_once=True
        )
        handled = await self.handle(said.Ran(body.get("text", "")), place, speaker, out)
        if handled.at_once:
            await ack(**_ephemeral(handled))
        else:
            await ack()
        parsed, outcome = handled.command, handled.outcome
        if parsed is not None and (
            parsed.name == "digest"
            or (posts_in_thread(parsed) and outcome is not None and not outcome.private)
        ):
            self.delivery.spawn(self.learn_person(place, speaker.id))

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A reply in a thread answers its project's open question; an edit revises an answer."""
        subtype = event.get("subtype")
        if subtype == "message_changed":
            await self.on_edit(body, event)
            return
        if subtype not in PERSON_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return
        thread = event.get("thread_ts")
        if not thread or thread == event.get("ts"):
            return  # a message in the channel itself, not a reply in a thread
        place = Place(PLATFORM, body["team_id"], event["channel"], thread)
        typed = said.Typed(
            _typed(event.get("text", "")), source_id=event["ts"], event_id=body.get("event_id")
        )
        handled = await self.handle(
            typed, place, Speaker(id=event["user"]), self.placement(event["channel"])
        )
        if handled.database_down:
            raise DatabaseDown("the database cannot be reached; Slack will deliver this again")
        if handled.outcome is not None and not handled.outcome.duplicate:
            self.delivery.spawn(self.learn_person(place, event["user"]))

    async def on_edit(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        message = event.get("message") or {}
        thread = message.get("thread_ts")
        if (
            message.get("bot_id")
            or not message.get("user")
            or not thread
            or thread == message.get("ts")
        ):
            return
        if (event.get("previous_message") or {}).get("text") == message.get("text"):
            return  # an unfurl or a reaction changed the message, not its words
        place = Place(PLATFORM, body["team_id"], event["channel"], thread)
        edited = said.Edited(
            message["ts"], _typed(message.get("text", "")), event_id=body.get("event_id")
        )
        handled = await self.handle(
            edited, place, Speaker(id=message["user"]), self.placement(event["channel"])
        )
        if handled.database_down:
            raise DatabaseDown("the database cannot be reached; Slack will deliver this again")

    async def on_button(self, ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A question's choice, Skip or Answer later."""
        await ack()
        kind, question_id = action["action_id"].split(":")[:2]
        message = body.get("message") or {}
        channel = body["channel"]["id"]
        thread = message.get("thread_ts")
        if not thread:
            return
        pressed = said.Pressed(
            question_id, kind, value=action.get("value", ""), message_id=message["ts"]
        )
        handled = await self.handle(
            pressed,
            Place(PLATFORM, body["team"]["id"], channel, thread),
            Speaker(id=body["user"]["id"], name=body["user"].get("username")),
            self.placement(channel),
        )
        await self.at_once(handled, body.get("response_url"))

    async def on_reminder_button(
        self, ack, body: dict[str, Any], action: dict[str, Any], client
    ) -> None:
        """A reminder's Done, Snooze a day, Snooze a week; New date opens a form."""
        await ack()
        _, verb, kind, item_id = action["action_id"].split(":")
        message = body.get("message") or {}
        channel = body["channel"]["id"]
        if verb == "date":
            title = _reminder_title(message, f"{kind}:{item_id}")
            context = json.dumps(
                {"kind": kind, "id": int(item_id), "channel": channel, "ts": message.get("ts")}
            )
            modal = render.new_date_modal(
                ref=f"{kind}:{item_id}", title=title, due=None, context=context
            )
            await client.views_open(trigger_id=body["trigger_id"], view=modal)
            return
        acted = said.ActedOnItem(
            kind,
            int(item_id),
            verb,
            message_id=message.get("ts"),
            message=message.get("blocks", []),
        )
        handled = await self.handle(
            acted,
            Place(PLATFORM, body["team"]["id"]),
            Speaker(id=body["user"]["id"], name=body["user"].get("username")),
            self.placement(channel, response_url=body.get("response_url"), answers_at_once=True),
        )
        await self.at_once(handled, body.get("response_url"))

    async def on_new_date(self, ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The New date form: a refused date is shown beside its field."""
        context = json.loads(view.get("private_metadata") or "{}")
        chosen = view["state"]["values"]["due"]["date"].get("selected_date")
        acted = said.ActedOnItem(
            context["kind"],
            context["id"],
            "due",
            due=date.fromisoformat(chosen) if chosen else None,
            message_id=context.get("ts"),
        )
        handled = await self.handle(
            acted,
            Place(PLATFORM, body["team"]["id"]),
            Speaker(id=body["user"]["id"], name=body["user"].get("username")),
            self.placement(context["channel"], answers_at_once=True),
        )
        if handled.refusal is not None:
            await ack(response_action="errors", errors={"due": handled.refusal})
        else:
            await ack()

    async def at_once(self, handled: Handled, response_url: str | None) -> None:
        """Say privately, through the request's response_url, what the core did not queue."""
        if handled.at_once and response_url:
            text = "\n".join(getattr(reply, "text", "") for reply in handled.at_once)
            self.delivery.spawn(_say_privately(response_url, text))

    async def learn_person(self, place: Place, user_id: str) -> None:
        """Ask Slack once for a person's name, email and time zone (dates are read in it)."""
        conversations, now = self.core.conversations, self.clock()
        if await conversations.knows_timezone(place=place, person_id=user_id, now=now):
            return
        try:
            client = await self.delivery.client_for(place.workspace)
            user = (await client.users_info(user=user_id))["user"]
        except Exception:  # a missing scope or an outage: dates stay in the default zone
            log.warning("could not read users.info for a person; using the default time zone")
            return
        profile = user.get("profile") or {}
        speaker = Speaker(
            id=user_id,
            name=user.get("name") or profile.get("display_name"),
            email=profile.get("email"),
            timezone=user.get("tz"),
        )
        await conversations.remember(place=place, speaker=speaker, now=now)


def _reminder_title(message: dict[str, Any], ref: str) -> str:
    """Find an item's title in a reminder's blocks (the section just before its buttons)."""
    blocks = message.get("blocks", [])
    for i, block in enumerate(blocks):
        ids = [e.get("action_id", "") for e in block.get("elements", [])]
        if block.get("type") == "actions" and any(a.endswith(f":{ref}") for a in ids) and i:
            text = (blocks[i - 1].get("text") or {}).get("text", "")
            return text.split("*")[1] if text.count("*") >= 2 else text
    return "This item"


async def _say_privately(response_url: str, text: str) -> None:
    from slack_sdk.webhook.async_client import AsyncWebhookClient

    try:
        await AsyncWebhookClient(response_url).send(text=text, response_type="ephemeral")
    except Exception:
        log.warning("could not answer privately through a response_url")
