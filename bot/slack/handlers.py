"""Slack's listeners: each translates its payload (`bot.slack.translate`), hands it to the core and acks."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import inbound as said
from bot.context import Place, Speaker
from bot.core import Core, Handled
from bot.dispatch import posts_in_thread
from bot.sender import OutboxSender
from bot.slack import blocks as bk
from bot.slack import digest_blocks, modals, reminder_blocks, render
from bot.slack.placement import SlackPlacement
from bot.slack.translate import (
    DIGEST_ACTION,
    MALFORMED,
    REMINDER_ACTION,
    Translated,
    button_inbound,
    command_inbound,
    deep_dive_inbound,
    digest_button_inbound,
    form_button_inbound,
    form_inbound,
    message_inbound,
    new_date_inbound,
    reminder_inbound,
    required_str,
)
from flows.digest import Digest

log = logging.getLogger("mlplan.slack")


class DatabaseDown(RuntimeError):
    """The database cannot be reached: Slack gets a 500 and delivers the event again."""


def _ignored(what: str, error: Exception) -> None:
    log.warning("ignored a malformed Slack %s (%s: %s)", what, type(error).__name__, error)


def _ephemeral(handled: Handled, slash_command: str) -> dict[str, Any]:
    """Put the replies shown at once into one ephemeral response to the slash command."""
    outcome = handled.outcome
    project_id = outcome.project.id if outcome is not None and outcome.project else 0
    blocks, texts = [], []
    for reply in handled.at_once:
        if isinstance(reply, Digest):
            return _preview(reply, slash_command)
        message = render.render(reply, project_id=project_id, slash_command=slash_command)
        blocks.extend(message.get("blocks", []))
        texts.append(message["text"])
    return {
        "text": "\n".join(texts)[: bk.TEXT_LIMIT],
        "blocks": blocks[: bk.MAX_BLOCKS],
        "response_type": "ephemeral",
    }


def _preview(digest: Digest, slash_command: str) -> dict[str, Any]:
    """Show the digest the speaker would get now, privately: its first message."""
    messages = digest_blocks.digest_messages(digest, slash_command=slash_command)
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
        delivery: OutboxSender,
        client_for: Callable[[str], Awaitable[AsyncWebClient]],
        command: str,
        clock: Callable[[], datetime],
        session: aiohttp.ClientSession | None = None,
    ):
        self.session = session  # the kept HTTP session, for response URLs
        self.core = core
        self.delivery = delivery
        self.client_for = client_for
        self.command = command
        self.clock = clock

    def register(self, bolt: AsyncApp) -> None:
        """Attach the listeners to a Bolt app."""
        bolt.command(self.command)(self.on_command)
        bolt.event("message")(self.on_message)
        bolt.action(re.compile(r"^(answer|skip|later):"))(self.on_button)
        bolt.action(REMINDER_ACTION)(self.on_reminder_button)
        bolt.action(DIGEST_ACTION)(self.on_digest_button)
        bolt.action(re.compile(r"^deep:"))(self.on_deep_dive)
        bolt.view("mlplan_new_date")(self.on_new_date)
        bolt.action(re.compile(r"^form:"))(self.on_form_button)
        bolt.view(modals.FORM_CALLBACK)(self.on_form)

    async def handle(self, translated: Translated, **placement: Any) -> Handled:
        """Hand a translated payload to the core, placed in its channel; kick the sender."""
        direct = getattr(translated.event, "direct", False)
        thread = translated.place.thread if direct else None
        out = SlackPlacement(
            channel=translated.channel, prefix=self.command, thread=thread, **placement
        )
        handled = await self.core.handle(
            translated.event, place=translated.place, speaker=translated.speaker, out=out
        )
        if handled.queued:
            self.delivery.kick()
        return handled

    async def on_command(self, ack, body: dict[str, Any]) -> None:
        """`/mlplan …`: answered privately in the ack, or in a project's thread."""
        try:
            translated = command_inbound(body)
        except MALFORMED as err:
            _ignored("slash command", err)
            await ack()
            return
        handled = await self.handle(
            translated, response_url=body.get("response_url"), answers_at_once=True
        )
        if handled.at_once:
            await ack(**_ephemeral(handled, self.command))
        else:
            await ack()
        parsed, outcome = handled.command, handled.outcome
        if parsed is not None and (
            parsed.name == "digest"
            or (posts_in_thread(parsed) and outcome is not None and not outcome.private)
        ):
            self.delivery.spawn(self.learn_person(translated.place, translated.speaker.id))

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A reply in a thread answers its project's open question; an edit revises an answer."""
        try:
            translated = message_inbound(body, event)
        except MALFORMED as err:
            _ignored("message event", err)
            return
        if translated is None:
            return
        handled = await self.handle(translated)
        if handled.database_down:
            raise DatabaseDown("the database cannot be reached; Slack will deliver this again")
        outcome = handled.outcome
        if (
            isinstance(translated.event, said.Typed)
            and outcome
            and not outcome.duplicate
            and not handled.knows_timezone
        ):
            self.delivery.spawn(self.learn_person(translated.place, translated.speaker.id))

    async def on_button(self, ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A question's choice, Skip or Answer later."""
        await ack()
        try:
            translated = button_inbound(body, action)
        except MALFORMED as err:
            _ignored("button press", err)
            return
        if translated is not None:
            await self.at_once(await self.handle(translated), body.get("response_url"))

    async def on_deep_dive(self, ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A deep dive's Start now, Later, or a person picked to assign it to."""
        await ack()
        try:
            translated = deep_dive_inbound(body, action)
        except MALFORMED as err:
            _ignored("deep-dive action", err)
            return
        await self.handle(translated)

    async def on_reminder_button(
        self, ack, body: dict[str, Any], action: dict[str, Any], client
    ) -> None:
        """A reminder's Done, Snooze a day, Snooze a week; New date opens a form."""
        await ack()
        try:
            if action["action_id"].split(":")[1] == "date":
                await self.open_new_date(body, action, client)
                return
            translated = reminder_inbound(body, action)
        except MALFORMED as err:
            _ignored("reminder button", err)
            return
        response_url = body.get("response_url")
        handled = await self.handle(translated, response_url=response_url, answers_at_once=True)
        await self.at_once(handled, response_url)

    async def on_digest_button(self, ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A digest's Status or Snooze a week: answered privately where it was pressed."""
        await ack()
        try:
            translated = digest_button_inbound(body, action)
        except MALFORMED as err:
            _ignored("digest button", err)
            return
        await self.handle(translated)  # the answer is posted ephemerally where it was pressed

    async def open_new_date(self, body: dict[str, Any], action: dict[str, Any], client) -> None:
        """Open the form that asks for an item's new due date."""
        _, _, kind, item_id = action["action_id"].split(":")
        message = body.get("message") or {}
        context = json.dumps(
            {
                "kind": kind,
                "id": int(item_id),
                "channel": required_str(body["channel"], "id"),
                "ts": message.get("ts"),
            }
        )
        title = _reminder_title(message, f"{kind}:{item_id}")
        modal = reminder_blocks.new_date_modal(
            ref=f"{kind}:{item_id}", title=title, due=None, context=context
        )
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    async def on_new_date(self, ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The New date form: a refused date is shown beside its field."""
        try:
            translated = new_date_inbound(body, view)
        except MALFORMED as err:
            _ignored("form submission", err)
            await ack()
            return
        handled = await self.handle(translated, answers_at_once=True)
        if handled.refusal is not None:
            await ack(response_action="errors", errors={"due": handled.refusal})
        else:
            await ack()

    async def on_form_button(
        self, ack, body: dict[str, Any], action: dict[str, Any], client
    ) -> None:
        """ "Fill in as a form": open the section's form, prefilled, as a modal."""
        await ack()
        try:
            translated = form_button_inbound(body, action)
            trigger_id = required_str(body, "trigger_id")
        except MALFORMED as err:
            _ignored("form button", err)
            return
        response_url = body.get("response_url")
        handled = await self.handle(translated, response_url=response_url, answers_at_once=True)
        form = handled.form
        if form is None:
            await self.at_once(handled, response_url)
            return
        project = handled.outcome.project if handled.outcome else None
        channel = (project.channel if project else None) or translated.channel
        context = json.dumps(
            {"project_id": form.project_id, "section_id": form.section.id, "channel": channel}
        )
        # The trigger lasts three seconds: the form is opened at once, before anything else.
        await client.views_open(
            trigger_id=trigger_id, view=modals.section_modal(form, context=context)
        )

    async def on_form(self, ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """A section's form: refused fields are shown beside their inputs, and nothing is saved."""
        try:
            translated = form_inbound(body, view)
        except MALFORMED as err:
            _ignored("form submission", err)
            await ack()
            return
        handled = await self.handle(translated, answers_at_once=True)
        errors = dict(handled.errors)
        if not errors and handled.refusal is not None:
            first = next(iter(view["state"]["values"]), None)
            if first is not None:
                errors[first] = handled.refusal
        if errors:
            await ack(response_action="errors", errors=errors)
        else:
            await ack()

    async def at_once(self, handled: Handled, response_url: str | None) -> None:
        """Say privately, through the request's response_url, what the core did not queue."""
        if handled.at_once and response_url:
            text = "\n".join(getattr(reply, "text", "") for reply in handled.at_once)
            self.delivery.spawn(_say_privately(response_url, text, self.session))

    async def learn_person(self, place: Place, user_id: str) -> None:
        """Ask Slack once for a person's name, email and time zone (dates are read in it)."""
        people, now = self.core.people, self.clock()
        if await people.knows_timezone(place=place, person_id=user_id, now=now):
            return
        try:
            client = await self.client_for(place.workspace)
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
        await people.remember(place=place, speaker=speaker, now=now)


def _reminder_title(message: dict[str, Any], ref: str) -> str:
    """Find an item's title in a reminder's blocks (the section just before its buttons)."""
    blocks = message.get("blocks", [])
    for i, block in enumerate(blocks):
        ids = [e.get("action_id", "") for e in block.get("elements", [])]
        if block.get("type") == "actions" and any(a.endswith(f":{ref}") for a in ids) and i:
            text = (blocks[i - 1].get("text") or {}).get("text", "")
            return text.split("*")[1] if text.count("*") >= 2 else text
    return "This item"


async def _say_privately(
    response_url: str, text: str, session: aiohttp.ClientSession | None = None
) -> None:
    from slack_sdk.webhook.async_client import AsyncWebhookClient

    try:
        await AsyncWebhookClient(response_url, session=session).send(
            text=text, response_type="ephemeral"
        )
    except Exception:
        log.warning("could not answer privately through a response_url")
