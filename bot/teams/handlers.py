"""Translate Teams activities into conversation calls: commands, answers, card buttons, installs.

Where a message lives decides what it is. In a channel, a new post (the bot @mentioned) is a
command and its reply chain is the intake's thread; in a personal or group chat, which has no
threads, the chat itself is the thread of its most recent intake. While a question is open
there, a message answers it, except `list` and anything starting with `/` (`/new churn`), which
are commands; with no question open, every message is a command.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot import inbound as said
from bot.context import Place, Speaker
from bot.core import Core, Handled
from bot.sender import OutboxSender
from bot.teams import reminder_card, render
from bot.teams.delivery import PLATFORM, Connector, conversation_key, person_key
from bot.teams.placement import TeamsPlacement
from flows.parse import mention_token

log = logging.getLogger("mlplan.teams")
_TAGS = re.compile(r"<[^<>]+>")


@dataclass(frozen=True)
class Where:
    """Where an activity came from, in mlplan's terms and in the Bot Framework's."""

    place: Place
    here: str  # the key of the conversation (reply chain) to answer in
    reference: dict[str, Any]  # how to write there
    personal: bool
    channel: bool


def where_of(body: dict[str, Any]) -> Where:
    """Read the workspace, conversation and reply chain of an activity."""
    conversation = body.get("conversation") or {}
    conversation_id = conversation.get("id") or ""
    kind = conversation.get("conversationType")
    tenant = (
        ((body.get("channelData") or {}).get("tenant") or {}).get("id")
        or conversation.get("tenantId")
        or "default"
    )
    channel = kind == "channel"
    if channel:
        base, _, root = conversation_id.partition(";messageid=")
        root = root or body.get("id") or ""
        full = f"{base};messageid={root}"
        place = Place(PLATFORM, tenant, base, root)
    else:
        full = conversation_id
        place = Place(PLATFORM, tenant, conversation_id, conversation_id)
    reference = {
        "activityId": body.get("id"),
        "user": _account(body.get("from")),
        "bot": _account(body.get("recipient")),
        "conversation": {**conversation, "id": full},
        "channelId": body.get("channelId") or PLATFORM,
        "serviceUrl": body.get("serviceUrl"),
        "tenantId": tenant,
    }
    return Where(place, conversation_key(full), reference, kind == "personal", channel)


def _account(account: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (account or {}).items() if k in ("id", "name", "aadObjectId", "role")}


def speaker_of(body: dict[str, Any]) -> Speaker:
    """Read who wrote an activity, and their time zone when Teams says it."""
    person = body.get("from") or {}
    return Speaker(
        id=person.get("id") or "unknown",
        name=person.get("name"),
        timezone=body.get("localTimezone"),
    )


def message_text(body: dict[str, Any]) -> str:
    """Read what the person typed: the bot's @mention removed, other mentions made neutral.

    A mention of a person becomes the neutral mention (flows.parse.mention_token).
    """
    text = body.get("text") or ""
    bot_id = (body.get("recipient") or {}).get("id")
    for entity in body.get("entities") or []:
        if entity.get("type") != "mention" or not entity.get("text"):
            continue
        mentioned = entity.get("mentioned") or {}
        if mentioned.get("id") == bot_id:
            text = text.replace(entity["text"], " ")
        elif mentioned.get("id"):
            # No `<` or `>` in the name, so the tag stripping below cannot eat into the text.
            name = re.sub(r"[<>]", " ", str(mentioned.get("name") or ""))
            try:
                token = mention_token(mentioned["id"], name)
            except ValueError:  # an id no Teams user has: keep the name, mention nobody
                token = name
            text = text.replace(entity["text"], token)
    # Teams may send formatting as HTML; what the person typed is the text within.
    text = _TAGS.sub(" ", text)
    return " ".join(html.unescape(text).split())


def event_id(body: dict[str, Any], *, edit: bool = False) -> str | None:
    """Name an activity uniquely (its id is unique only in its conversation), to handle it once.

    An edit carries the id of the message it changed, so its words are part of its name: each
    edit is handled once, and a repeated delivery of the same edit does nothing.
    """
    if not body.get("id"):
        return None
    conversation = (body.get("conversation") or {}).get("id", "")
    name = f"{conversation}\n{body['id']}"
    if edit:
        name += f"\nedit\n{body.get('text') or ''}"
    return "teams:" + hashlib.sha256(name.encode()).hexdigest()[:40]


class TeamsHandlers:
    """Translate each kind of activity into an inbound value for the core, then kick the sender."""

    def __init__(self, *, core: Core, delivery: OutboxSender, connector: Connector):
        self.core = core
        self.delivery = delivery
        self.connector = connector

    async def on_activity(self, body: dict[str, Any]) -> None:
        """Handle one authenticated activity; sending happens afterwards, from the outbox."""
        kind = body.get("type")
        if kind == "message":
            await self.on_message(body)
        elif kind == "messageUpdate":
            await self.on_edit(body)
        elif kind in ("conversationUpdate", "installationUpdate"):
            await self.on_install(body)
        self.delivery.kick()

    def placement(self, where: Where, speaker: Speaker) -> TeamsPlacement:
        """Say where replies go, and which references let mlplan write here later."""
        new_post = {**where.reference, "activityId": None}  # a new message, not a reply
        kept = {where.here: where.reference}
        if where.channel:  # the channel itself, for a digest subscribed there
            channel = {**where.reference["conversation"], "id": where.place.channel}
            kept[conversation_key(where.place.channel)] = {**new_post, "conversation": channel}
        if where.personal:  # reminders to this person go here
            kept[person_key(speaker.id)] = new_post
        return TeamsPlacement(
            here_key=where.here,
            reference=where.reference,
            # In a personal chat, "here" is the person; elsewhere it is the chat or channel.
            subscribes=None if where.personal else where.place.channel,
            references=kept,
        )

    async def handle(self, event: said.Inbound, where: Where, speaker: Speaker) -> Handled:
        handled = await self.core.handle(
            event, place=where.place, speaker=speaker, out=self.placement(where, speaker)
        )
        if handled.database_down:
            await self.say_now(where, handled.refusal or "")
        return handled

    async def on_install(self, body: dict[str, Any]) -> None:
        """Greet a chat or channel the bot was just added to, and keep its reference.

        Teams announces an install twice (installationUpdate, then conversationUpdate with the
        bot among the members added): the first only keeps the reference, the second greets.
        """
        bot_id = (body.get("recipient") or {}).get("id")
        added = [m.get("id") for m in body.get("membersAdded") or []]
        greet = body.get("type") == "conversationUpdate" and bot_id in added
        if not greet and body.get("action") != "add":
            return
        where, speaker = where_of(body), speaker_of(body)
        if where.channel:  # greet in the channel, not in a reply chain of nothing
            where = Where(
                where.place,
                conversation_key(where.place.channel),
                {**where.reference, "activityId": None},
                where.personal,
                where.channel,
            )
        await self.handle(said.Installed(greet=greet), where, speaker)

    async def on_message(self, body: dict[str, Any]) -> None:
        """Translate a message: a card's button, a command, or an answer."""
        if (body.get("from") or {}).get("role") == "bot":
            return
        event = inbound_of(body, where_of(body))
        if event is not None:
            await self.handle(event, where_of(body), speaker_of(body))

    async def on_edit(self, body: dict[str, Any]) -> None:
        """An edited message makes a new version of the answer it gave, as in Slack."""
        event = (body.get("channelData") or {}).get("eventType")
        if event not in (None, "editMessage") or not body.get("id"):
            return  # undeleting or other changes are not new words
        if (body.get("from") or {}).get("role") == "bot":
            return
        text = message_text(body)
        if not text:
            return
        edited = said.Edited(body["id"], text, event_id=event_id(body, edit=True))
        await self.handle(edited, where_of(body), speaker_of(body))

    async def say_now(self, where: Where, text: str) -> None:
        """Tell the person something at once, bypassing the database (which may be down)."""
        try:
            await self.connector.post(where.reference, render.text_only(text))
        except Exception:
            log.warning("could not tell a Teams user that the database is down")


