"""Render reminders for Teams: the items due, with Done, Snooze and a new due date."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bot.teams import adaptive as ac
from flows.replies import (
    CommandRef,
    Reminder,
)

REMINDER_ACTIONS = (("done", "Done"), ("snooze1", "Snooze a day"), ("snooze7", "Snooze a week"))
# What a question left for later and a section owed offer instead (no new date).
OWED_ACTIONS = {
    "question": (("answer", "Answer now"), ("snooze7", "Snooze a week"), ("skip", "Skip")),
    "owed": (("answer", "Continue"),),
}
HEADINGS = {
    "items": ("Reminder", "Reminder for"),
    "owed": ("Waiting for you", "Waiting for you in"),
}


def reminder(reply: Reminder, scale: float) -> dict[str, Any]:
    """Render a batched reminder: each item with Done, Snooze a day, Snooze a week, New date."""
    heading, lead = HEADINGS.get(reply.about, HEADINGS["items"])
    if reply.new_owner:
        heading, lead = "You own new items", "You own new items in"
    body = [
        ac.heading(ac.fit(f"{heading}: {reply.project}", ac.scaled_limit(ac.TITLE_LIMIT, scale)))
    ]
    if reply.note:
        body.append(ac.subtle(ac.fit(reply.note, ac.scaled_limit(ac.NOTE_LIMIT, scale))))
    for item in reply.items[: ac.MAX_REMINDER_ITEMS]:
        title = ac.fit(item.title, ac.scaled_limit(ac.LABEL_LIMIT, scale))
        reason = ac.fit(item.reason, ac.scaled_limit(ac.ITEM_LIMIT, scale))
        body.append(ac.text_block(f"**{title}**: {reason}", separator=True))
        body.append(_reminder_actions(item.kind, item.id))
    hidden = len(reply.items) - ac.MAX_REMINDER_ITEMS
    if hidden > 0:
        listing = ac.command_text(_listing(reply))
        body.append(
            ac.subtle(
                f"… and {hidden} more: {ac.fit(listing, ac.scaled_limit(ac.TITLE_LIMIT, scale))}"
            )
        )
    titles = ", ".join(item.title for item in reply.items)
    text = f"{lead} {reply.project}: {titles}"
    return ac.message(text, ac.adaptive_card(body), limit=ac.scaled_limit(ac.TEXT_LIMIT, scale))


def _reminder_actions(kind: str, item_id: int) -> dict[str, Any]:
    """Build one item's buttons; the set's id lets reminder_after_action find it."""

    def data(verb: str) -> dict[str, Any]:
        return {"mlplan_remind": {"verb": verb, "kind": kind, "id": item_id}}

    if kind in OWED_ACTIONS:
        return {
            "type": "ActionSet",
            "id": f"remind:{kind}:{item_id}",
            "actions": [ac.submit(label, data(verb)) for verb, label in OWED_ACTIONS[kind]],
        }

    new_date = {
        "type": "Action.ShowCard",
        "title": "New date",
        "card": {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "Input.Date",
                    "id": due_input_id(kind, item_id),
                    "label": "New due date",
                    "isRequired": True,
                    "errorMessage": "Pick a date.",
                }
            ],
            "actions": [ac.submit("Save", data("due"))],
        },
    }
    return {
        "type": "ActionSet",
        "id": f"remind:{kind}:{item_id}",
        "actions": [*(ac.submit(label, data(verb)) for verb, label in REMINDER_ACTIONS), new_date],
    }


def due_input_id(kind: str, item_id: int) -> str:
    """Name one item's date input; Teams sends its value beside the Save button's data.

    Each item needs its own name: Teams' mobile clients do not render a card whose inputs share
    an id, even when each sits in its own Action.ShowCard.
    """
    return f"due:{kind}:{item_id}"


def submitted_due(value: Mapping[str, Any]) -> str | None:
    """Read the date (YYYY-MM-DD) that a reminder's Save press sent, or None when it sent none."""
    remind = value.get("mlplan_remind")
    if not isinstance(remind, Mapping):
        return None
    due = value.get(due_input_id(remind.get("kind"), remind.get("id")))
    return due if isinstance(due, str) and due else None


def reminder_after_action(
    card: dict[str, Any], *, ref: str, title: str, shown: str, person: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace one item's buttons in a reminder with what was done and by whom; keep the others'."""
    target = f"remind:{ref}"

    def build(scale: float) -> dict[str, Any]:
        content = copy.deepcopy(card)
        msteams = content.setdefault("msteams", {})
        mentions = ac.Mentions(msteams.get("entities", ()))
        limit = ac.scaled_limit(ac.LABEL_LIMIT, scale)
        line = f"{ac.fit(title, limit)}: {ac.fit(shown, limit)} ({ac.who(person, mentions)})"
        content["body"] = [
            ac.subtle(line)
            if element.get("type") == "ActionSet" and element.get("id") == target
            else element
            for element in content.get("body", [])
        ]
        entities = mentions.used_in(content["body"])
        if entities:
            msteams["entities"] = entities
        else:
            msteams.pop("entities", None)
        return ac.message(f"{title}: {shown}", content, limit=ac.scaled_limit(ac.TEXT_LIMIT, scale))

    return ac.scaled(build)


def _listing(reply: Reminder) -> CommandRef:
    """Name the command that lists the rest: the project's milestones, or its status."""
    if reply.about == "owed":
        return CommandRef("status", (reply.project,))
    return CommandRef("milestone", ("list", reply.project))
