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
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.commands import HERE, CommandError, help_text, parse_command
from bot.conversation import Conversations, Outcome, Place, Speaker, workspace_id_of
from bot.digests import Digests
from bot.dispatch import posts_in_thread, run_command
from bot.teams import render
from bot.teams.delivery import (
    PLATFORM,
    TeamsDelivery,
    conversation_key,
    person_key,
)
from bot.tracking import Tracking
from flows.model import Flow
from flows.parse import mention_token
from flows.replies import Say
from storage import projects as people
from storage import teams as references

log = logging.getLogger("mlplan.teams")
DATABASE_DOWN = "mlplan cannot reach its database right now, so nothing was changed. Please try again in a minute."
WELCOME = (
    "Hi, I'm mlplan: I run the planning conversation of a machine-learning project (the ML"
    " canvas, a cost estimate, success metrics) and remind owners of milestones and documents."
)
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


def event_id(body: dict[str, Any]) -> str | None:
    """Name an activity uniquely (its id is unique only in its conversation), to handle it once."""
    if not body.get("id"):
        return None
    conversation = (body.get("conversation") or {}).get("id", "")
    return "teams:" + hashlib.sha256(f"{conversation}\n{body['id']}".encode()).hexdigest()[:40]


class TeamsHandlers:
    """What mlplan does with each kind of activity."""

    def __init__(
        self,
        *,
        conversations: Conversations,
        digests: Digests,
        tracking: Tracking,
        delivery: TeamsDelivery,
        flow: Flow,
        clock: Callable[[], datetime],
    ):
        self.conversations = conversations
        self.digests = digests
        self.tracking = tracking
        self.delivery = delivery
        self.flow = flow
        self.clock = clock

    async def on_activity(self, body: dict[str, Any]) -> None:
        """Handle one authenticated activity; sending happens afterwards, from the outbox."""
        kind = body.get("type")
        if kind == "message":
            await self.on_message(body)
        elif kind in ("conversationUpdate", "installationUpdate"):
            await self.on_install(body)
        self.delivery.kick()

    async def remember(self, where: Where, speaker: Speaker, now: datetime) -> None:
        """Keep the references that let mlplan write here later, and what Teams says of the person.

        One transaction: this runs for every activity.
        """
        new_post = {**where.reference, "activityId": None}  # a new message, not a reply
        kept = {where.here: where.reference}
        if where.channel:  # the channel itself, for a digest subscribed there
            channel = {**where.reference["conversation"], "id": where.place.channel}
            kept[conversation_key(where.place.channel)] = {**new_post, "conversation": channel}
        if where.personal:  # reminders to this person go here
            kept[person_key(speaker.id)] = new_post
        async with self.conversations.sessions() as session:
            workspace_id = await workspace_id_of(session, where.place, now)
            for key, reference in kept.items():
                await references.remember(
                    session=session,
                    workspace_id=workspace_id,
                    key=key,
                    reference=reference,
                    now=now,
                )
            if speaker.timezone or speaker.name:
                await people.remember_person(
                    session=session,
                    workspace_id=workspace_id,
                    person=speaker.person(),
                    now=now,
                    timezone=speaker.timezone,
                )
            await session.commit()

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
        now = self.clock()
        where, speaker = where_of(body), speaker_of(body)
        if where.channel:  # greet in the channel, not in a reply chain of nothing
            where = Where(
                where.place,
                conversation_key(where.place.channel),
                {**where.reference, "activityId": None},
                where.personal,
                where.channel,
            )
        await self.remember(where, speaker, now)
        if not greet:
            return
        greeting = f"{WELCOME}\n\n{help_text('')}"
        async with self.conversations.sessions() as session:
            workspace_id = await workspace_id_of(session, where.place, now)
            self.delivery.enqueue_to(
                session,
                workspace_id=workspace_id,
                to=where.here,
                activity=render.text_only(greeting),
                now=now,
            )
            await session.commit()

    async def on_message(self, body: dict[str, Any]) -> None:
        now = self.clock()
        where, speaker = where_of(body), speaker_of(body)
        if (body.get("from") or {}).get("role") == "bot":
            return
        try:
            await self.remember(where, speaker, now)
            value = body.get("value")
            if isinstance(value, dict) and "mlplan_answer" in value:
                await self._pressed(body, where, speaker, value["mlplan_answer"], now)
                return
            if isinstance(value, dict) and "mlplan_remind" in value:
                await self._remind(body, where, speaker, value, now)
                return
            text = message_text(body)
            if not text:
                return
            if text.startswith("/"):
                await self._command(where, speaker, text[1:], now)
            elif text.lower() != "list" and await self.conversations.asking_here(
                place=where.place, now=now
            ):
                await self._answer(body, where, speaker, text, now)
            else:
                await self._command(where, speaker, text, now)
        except (SQLAlchemyError, OSError):
            log.exception("database error while handling a Teams message")
            await self.say_now(where, DATABASE_DOWN)

    async def say_now(self, where: Where, text: str) -> None:
        """Tell the person something at once, bypassing the database (which may be down)."""
        try:
            await self.delivery.connector.post(where.reference, render.text_only(text))
        except Exception:
            log.warning("could not tell a Teams user that the database is down")

    async def _private(self, where: Where, speaker: Speaker, outcome: Outcome) -> None:
        """Answer in the conversation the message came from (Teams has no private replies)."""
        sink = self.delivery.sink_for(here=where.here, reference=where.reference)
        async with self.conversations.sessions() as session:
            workspace_id = await workspace_id_of(session, where.place, self.clock())
            await sink(session, workspace_id, _privately(outcome), speaker)
            await session.commit()

    async def _say(self, where: Where, speaker: Speaker, text: str) -> None:
        await self._private(where, speaker, Outcome((Say(text),)))

    async def _command(self, where: Where, speaker: Speaker, text: str, now: datetime) -> None:
        try:
            parsed = parse_command(text, prefix="")
        except CommandError as err:
            await self._say(where, speaker, str(err))
            return
        if parsed.name == "help":
            await self._say(where, speaker, help_text(""))
            return
        if parsed.name == "digest" and parsed.action == "preview":
            digest = await self.digests.preview(place=where.place, speaker=speaker, now=now)
            async with self.conversations.sessions() as session:
                workspace_id = await workspace_id_of(session, where.place, now)
                for activity in render.digest_messages(digest):
                    self.delivery.enqueue_to(
                        session,
                        workspace_id=workspace_id,
                        to=where.here,
                        activity=activity,
                        now=now,
                    )
                await session.commit()
            return
        if parsed.name == "digest" and parsed.channel == HERE:
            # In a personal chat, "here" is the person; elsewhere it is the chat or channel.
            parsed = replace(parsed, channel=None if where.personal else where.place.channel)
        sink = self.delivery.sink_for(here=where.here, reference=where.reference)
        outcome = await run_command(
            parsed,
            place=where.place,
            speaker=speaker,
            now=now,
            conversations=self.conversations,
            digests=self.digests,
            tracking=self.tracking,
            sink=sink if posts_in_thread(parsed) else None,
        )
        if outcome.private or not posts_in_thread(parsed):  # else the sink queued it
            await self._private(where, speaker, outcome)

    async def _answer(
        self, body: dict[str, Any], where: Where, speaker: Speaker, text: str, now: datetime
    ) -> None:
        await self.conversations.reply(
            place=where.place,
            speaker=speaker,
            text=text,
            now=now,
            sink=self.delivery.sink_for(here=where.here, reference=where.reference),
            event_id=event_id(body),
            source_id=body.get("id"),
        )

    async def _pressed(
        self,
        body: dict[str, Any],
        where: Where,
        speaker: Speaker,
        data: Any,
        now: datetime,
    ) -> None:
        """Take a question card's button: it answers like typed text, if still the open question."""
        if not isinstance(data, dict) or data.get("question_id") not in self.flow.questions:
            return
        question_id = data["question_id"]
        answer = str(data.get("answer") or "")
        pressed = {
            "id": body.get("replyToId"),
            "label": self.flow.questions[question_id].label,
            "shown": str(data.get("shown") or answer),
        }
        await self.conversations.reply(
            place=where.place,
            speaker=speaker,
            text=answer,
            now=now,
            sink=self.delivery.sink_for(
                here=where.here, reference=where.reference, pressed=pressed
            ),
            event_id=event_id(body),
            expected_question=question_id,
        )

    async def _remind(
        self, body: dict[str, Any], where: Where, speaker: Speaker, value: dict, now: datetime
    ) -> None:
        """Take a reminder card's button: done, snooze a day or a week, or a new date."""
        data = value.get("mlplan_remind")
        if not isinstance(data, dict) or data.get("verb") not in (
            "done",
            "snooze1",
            "snooze7",
            "due",
        ):
            return
        due = None
        if data["verb"] == "due":
            chosen = render.submitted_due(value)
            try:
                due = date.fromisoformat(chosen) if chosen else None
            except ValueError:
                due = None
            if due is None:
                await self._say(where, speaker, "Pick a date first, then press Save.")
                return
        try:
            acted = await self.tracking.act(
                place=Place(PLATFORM, where.place.workspace),
                speaker=speaker,
                kind=str(data.get("kind")),
                item_id=int(data.get("id")),
                action=data["verb"],
                due=due,
                now=now,
                sink=self.delivery.reminder_sink(
                    here=where.here, activity_id=body.get("replyToId")
                ),
            )
        except (ValueError, TypeError) as err:
            await self._say(where, speaker, str(err).capitalize() + ".")
            return
        if acted is None:
            await self._say(where, speaker, "That item no longer exists.")


def _privately(outcome: Outcome) -> Outcome:
    return Outcome(outcome.replies, outcome.project, private=True)
