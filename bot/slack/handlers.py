"""Translate Slack payloads into inbound values for the core: the slash command, replies, edits, buttons, forms."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import inbound as said
from bot.context import Place, Speaker
from bot.core import Core, Handled
from bot.dispatch import posts_in_thread
from bot.sender import OutboxSender
from bot.slack import render
from bot.slack.placement import PLATFORM, SlackPlacement
from flows.digest import Digest
from flows.parse import mention_token

log = logging.getLogger("mlplan.slack")
# Message subtypes that are a person writing in a thread; everything else (joins, bot posts,
# deletions, topic changes) is not an answer.
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}
DIGEST_ACTION = re.compile(r"^digest:(status|snooze7):[0-9]+$")
REMINDER_ACTION = re.compile(r"^remind:(done|snooze1|snooze7|date):(milestone|doc):[0-9]+$")


# What a payload Slack would never send raises while it is translated: it is logged and
# ignored (with a 200, so that Slack does not send it again), never a traceback.
MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError)


class DatabaseDown(RuntimeError):
    """The database cannot be reached: Slack gets a 500 and delivers the event again."""


@dataclass(frozen=True)
class Translated:
    """A Slack payload in the core's terms: what the person did, where, who, and the channel."""

    event: said.Inbound
    place: Place
    speaker: Speaker
    channel: str


def _str(mapping: dict[str, Any], key: str) -> str:
    """Read a field that must be a non-empty string."""
    value = mapping[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} is not a non-empty string")
    return value


_MENTION = re.compile(r"<@(?P<id>[^|>\s{}]+)(?:\|(?P<name>[^>]*))?>")
_MAILTO = re.compile(r"<mailto:(?P<address>[^|>]+)(?:\|[^>]*)?>", re.IGNORECASE)
_SPECIAL = re.compile(
    r"<!(?P<word>here|channel|everyone)(?:\|[^>]*)?>|<!subteam\^[^|>]*(?:\|@?(?P<team>[^>]*))?>"
)


def _people(text: Any) -> str:
    """Make Slack's mentions of people (`<@U123|ana>`) and linked emails neutral.

    A mention becomes the neutral mention every platform's answers accept; the rest of a
    command stays as Slack sent it (its channel links are read by the placement).
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        raise TypeError("text is not a string")
    text = _MENTION.sub(lambda m: mention_token(m["id"], m["name"]), text)
    return _MAILTO.sub(lambda m: m["address"], text)


def _typed(text: Any) -> str:
    """Read what the person typed: mentions made neutral (`@here`, a group by name), unescaped."""
    text = _SPECIAL.sub(lambda m: "@" + (m["word"] or m["team"] or "team"), _people(text))
    return html.unescape(text)


def command_inbound(body: dict[str, Any]) -> Translated:
    """Translate a slash command."""
    channel = _str(body, "channel_id")
    return Translated(
        said.Ran(_people(body.get("text", ""))),
        Place(PLATFORM, _str(body, "team_id"), channel),
        Speaker(id=_str(body, "user_id"), name=body.get("user_name")),
        channel,
    )


def message_inbound(body: dict[str, Any], event: dict[str, Any]) -> Translated | None:
    """Translate a message event: a reply in a thread, or an edit of one; None for the rest."""
    subtype = event.get("subtype")
    edit = subtype == "message_changed"
    message = event["message"] if edit else event
    if not isinstance(message, dict):
        raise TypeError("message is not an object")
    if not edit and subtype not in PERSON_SUBTYPES:
        return None
    if message.get("bot_id") or not message.get("user"):
        return None  # another bot, or a system message
    thread = message.get("thread_ts")
    ts = _str(message, "ts")
    direct = event.get("channel_type") == "im"
    if (not thread or thread == ts) and not direct:
        return None  # a message in the channel itself, not a reply in a thread
    if edit and (event.get("previous_message") or {}).get("text") == message.get("text"):
        return None  # an unfurl or a reaction changed the message, not its words
    channel = _str(event, "channel")
    text = _typed(message.get("text", ""))
    said_it = (
        said.Edited(ts, text, event_id=body.get("event_id"))
        if edit
        else said.Typed(text, source_id=ts, event_id=body.get("event_id"), direct=direct)
    )
    if direct:  # a direct message: the whole conversation, its threads included, is one place
        place = Place(PLATFORM, _str(body, "team_id"), channel, thread if thread != ts else None)
        return Translated(said_it, place, Speaker(id=_str(message, "user")), channel)
    place = Place(PLATFORM, _str(body, "team_id"), channel, _str(message, "thread_ts"))
    return Translated(said_it, place, Speaker(id=_str(message, "user")), channel)


def _presser(body: dict[str, Any]) -> Speaker:
    user = body["user"]
    return Speaker(id=_str(user, "id"), name=user.get("username"))


def button_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated | None:
    """Translate a question's choice, Skip or Answer later; None outside a thread."""
    kind, question_id = _str(action, "action_id").split(":")[:2]
    message = body.get("message") or {}
    channel = _str(body["channel"], "id")
    thread = message.get("thread_ts")
    direct = channel.startswith("D")  # a direct message: its questions are not in a thread
    if not thread and not direct:
        return None
    value = action.get("value", "")
    pressed = said.Pressed(
        question_id,
        kind,
        value=_typed(value),
        message_id=_str(message, "ts"),
        direct=direct,
    )
    place = Place(PLATFORM, _str(body["team"], "id"), channel, thread)
    return Translated(pressed, place, _presser(body), channel)