def inbound_of(body: dict[str, Any], where: Where) -> said.Inbound | None:
    """Translate a message activity into what the person did, or None when it says nothing."""
    value = body.get("value")
    if isinstance(value, dict) and ("mlplan_form" in value or "mlplan_form_open" in value):
        return _form_press(body, value)
    if isinstance(value, dict) and "mlplan_answer" in value:
        data = value["mlplan_answer"]
        if not isinstance(data, dict):
            return None
        answer = str(data.get("answer") or render.submitted_answer(value) or "")
        return said.Pressed(
            str(data.get("question_id")),
            "answer",
            value=answer,
            shown=str(data.get("shown") or answer),
            message_id=body.get("replyToId"),
            event_id=event_id(body),
            direct=where.personal,
        )
    if isinstance(value, dict) and "mlplan_remind" in value:
        return _reminder_press(body, value)
    if isinstance(value, dict) and "mlplan_digest" in value:
        return _digest_press(value)
    if isinstance(value, dict) and "mlplan_deep" in value:
        return _deep_dive_press(value["mlplan_deep"])
    text = message_text(body)
    if not text:
        return None
    if text.startswith("/"):
        return said.Ran(text[1:])
    if where.channel and where.place.thread == body.get("id"):
        return said.Ran(text)  # a new post in a channel: always a command
    if text.lower() == "list":
        return said.Ran(text)
    return said.Typed(
        text,
        source_id=body.get("id"),
        event_id=event_id(body),
        or_command=True,
        direct=where.personal,
    )


