"""Adaptive Card primitives for Teams: limits, safe text, mentions, elements, activities.

Every Teams renderer builds on these; nothing here knows a reply type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.text import JOINERS, attached
from flows.display import person_name
from flows.replies import (
    CommandRef,
)

SCHEMA_VERSION = "1.5"  # the Adaptive Cards version Teams supports in bot messages
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

# Teams refuses a message over about 28 KB. Bot Framework adds the conversation, sender,
# recipient and channel data to an activity on its way out, so ours keep room for those.
MAX_ACTIVITY_BYTES = 28_000
ENVELOPE_ROOM = 2_000
ACTIVITY_BUDGET = MAX_ACTIVITY_BYTES - ENVELOPE_ROOM

# Nothing in Teams or the libraries cuts text for us; these keep each piece readable.
TEXT_LIMIT = 3000  # an activity's plain `text`
PROMPT_LIMIT = 5000
BLOCK_LIMIT = 3000  # a refusal, a Say, a card's warnings
FIELD_LIMIT = 2000
# When a card's fields would not fit in one activity, each value is first cut this short.
FIELD_TIGHT_LIMIT = 300
NOTE_LIMIT = 2000  # a section intro, a footer, the current answer, an example
LABEL_LIMIT = 200
TITLE_LIMIT = 300
NAME_LIMIT = 100
BUTTON_TITLE_LIMIT = 75
ITEM_LIMIT = 1000  # a reminder item's title and reason
MAX_ACTIONS = 100
# Teams lays out only a handful of buttons side by side (its host config caps one set at about
# six), so a question's buttons go into sets of five.
ACTIONS_PER_SET = 5
MAX_REMINDER_ITEMS = 20
CUT_NOTE = " … (cut)"
WORD_SLACK = 40  # cut at a space if there is one this close to the limit
# Text limits are multiplied by these in turn until an activity fits (many-byte characters,
# JSON escapes): a safety net, as the limits above keep ordinary replies well under the size.
SCALES = (1.0, 0.5, 0.2, 0.05)

# A Teams user id ("29:…"), an AAD user id ("8:orgid:…") or an AAD object id (a GUID).
TEAMS_USER_ID = re.compile(
    r"^(?:29:|8:orgid:)\S+$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    re.IGNORECASE,
)
AT_TAG = re.compile(r"<(\s*/?\s*at\b[^<>]*)>", re.IGNORECASE)
AT_OPEN = re.compile(r"<(?=\s*/?\s*at\b)", re.IGNORECASE)
BREAKS = re.compile(r"(?:\r?\n)+")
# A paragraph that starts like "2. " is an ordered list to Teams' Markdown, shown indented and
# clipped: the dot is escaped, as Markdown escapes it.
LIST_START = re.compile(r"(^|\n\n)(\s*[0-9]{1,9})([.)])(?=\s)")
SPACES = re.compile(r"\s+")


# Text


def command_text(ref: CommandRef) -> str:
    """Write a command as a person types it to the bot in Teams: `status Churn`."""
    return "`" + " ".join((ref.verb, *ref.args)) + "`"


def teams_text(text: str) -> str:
    """Make neutral or typed text safe for Teams: no `<at>` tags, which would mention someone."""
    # Teams turns `<at>Name</at>` into a mention; typed text must never make one.
    text = AT_TAG.sub(r"‹\1›", text)
    return AT_OPEN.sub("‹", text)


def cut(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, at a space when one is near, marking the cut."""
    if len(text) <= limit:
        return text
    end = max(0, limit - len(CUT_NOTE))
    while 0 < end < len(text) and (attached(text[end]) or text[end - 1] in JOINERS):
        end -= 1
    space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
    if space > 0 and end - space <= WORD_SLACK:
        end = space
    return text[:end].rstrip() + CUT_NOTE


def fit(text: str, limit: int) -> str:
    """Make text safe for a TextBlock or a fact and cut it to at most `limit` characters.

    A single line break is lost in Adaptive Cards markdown, so breaks become paragraph breaks.
    """
    text = LIST_START.sub(r"\1\2\\\3", BREAKS.sub("\n\n", teams_text(text)))
    return cut(text, limit)


def plain(text: str, limit: int) -> str:
    """Fit text for a button title: one line, never empty."""
    return cut(SPACES.sub(" ", teams_text(text)).strip(), limit) or "…"


def scaled_limit(limit: int, scale: float) -> int:
    return max(len(CUT_NOTE) + 20, int(limit * scale))


# Mentions


