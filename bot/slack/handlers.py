"""Translate Slack payloads into conversation calls: the slash command, thread replies, edits, buttons."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlalchemy.exc import SQLAlchemyError

from bot.commands import HERE, CommandError, help_text, parse_command
from bot.conversation import Conversations, Outcome, Place, Speaker
from bot.digests import Digests
from bot.dispatch import posts_in_thread, run_command
from bot.slack import render
from bot.slack.delivery import SlackDelivery
from bot.tracking import Tracking
from flows.model import Flow
from flows.parse import mention_token

log = logging.getLogger("mlplan.slack")
PLATFORM = "slack"
# Message subtypes that are a person writing in a thread; everything else (joins, bot posts,
# deletions, topic changes) is not an answer.
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}
DATABASE_DOWN = "mlplan cannot reach its database right now, so nothing was changed. Please try again in a minute."


def _ephemeral(outcome: Outcome) -> dict[str, Any]:
    """Put private replies into one ephemeral response to the slash command."""
    blocks, texts = [], []
    for reply in outcome.replies:
        message = render.render(reply, project_id=outcome.project.id if outcome.project else 0)
        blocks.extend(message.get("blocks", []))
        texts.append(message["text"])
    return {
        "text": "\n".join(texts)[: render.TEXT_LIMIT],
        "blocks": blocks[: render.MAX_BLOCKS],
        "response_type": "ephemeral",
    }


def _speaker(user_id: str, name: str | None = None) -> Speaker:
    return Speaker(id=user_id, name=name)


_MENTION = re.compile(r"<@(?P<id>[^|>\s{}]+)(?:\|(?P<name>[^>]*))?>")
_MAILTO = re.compile(r"<mailto:(?P<address>[^|>]+)(?:\|[^>]*)?>", re.IGNORECASE)
_SPECIAL = re.compile(
    r"<!(?P<word>here|channel|everyone)(?:\|[^>]*)?>|<!subteam\^[^|>]*(?:\|@?(?P<team>[^>]*))?>"
)


def _people(text: str) -> str:
    """Make Slack's mentions of people (`<@U123|ana>`) and linked emails neutral."""
    text = _MENTION.sub(lambda m: mention_token(m["id"], m["name"]), text or "")
    return _MAILTO.sub(lambda m: m["address"], text)


def _typed(text: str) -> str:
    """Read what the person typed: mentions made neutral (`@here`, a group by name), unescaped."""
    text = _SPECIAL.sub(lambda m: "@" + (m["word"] or m["team"] or "team"), _people(text))
    return html.unescape(text)


async def _preview(
    digests: Digests, place: Place, speaker: Speaker, now: datetime
) -> dict[str, Any]:
    """Render the digest the speaker would get now, privately: its first message."""
    messages = render.digest_messages(await digests.preview(place=place, speaker=speaker, now=now))
    first = messages[0]
    more = (
        f" This preview shows the first of {len(messages)} messages." if len(messages) > 1 else ""
    )
    return {"text": first["text"] + more, "blocks": first["blocks"], "response_type": "ephemeral"}


async def learn_person(
    conversations: Conversations, delivery: SlackDelivery, place: Place, user_id: str, now: datetime
) -> None:
    """Ask Slack once for a person's name, email and time zone (dates are read in it)."""
    if await conversations.knows_timezone(place=place, person_id=user_id, now=now):
        return
    try:
        client = await delivery.client_for(place.workspace)
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