def _deep_dive_press(data: Any) -> said.Inbound | None:
    """Translate a deep dive's Start now, Assign or Later button."""
    if not isinstance(data, dict) or data.get("action") not in ("start", "assign", "later"):
        return None
    try:
        return said.ChoseSection(
            int(data.get("project_id")), str(data["section_id"]), data["action"]
        )
    except (TypeError, ValueError, KeyError):
        return None


def _form_press(body: dict[str, Any], value: dict[str, Any]) -> said.Inbound | None:
    """Translate a form's buttons: "Fill in as a form", and Save with the inputs' values beside it.

    A person's field unchanged from what the card showed of them is left out (kept as it is).
    """
    opening = "mlplan_form_open" in value
    data = value.get("mlplan_form_open" if opening else "mlplan_form")
    if not isinstance(data, dict):
        return None
    try:
        project_id, section_id = int(data.get("project_id")), str(data["section_id"])
    except (TypeError, ValueError, KeyError):
        return None
    if opening:
        return said.OpenedForm(project_id, section_id)
    people = data.get("people") if isinstance(data.get("people"), dict) else {}
    values = {}
    for key, entered in value.items():
        question_id = key.removeprefix("q:")
        if question_id == key or entered in (None, "") or isinstance(entered, dict | list):
            continue
        text = str(entered).strip()
        if text and text != people.get(question_id):
            values[question_id] = text
    return said.SubmittedForm(
        project_id,
        section_id,
        values,
        message_id=body.get("replyToId"),
        event_id=event_id(body),
    )


def _digest_press(value: dict[str, Any]) -> said.Inbound | None:
    """Translate a digest's Status or Snooze a week button for one project."""
    data = value.get("mlplan_digest")
    if not isinstance(data, dict) or data.get("verb") not in ("status", "snooze7"):
        return None
    try:
        return said.ActedOnProject(int(data.get("project_id")), data["verb"])
    except (TypeError, ValueError):
        return None


def _reminder_press(body: dict[str, Any], value: dict[str, Any]) -> said.Inbound | None:
    """Translate a reminder card's button: done, snooze a day or a week, a new date; answer, skip."""
    data = value.get("mlplan_remind")
    verbs = ("done", "snooze1", "snooze7", "due", "answer", "skip")
    if not isinstance(data, dict) or data.get("verb") not in verbs:
        return None
    due = None
    if data["verb"] == "due":
        chosen = reminder_card.submitted_due(value)
        try:
            due = date.fromisoformat(chosen) if chosen else None
        except ValueError:
            due = None
    try:
        item_id = int(data.get("id"))
    except (TypeError, ValueError):
        return None
    return said.ActedOnItem(
        str(data.get("kind")), item_id, data["verb"], due=due, message_id=body.get("replyToId")
    )
