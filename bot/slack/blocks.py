"""Block Kit primitives for Slack: limits, escaping, mentions, blocks, message arguments.

Every Slack renderer builds on these; nothing here knows a reply type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.text import JOINERS, attached
from flows.display import person_name
from flows.replies import (
    CommandRef,
)

SLASH_COMMAND = "/mlplan"  # MLPLAN_SLASH_COMMAND's default; callers pass the configured one

# Slack's limits. slack_sdk checks some of them in to_dict() and raises; these make sure we
# never get there, and cover what it does not check at all (block count, mrkdwn lengths).
MAX_BLOCKS = 50
MAX_ACTIONS = 25  # elements in one actions block
MAX_FIELDS = 10  # fields in one section block
TEXT_LIMIT = 3000  # a message's fallback `text` (and a short ephemeral answer)
SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
CONTEXT_LIMIT = 2000  # one context element
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
# Slack refuses a message whose blocks hold more than about 12,000 characters of text in all
# (`msg_blocks_too_long`, undocumented); stay well under it.
BLOCKS_TEXT_BUDGET = 10_000
# When a card's fields would break that budget, each value is first cut this short.
FIELD_TIGHT_LIMIT = 300
LABEL_LIMIT = 200  # a field's label, before its value
CUT_NOTE = " … (cut)"
WORD_SLACK = 40  # cut at a space if there is one this close to the limit

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Escape text that people typed for Slack mrkdwn, so it never pings, links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def prefix(text: str, budget: int, width: Mapping[str, int]) -> str:
    """Return the longest prefix of text whose width fits the budget, ending at a safe point."""
    size = 0
    end = 0
    for char in text:
        size += width.get(char, 1)
        if size > budget:
            break
        end += 1
    while 0 < end < len(text) and (attached(text[end]) or text[end - 1] in JOINERS):
        end -= 1
    space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
    if space > 0 and end - space <= WORD_SLACK:
        end = space
    return text[:end].rstrip()


def fit(text: str, limit: int) -> str:
    """Escape typed text for mrkdwn, cut so that the result is at most `limit` characters.

    The cut is made in the text before escaping, so an entity like `&amp;` is never split.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    kept = prefix(text, max(0, limit - len(CUT_NOTE)), {c: len(e) for c, e in ENTITIES.items()})
    return escape(kept) + CUT_NOTE


def fit_plain(text: str, limit: int) -> str:
    """Cut text for a plain_text object (which Slack shows as typed) to at most `limit`."""
    if len(text) <= limit:
        return text
    return prefix(text, max(0, limit - len(CUT_NOTE)), {}) + CUT_NOTE


def mention(person: Mapping[str, Any] | None) -> str | None:
    """Return `<@ID>` for a person with a Slack user id, else None."""
    if not person:
        return None
    person_id = person.get("id")
    if isinstance(person_id, str) and SLACK_USER_ID.match(person_id):
        return f"<@{person_id}>"
    return None


def person_text(person: Mapping[str, Any], limit: int = 200) -> str:
    """Name a person in mrkdwn: a mention when the id is Slack's, else the escaped name."""
    return mention(person) or fit(person_name(person), limit)


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def section(text: str) -> SectionBlock:
    return SectionBlock(text=md(text))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=fit_plain(text, HEADER_LIMIT)))


def button(text: str, *, value: str, action_id: str) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=fit_plain(text, BUTTON_TEXT_LIMIT)),
        value=fit_plain(value, BUTTON_VALUE_LIMIT),
        action_id=action_id,
    )


def text_size(value: Any) -> int:
    """Count the characters of every text inside a block dict, as Slack's running total does."""
    if isinstance(value, dict):
        return sum(
            len(item) if key == "text" and isinstance(item, str) else text_size(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return sum(text_size(item) for item in value)
    return 0


def message(
    text: str, blocks: Sequence[Block | dict[str, Any]], metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Assemble message arguments; to_dict() validates each block against slack_sdk's models.

    A block given as a dict was validated already (`_reminder_actions`).
    """
    dicts = [block if isinstance(block, dict) else block.to_dict() for block in blocks]
    if len(dicts) > MAX_BLOCKS:  # a safety net: the card and question layouts stay under it
        hidden = len(dicts) - MAX_BLOCKS + 1
        dicts = [*dicts[: MAX_BLOCKS - 1], context(f"… {hidden} more blocks not shown").to_dict()]
    message: dict[str, Any] = {"text": fit(text, TEXT_LIMIT), "blocks": dicts}
    if metadata is not None:
        message["metadata"] = metadata
    return message


def copied(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copy blocks laid out once (and cached), so that no message shares a dict with another.

    Blocks are JSON (dicts, lists, scalars): copying just those takes a third of deepcopy's time.
    """
    return [_copy(block) for block in blocks]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def command_text(ref: CommandRef, slash_command: str = SLASH_COMMAND) -> str:
    """Write a command as a person types it in Slack: `/mlplan status Churn`."""
    return "`" + " ".join((slash_command, ref.verb, *ref.args)) + "`"