def register_listeners(
    bolt: AsyncApp,
    *,
    conversations: Conversations,
    digests: Digests,
    tracking: Tracking,
    delivery: SlackDelivery,
    flow: Flow,
    command: str,
    clock: Callable[[], datetime],
) -> None:
    """Attach mlplan's listeners to a Bolt app."""

    @bolt.command(command)
    async def on_command(ack, body: dict[str, Any]) -> None:
        now = clock()
        place = Place(PLATFORM, body["team_id"], body["channel_id"])
        speaker = _speaker(body["user_id"], body.get("user_name"))
        try:
            parsed = parse_command(_people(body.get("text", "")), prefix=command)
        except CommandError as err:
            await ack(text=render.escape(str(err)), response_type="ephemeral")
            return
        try:
            if parsed.name == "help":
                await ack(text=render.escape(help_text(command)), response_type="ephemeral")
                return
            if parsed.name == "digest" and parsed.action == "preview":
                await ack(**await _preview(digests, place, speaker, now))
                return
            if parsed.name == "digest" and parsed.channel == HERE:
                parsed = replace(parsed, channel=body["channel_id"])
            outcome = await run_command(
                parsed,
                place=place,
                speaker=speaker,
                now=now,
                conversations=conversations,
                digests=digests,
                tracking=tracking,
                sink=delivery.sink_for(
                    channel=body["channel_id"], response_url=body.get("response_url")
                ),
            )
        except (SQLAlchemyError, OSError):
            log.exception("database error while handling %s", command)
            await ack(text=DATABASE_DOWN, response_type="ephemeral")
            return
        if outcome.private or not posts_in_thread(parsed):
            await ack(**_ephemeral(outcome))
        else:
            await ack()
            delivery.kick()
        if parsed.name == "digest" or (posts_in_thread(parsed) and not outcome.private):
            delivery.spawn(learn_person(conversations, delivery, place, speaker.id, now))

    @bolt.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        if subtype == "message_changed":
            await _on_edit(body, event)
            return
        if subtype not in PERSON_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return
        thread = event.get("thread_ts")
        if not thread or thread == event.get("ts"):
            return  # a message in the channel itself, not a reply in a thread
        place = Place(PLATFORM, body["team_id"], event["channel"], thread)
        outcome = await conversations.reply(
            place=place,
            speaker=_speaker(event["user"]),
            text=_typed(event.get("text", "")),
            now=clock(),
            sink=delivery.sink_for(channel=event["channel"]),
            event_id=body.get("event_id"),
            source_id=event["ts"],
        )
        if outcome is not None and not outcome.duplicate:
            delivery.kick()
            delivery.spawn(learn_person(conversations, delivery, place, event["user"], clock()))

    async def _on_edit(body: dict[str, Any], event: dict[str, Any]) -> None:
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
        outcome = await conversations.revise(
            place=place,
            speaker=_speaker(message["user"]),
            source_id=message["ts"],
            text=_typed(message.get("text", "")),
            now=clock(),
            sink=delivery.sink_for(channel=event["channel"]),
            event_id=body.get("event_id"),
        )
        if outcome is not None and not outcome.duplicate:
            delivery.kick()

    @bolt.action(re.compile(r"^(answer|skip|later):"))
    async def on_button(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        kind, question_id = action["action_id"].split(":")[:2]
        if question_id not in flow.questions:
            return
        message = body.get("message") or {}
        channel = body["channel"]["id"]
        thread = message.get("thread_ts")
        if not thread:
            return
        text = {"answer": action.get("value", ""), "skip": "skip", "later": "skip"}[kind]
        shown = {"skip": "skipped", "later": "left for later"}.get(kind, text)
        pressed = {"ts": message["ts"], "label": flow.questions[question_id].label, "shown": shown}
        outcome = await conversations.reply(
            place=Place(PLATFORM, body["team"]["id"], channel, thread),
            speaker=_speaker(body["user"]["id"], body["user"].get("username")),
            text=text,
            now=clock(),
            sink=delivery.sink_for(channel=channel, pressed=pressed),
            expected_question=question_id,
        )
        if outcome is not None:
            delivery.kick()

    @bolt.action(re.compile(r"^remind:(done|snooze1|snooze7|date):(milestone|doc):[0-9]+$"))
    async def on_reminder_button(ack, body: dict[str, Any], action: dict[str, Any], client) -> None:
        _, verb, kind, item_id = action["action_id"].split(":")
        message = body.get("message") or {}
        channel = body["channel"]["id"]
        if verb == "date":
            await ack()
            title = _reminder_title(message, f"{kind}:{item_id}")
            context = json.dumps(
                {"kind": kind, "id": int(item_id), "channel": channel, "ts": message.get("ts")}
            )
            modal = render.new_date_modal(
                ref=f"{kind}:{item_id}", title=title, due=None, context=context
            )
            await client.views_open(trigger_id=body["trigger_id"], view=modal)
            return
        await ack()
        acted = await tracking.act(
            place=Place(PLATFORM, body["team"]["id"]),
            speaker=_speaker(body["user"]["id"], body["user"].get("username")),
            kind=kind,
            item_id=int(item_id),
            action=verb,
            now=clock(),
            sink=delivery.reminder_sink(
                channel=channel, ts=message["ts"], blocks=message.get("blocks", [])
            ),
        )
        if acted is None:
            delivery.spawn(_say_privately(body.get("response_url"), "That item no longer exists."))
            return
        delivery.kick()

    @bolt.view("mlplan_new_date")
    async def on_new_date(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = json.loads(view.get("private_metadata") or "{}")
        chosen = view["state"]["values"]["due"]["date"].get("selected_date")
        try:
            acted = await tracking.act(
                place=Place(PLATFORM, body["team"]["id"]),
                speaker=_speaker(body["user"]["id"], body["user"].get("username")),
                kind=context["kind"],
                item_id=context["id"],
                action="due",
                due=date.fromisoformat(chosen) if chosen else None,
                now=clock(),
                sink=delivery.reminder_sink(channel=context["channel"], ts=context["ts"])
                if context.get("ts")
                else None,
            )
        except ValueError as err:
            await ack(response_action="errors", errors={"due": str(err).capitalize() + "."})
            return
        await ack()
        if acted is not None:
            delivery.kick()


def _reminder_title(message: dict[str, Any], ref: str) -> str:
    """Find an item's title in a reminder's blocks (the section just before its buttons)."""
    blocks = message.get("blocks", [])
    for i, block in enumerate(blocks):
        ids = [e.get("action_id", "") for e in block.get("elements", [])]
        if block.get("type") == "actions" and any(a.endswith(f":{ref}") for a in ids) and i:
            text = (blocks[i - 1].get("text") or {}).get("text", "")
            return text.split("*")[1] if text.count("*") >= 2 else text
    return "This item"


async def _say_privately(response_url: str | None, text: str) -> None:
    if response_url:
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        await AsyncWebhookClient(response_url).send(text=text, response_type="ephemeral")
