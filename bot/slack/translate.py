"""Translate Slack payloads into inbound values for the core: pure functions, no I/O.

Each takes the payload Bolt hands a listener (the body and its event, action or view) and
returns what the person did in the core's terms; `bot.slack.handlers` registers them.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot import inbound as said
from bot.context import Place, Speaker
from bot.slack import modals, render
from bot.slack.placement import PLATFORM
from flows.parse import mention_token

# Message subtypes that are a person writing in a thread; everything else (joins, bot posts,
# deletions, topic changes) is not an answer.
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}
DIGEST_ACTION = re.compile(r"^digest:(status|snooze7):[0-9]+$")
REMINDER_ACTION = re.compile(
    r"^remind:(?:(?:done|snooze1|snooze7|date):(?:milestone|doc)"
    r"|(?:answer|snooze7|skip):question|answer:owed):[0-9]+$"
)


# What a payload Slack would never send raises while it is translated: it is logged and
# ignored (with a 200, so that Slack does not send it again), never a traceback.
MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError)


@dataclass(frozen=True)
class Translated:
    """A Slack payload in the core's terms: what the person did, where, who, and the channel."""

    event: said.Inbound
    place: Place
    speaker: Speaker
    channel: str


def required_str(mapping: dict[str, Any], key: str) -> str:
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
    channel = required_str(body, "channel_id")
    return Translated(
        said.Ran(_people(body.get("text", ""))),
        Place(PLATFORM, required_str(body, "team_id"), channel),
        Speaker(id=required_str(body, "user_id"), name=body.get("user_name")),
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
    ts = required_str(message, "ts")
    direct = event.get("channel_type") == "im"
    if (not thread or thread == ts) and not direct:
        return None  # a message in the channel itself, not a reply in a thread
    if edit and (event.get("previous_message") or {}).get("text") == message.get("text"):
        return None  # an unfurl or a reaction changed the message, not its words
    channel = required_str(event, "channel")
    text = _typed(message.get("text", ""))
    said_it = (
        said.Edited(ts, text, event_id=body.get("event_id"))
        if edit
        else said.Typed(text, source_id=ts, event_id=body.get("event_id"), direct=direct)
    )
    if direct:  # a direct message: the whole conversation, its threads included, is one place
        place = Place(
            PLATFORM, required_str(body, "team_id"), channel, thread if thread != ts else None
        )
        return Translated(said_it, place, Speaker(id=required_str(message, "user")), channel)
    place = Place(
        PLATFORM, required_str(body, "team_id"), channel, required_str(message, "thread_ts")
    )
    return Translated(said_it, place, Speaker(id=required_str(message, "user")), channel)


def _presser(body: dict[str, Any]) -> Speaker:
    user = body["user"]
    return Speaker(id=required_str(user, "id"), name=user.get("username"))


def button_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated | None:
    """Translate a question's choice, Skip or Answer later; None outside a thread."""
    kind, question_id = required_str(action, "action_id").split(":")[:2]
    message = body.get("message") or {}
    channel = required_str(body["channel"], "id")
    thread = message.get("thread_ts")
    direct = channel.startswith("D")  # a direct message: its questions are not in a thread
    if not thread and not direct:
        return None
    value = action.get("value", "")
    pressed = said.Pressed(
        question_id,
        kind,
        value=_typed(value),
        message_id=required_str(message, "ts"),
        direct=direct,
    )
    place = Place(PLATFORM, required_str(body["team"], "id"), channel, thread)
    return Translated(pressed, place, _presser(body), channel)


def deep_dive_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated:
    """Translate a deep dive's Start now, Later, or the person picked to assign it to."""
    _, project_id, section_id = required_str(action, "block_id").split(":", 2)
    verb = required_str(action, "action_id").split(":")[1]
    if verb not in render.DEEP_ACTIONS:
        raise ValueError(f"unknown deep-dive action {verb!r}")
    user = action.get("selected_user") if verb == "assign" else None
    chose = said.ChoseSection(
        int(project_id), section_id, verb, person=mention_token(user) if user else None
    )
    message = body.get("message") or {}
    channel = required_str(body["channel"], "id")
    place = Place(PLATFORM, required_str(body["team"], "id"), channel, message.get("thread_ts"))
    return Translated(chose, place, _presser(body), channel)


def reminder_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated:
    """Translate a reminder's Done, Snooze a day or Snooze a week; Answer now, Skip, Continue."""
    _, verb, kind, item_id = required_str(action, "action_id").split(":")
    message = body.get("message") or {}
    acted = said.ActedOnItem(
        kind, int(item_id), verb, message_id=message.get("ts"), message=message.get("blocks", [])
    )
    channel = required_str(body["channel"], "id")
    return Translated(
        acted, Place(PLATFORM, required_str(body["team"], "id")), _presser(body), channel
    )


def digest_button_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated:
    """Translate a digest's Status or Snooze a week button for one project."""
    _, verb, project_id = required_str(action, "action_id").split(":")
    channel = required_str(body["channel"], "id")
    pressed = said.ActedOnProject(int(project_id), verb)
    place = Place(PLATFORM, required_str(body["team"], "id"), channel)
    return Translated(pressed, place, _presser(body), channel)


def new_date_inbound(body: dict[str, Any], view: dict[str, Any]) -> Translated:
    """Translate the New date form's submission."""
    context = json.loads(view.get("private_metadata") or "{}")
    chosen = view["state"]["values"]["due"]["date"].get("selected_date")
    acted = said.ActedOnItem(
        required_str(context, "kind"),
        int(context["id"]),
        "due",
        due=date.fromisoformat(chosen) if chosen else None,
        message_id=context.get("ts"),
    )
    place = Place(PLATFORM, required_str(body["team"], "id"))
    return Translated(acted, place, _presser(body), required_str(context, "channel"))


def form_button_inbound(body: dict[str, Any], action: dict[str, Any]) -> Translated:
    """Translate a section's "Fill in as a form" button (its value is the project's id)."""
    section_id = required_str(action, "action_id").split(":", 1)[1]
    opened = said.OpenedForm(int(required_str(action, "value")), section_id)
    channel = required_str(body["channel"], "id")
    return Translated(
        opened, Place(PLATFORM, required_str(body["team"], "id"), channel), _presser(body), channel
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
        text = _field_text(actions.get(modals.FORM_ACTION) or {})
        if text:
            values[block_id] = text
    submitted = said.SubmittedForm(
        int(context["project_id"]), required_str(context, "section_id"), values
    )
    place = Place(PLATFORM, required_str(body["team"], "id"))
    return Translated(submitted, place, _presser(body), required_str(context, "channel"))