def deep_dive_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated:
    """Translate a deep dive's Start now, Later, or the person picked to assign it to."""
    _, project_id, section_id = _str(action, "block_id").split(":", 2)
    verb = _str(action, "action_id").split(":")[1]
    if verb not in render.DEEP_ACTIONS:
        raise ValueError(f"unknown deep-dive action {verb!r}")
    user = action.get("selected_user") if verb == "assign" else None
    chose = said.ChoseSection(
        int(project_id), section_id, verb, person=mention_token(user) if user else None
    )
    message = body.get("message") or {}
    channel = _str(body["channel"], "id")
    place = Place(PLATFORM, _str(body["team"], "id"), channel, message.get("thread_ts"))
    return Translated(chose, place, _presser(body), channel)


def reminder_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated:
    """Translate a reminder's Done, Snooze a day or Snooze a week."""
    _, verb, kind, item_id = _str(action, "action_id").split(":")
    message = body.get("message") or {}
    acted = said.ActedOnItem(
        kind, int(item_id), verb, message_id=message.get("ts"), message=message.get("blocks", [])
    )
    channel = _str(body["channel"], "id")
    return Translated(acted, Place(PLATFORM, _str(body["team"], "id")), _presser(body), channel)


def digest_button_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated:
    """Translate a digest's Status or Snooze a week button for one project."""
    _, verb, project_id = _str(action, "action_id").split(":")
    channel = _str(body["channel"], "id")
    pressed = said.ActedOnProject(int(project_id), verb)
    place = Place(PLATFORM, _str(body["team"], "id"), channel)
    return Translated(pressed, place, _presser(body), channel)


def new_date_inbound(body: dict[str, Any], view: dict[str, Any]) -> Translated:
    """Translate the New date form's submission."""
    context = json.loads(view.get("private_metadata") or "{}")
    chosen = view["state"]["values"]["due"]["date"].get("selected_date")
    acted = said.ActedOnItem(
        _str(context, "kind"),
        int(context["id"]),
        "due",
        due=date.fromisoformat(chosen) if chosen else None,
        message_id=context.get("ts"),
    )
    place = Place(PLATFORM, _str(body["team"], "id"))
    return Translated(acted, place, _presser(body), _str(context, "channel"))


def form_button_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated:
    """Translate a section's "Fill in as a form" button (its value is the project's id)."""
    section_id = _str(action, "action_id").split(":", 1)[1]
    opened = said.OpenedForm(int(_str(action, "value")), section_id)
    channel = _str(body["channel"], "id")
    return Translated(
        opened, Place(PLATFORM, _str(body["team"], "id"), channel), _presser(body), channel
    )


def _field_text(state: dict[str, Any]) -> str | None:
    """Read one form field as neutral text: a person as a neutral mention, a date as YYYY-MM-DD."""
    kind = state.get("type")
    if kind == "datepicker":
        return state.get("selected_date")
    if kind == "users_select":
        user = state.get("selected_user")
        return mention_token(user) if user else None
    if kind in ("static_select", "radio_buttons"):
        return (state.get("selected_option") or {}).get("value")
    value = state.get("value")
    return _typed(value) if value else None


def form_inbound(body: dict[str, Any], view: dict[str, Any]) -> Translated:
    """Translate a section form's submission: each field's text by question id, empty ones left out."""
    context = json.loads(view.get("private_metadata") or "{}")
    values = {}
    for block_id, actions in view["state"]["values"].items():
        text = _field_text(actions.get(render.FORM_ACTION) or {})
        if text:
            values[block_id] = text
    submitted = said.SubmittedForm(int(context["project_id"]), _str(context, "section_id"), values)
    place = Place(PLATFORM, _str(body["team"], "id"))
    return Translated(submitted, place, _presser(body), _str(context, "channel"))


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
        "text": "\n".join(texts)[: render.TEXT_LIMIT],
        "blocks": blocks[: render.MAX_BLOCKS],
        "response_type": "ephemeral",
    }


def _preview(digest: Digest, slash_command: str) -> dict[str, Any]:
    """Show the digest the speaker would get now, privately: its first message."""
    messages = render.digest_messages(digest, slash_command=slash_command)
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
    ):
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
        bolt.view(render.FORM_CALLBACK)(self.on_form)

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
        if isinstance(translated.event, said.Typed) and outcome and not outcome.duplicate:
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
                "channel": _str(body["channel"], "id"),
                "ts": message.get("ts"),
            }
        )
        title = _reminder_title(message, f"{kind}:{item_id}")
        modal = render.new_date_modal(
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
            trigger_id = _str(body, "trigger_id")
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
            trigger_id=trigger_id, view=render.section_modal(form, context=context)
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
            self.delivery.spawn(_say_privately(response_url, text))

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


async def _say_privately(response_url: str, text: str) -> None:
    from slack_sdk.webhook.async_client import AsyncWebhookClient

    try:
        await AsyncWebhookClient(response_url).send(text=text, response_type="ephemeral")
    except Exception:
        log.warning("could not answer privately through a response_url")