def teams_user_id(person: Mapping[str, Any] | None) -> str | None:
    """Return the person's id when it is one Teams can mention, else None."""
    person_id = person.get("id") if person else None
    if isinstance(person_id, str) and TEAMS_USER_ID.match(person_id):
        return person_id
    return None


class Mentions:
    """The mentions a card makes, one entity per person.

    Only people given as data (a Field's person, an owner, who pressed a button) are mentioned;
    typed text never is, as teams_text neutralises its `<at>` tags.
    """

    def __init__(self, entities: Iterable[Mapping[str, Any]] = ()) -> None:
        self.by_text: dict[str, dict[str, Any]] = {e["text"]: dict(e) for e in entities}

    def tag(self, person: Mapping[str, Any] | None) -> str | None:
        """Return `<at>Name</at>` for a person with a Teams id, else None."""
        person_id = teams_user_id(person)
        if person is None or person_id is None:
            return None
        name = display_name(person)
        text = f"<at>{name}</at>"
        known = self.by_text.get(text)
        if known is not None and known["mentioned"]["id"] != person_id:
            return None  # two people by one name: Teams could not tell which one is meant
        self.by_text[text] = {
            "type": "mention",
            "text": text,
            "mentioned": {"id": person_id, "name": name},
        }
        return text

    def used_in(self, content: Any) -> list[dict[str, Any]]:
        """List the entities whose text the content shows (a dropped field mentions nobody)."""
        serialized = json.dumps(content, ensure_ascii=False)
        return [
            entity
            for text, entity in self.by_text.items()
            if json.dumps(text, ensure_ascii=False)[1:-1] in serialized
        ]


def display_name(person: Mapping[str, Any]) -> str:
    """Name a person in one line, without the leading `@` (a mention shows its own)."""
    return cut(SPACES.sub(" ", teams_text(person_name(person).removeprefix("@"))), NAME_LIMIT)


def who(person: Mapping[str, Any], mentions: Mentions) -> str:
    """Name a person: a mention when the id is Teams', else the plain name."""
    return mentions.tag(person) or fit(person_name(person), NAME_LIMIT)


# Elements and activities


def text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def heading(text: str) -> dict[str, Any]:
    return text_block(text, size="Large", weight="Bolder", style="heading")


def subtle(text: str) -> dict[str, Any]:
    return text_block(text, isSubtle=True, spacing="Small")


def attention(text: str) -> dict[str, Any]:
    return text_block(text, color="Attention")


def follow_up(text: str) -> dict[str, Any]:
    """Highlight a question asked again about its answer: bold, in the accent colour."""
    return text_block(text, color="Accent", weight="Bolder")


def submit(title: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": plain(title, BUTTON_TITLE_LIMIT), "data": data}


def adaptive_card(
    body: list[dict[str, Any]],
    *,
    actions: list[dict[str, Any]] | None = None,
    mentions: Mentions | None = None,
) -> dict[str, Any]:
    """Assemble an Adaptive Card, full width, with the mention entities its body uses."""
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": SCHEMA_VERSION,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    msteams: dict[str, Any] = {"width": "Full"}
    entities = mentions.used_in(body) if mentions else []
    if entities:
        msteams["entities"] = entities
    card["msteams"] = msteams
    return card


def message(
    text: str,
    card: dict[str, Any],
    value: dict[str, Any] | None = None,
    *,
    limit: int = TEXT_LIMIT,
) -> dict[str, Any]:
    """Wrap a card in a message activity; `summary` is the plain fallback (notifications, search).

    The fallback is not `text`: Teams shows an activity's text above its card, so every question
    would be written twice.
    """
    activity: dict[str, Any] = {
        "type": "message",
        "summary": fit(text, limit) or "…",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
    }
    if value is not None:
        activity["value"] = value
    return activity


def activity_size(activity: Mapping[str, Any]) -> int:
    """Count the bytes of an activity as it is sent: UTF-8 JSON."""
    return len(json.dumps(activity, ensure_ascii=False).encode())


def fits(activity: Mapping[str, Any]) -> bool:
    return activity_size(activity) <= ACTIVITY_BUDGET


def scaled(build: Callable[[float], dict[str, Any]]) -> dict[str, Any]:
    """Build an activity with ever shorter texts until it fits Teams' size limit."""
    for scale in SCALES:
        activity = build(scale)
        if fits(activity):
            return activity
    raise ValueError(
        f"cannot fit {activity.get('summary', '')[:80]!r} into {ACTIVITY_BUDGET} bytes"
    )
