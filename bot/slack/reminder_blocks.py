"""Render reminders for Slack: the items due with Done, Snooze and New date, what people owe
(a question left for later, a section assigned) with Answer now, and what follows."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
)

from bot.slack import blocks as bk
from flows.replies import (
    CommandRef,
    Reminder,
)

# A reminder shows at most this many items (two blocks each), which keeps it under 50 blocks.
MAX_REMINDER_ITEMS = 20
REMINDER_ACTIONS = (
    ("done", "Done"),
    ("snooze1", "Snooze a day"),
    ("snooze7", "Snooze a week"),
    ("date", "New date"),
)
# What a question left for later and a section owed offer instead.
OWED_ACTIONS = {
    "question": (("answer", "Answer now"), ("snooze7", "Snooze a week"), ("skip", "Skip")),
    "owed": (("answer", "Continue"),),
}
HEADINGS = {
    "items": ("Reminder", "Reminder for"),
    "owed": ("Waiting for you", "Waiting for you in"),
}


_REF = "{ref}"


@cache
def _reminder_actions_template(kind: str = "milestone") -> dict[str, Any]:
    """Validate a reminder item's row of buttons with slack_sdk once, for a placeholder ref."""
    buttons = [
        bk.button(label, value=_REF, action_id=f"remind:{verb}:{_REF}")
        for verb, label in OWED_ACTIONS.get(kind, REMINDER_ACTIONS)
    ]
    return ActionsBlock(elements=buttons).to_dict()


def _reminder_actions(ref: str) -> dict[str, Any]:
    """Render an item's buttons (Done, Snooze, New date; Answer now, Skip…): the validated row.

    slack_sdk's to_dict() of the row took nine tenths of a reminder's rendering; a ref
    (`milestone:12`) is far inside the limits it checks (75 characters of action id here).
    """
    template = _reminder_actions_template(ref.split(":")[0])
    return {
        **template,
        "elements": [
            {
                **button,
                "text": dict(button["text"]),
                "value": ref,
                "action_id": button["action_id"].replace(_REF, ref),
            }
            for button in template["elements"]
        ],
    }


def reminder(reply: Reminder, *, slash_command: str = bk.SLASH_COMMAND) -> dict[str, Any]:
    """Render a batched reminder: each item with Done, Snooze a day, Snooze a week, New date."""
    heading, lead = HEADINGS.get(reply.about, HEADINGS["items"])
    if reply.new_owner:
        heading, lead = "You own new items", "You own new items in"
    blocks: list[Block] = [bk.header(f"{heading}: {reply.project}")]
    if reply.note:
        blocks.append(bk.context(bk.fit(reply.note, bk.CONTEXT_LIMIT)))
    for item in reply.items[:MAX_REMINDER_ITEMS]:
        blocks.append(bk.section(bk.fit(f"*{item.title}*: {item.reason}", bk.SECTION_TEXT_LIMIT)))
        blocks.append(_reminder_actions(f"{item.kind}:{item.id}"))
    hidden = len(reply.items) - MAX_REMINDER_ITEMS
    if hidden > 0:
        listing = bk.command_text(_listing(reply), slash_command)
        blocks.append(bk.context(f"… and {hidden} more: {bk.escape(listing)}"))
    titles = ", ".join(item.title for item in reply.items)
    return bk.message(f"{lead} {reply.project}: {titles}", blocks)


def reminder_after_action(
    blocks: list[dict[str, Any]], *, ref: str, title: str, shown: str, person: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace one item's buttons in a reminder with what was done and by whom; keep the others'."""
    line = f"{bk.fit(title, bk.LABEL_LIMIT)}: {bk.fit(shown, bk.LABEL_LIMIT)} ({bk.person_text(person)})"
    suffix = f":{ref}"
    changed = [
        bk.context(line).to_dict()
        if block.get("type") == "actions"
        and any(e.get("action_id", "").endswith(suffix) for e in block.get("elements", []))
        else block
        for block in blocks
    ]
    return {"text": bk.fit(f"{title}: {shown}", bk.TEXT_LIMIT), "blocks": changed}


def new_date_modal(*, ref: str, title: str, due: str | None, context: str) -> dict[str, Any]:
    """Build the modal that asks for an item's new due date (a date picker)."""
    picker: dict[str, Any] = {"type": "datepicker", "action_id": "date"}
    if due:
        picker["initial_date"] = due
    return {
        "type": "modal",
        "callback_id": "mlplan_new_date",
        "private_metadata": context,
        "title": {"type": "plain_text", "text": "New date"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{bk.fit(title, bk.LABEL_LIMIT)}*"},
            },
            {
                "type": "input",
                "block_id": "due",
                "label": {"type": "plain_text", "text": "Due on"},
                "element": picker,
            },
        ],
    }


def reminder_outcome(*, title: str, shown: str, person: Mapping[str, Any]) -> dict[str, Any]:
    """Render what replaces a reminder once someone acted on it: the choice, who made it, no buttons."""
    who = bk.person_text(person)
    text = f"*{bk.fit(title, bk.LABEL_LIMIT)}*: {bk.fit(shown, bk.FIELD_LIMIT)} ({who})"
    return bk.message(f"{title}: {shown}", [bk.section(text)])


def _listing(reply: Reminder) -> CommandRef:
    """Name the command that lists the rest: the project's milestones, or its status."""
    if reply.about == "owed":
        return CommandRef("status", (reply.project,))
    return CommandRef("milestone", ("list", reply.project))
