"""Render neutral replies as Slack message arguments: Block Kit blocks, fallback text, metadata."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import cache, partial
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
    UserSelectElement,
)

from bot.text import JOINERS, attached, progress_bar
from flows.display import person_name
from flows.forms import FormField, SectionForm
from flows.replies import (
    Ask,
    Card,
    CommandRef,
    DeepDives,
    Field,
    IntakeDone,
    Reminder,
    Reply,
    Say,
    SectionDone,
    Show,
    spell,
    spell_reply,
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
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Escape text that people typed for Slack mrkdwn, so it never pings, links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _prefix(text: str, budget: int, width: Mapping[str, int]) -> str:
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
    kept = _prefix(text, max(0, limit - len(CUT_NOTE)), {c: len(e) for c, e in _ENTITIES.items()})
    return escape(kept) + CUT_NOTE


def fit_plain(text: str, limit: int) -> str:
    """Cut text for a plain_text object (which Slack shows as typed) to at most `limit`."""
    if len(text) <= limit:
        return text
    return _prefix(text, max(0, limit - len(CUT_NOTE)), {}) + CUT_NOTE


def mention(person: Mapping[str, Any] | None) -> str | None:
    """Return `<@ID>` for a person with a Slack user id, else None."""
    if not person:
        return None
    person_id = person.get("id")
    if isinstance(person_id, str) and SLACK_USER_ID.match(person_id):
        return f"<@{person_id}>"
    return None


def _person(person: Mapping[str, Any], limit: int = 200) -> str:
    """Name a person in mrkdwn: a mention when the id is Slack's, else the escaped name."""
    return mention(person) or fit(person_name(person), limit)


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[_md(text)])


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=fit_plain(text, HEADER_LIMIT)))


def _button(text: str, *, value: str, action_id: str) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=fit_plain(text, BUTTON_TEXT_LIMIT)),
        value=fit_plain(value, BUTTON_VALUE_LIMIT),
        action_id=action_id,
    )


def _text_size(value: Any) -> int:
    """Count the characters of every text inside a block dict, as Slack's running total does."""
    if isinstance(value, dict):
        return sum(
            len(item) if key == "text" and isinstance(item, str) else _text_size(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return sum(_text_size(item) for item in value)
    return 0


def _message(
    text: str, blocks: Sequence[Block | dict[str, Any]], metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Assemble message arguments; to_dict() validates each block against slack_sdk's models.

    A block given as a dict was validated already (`_reminder_actions`).
    """
    dicts = [block if isinstance(block, dict) else block.to_dict() for block in blocks]
    if len(dicts) > MAX_BLOCKS:  # a safety net: the card and question layouts stay under it
        hidden = len(dicts) - MAX_BLOCKS + 1
        dicts = [*dicts[: MAX_BLOCKS - 1], _context(f"… {hidden} more blocks not shown").to_dict()]
    message: dict[str, Any] = {"text": fit(text, TEXT_LIMIT), "blocks": dicts}
    if metadata is not None:
        message["metadata"] = metadata
    return message


def command_text(ref: CommandRef, slash_command: str = SLASH_COMMAND) -> str:
    """Write a command as a person types it in Slack: `/mlplan status Churn`."""
    return "`" + " ".join((slash_command, ref.verb, *ref.args)) + "`"


def render(reply: Reply, *, project_id: int, slash_command: str = SLASH_COMMAND) -> dict[str, Any]:
    """Render one neutral reply as the arguments of chat.postMessage (without channel/thread)."""
    reply = spell_reply(reply, partial(command_text, slash_command=slash_command))
    if isinstance(reply, Ask):
        return _ask(reply, project_id)
    if isinstance(reply, Say):
        return _message(reply.text, [_section(fit(reply.text, SECTION_TEXT_LIMIT))])
    if isinstance(reply, SectionDone):
        payload = {"project_id": project_id, "section_id": reply.section_id}
        event = _event("mlplan_section_complete", payload, reply.card)
        return _card(reply.card, event, slash_command)
    if isinstance(reply, IntakeDone):
        payload = {"project_id": project_id}
        event = _event("mlplan_intake_complete", payload, reply.card)
        return _card(reply.card, event, slash_command)
    if isinstance(reply, Show):
        return _card(reply.card, None, slash_command)
    if isinstance(reply, Reminder):
        return reminder(reply, slash_command=slash_command)
    if isinstance(reply, DeepDives):
        return deep_dives(reply, project_id)
    raise TypeError(f"no Slack rendering for {type(reply).__name__}")


# A reminder shows at most this many items (two blocks each), which keeps it under 50 blocks.
MAX_REMINDER_ITEMS = 20
REMINDER_ACTIONS = (
    ("done", "Done"),
    ("snooze1", "Snooze a day"),
    ("snooze7", "Snooze a week"),
    ("date", "New date"),
)


_REF = "{ref}"


@cache
def _reminder_actions_template() -> dict[str, Any]:
    """Validate a reminder item's row of buttons with slack_sdk once, for a placeholder ref."""
    buttons = [
        _button(label, value=_REF, action_id=f"remind:{verb}:{_REF}")
        for verb, label in REMINDER_ACTIONS
    ]
    return ActionsBlock(elements=buttons).to_dict()


def _reminder_actions(ref: str) -> dict[str, Any]:
    """Render an item's Done, Snooze and New date buttons: the validated row, with its ref.

    slack_sdk's to_dict() of the row took nine tenths of a reminder's rendering; a ref
    (`milestone:12`) is far inside the limits it checks (75 characters of action id here).
    """
    template = _reminder_actions_template()
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


def reminder(reply: Reminder, *, slash_command: str = SLASH_COMMAND) -> dict[str, Any]:
    """Render a batched reminder: each item with Done, Snooze a day, Snooze a week, New date."""
    heading = "You own new items" if reply.new_owner else "Reminder"
    blocks: list[Block] = [_header(f"{heading}: {reply.project}")]
    if reply.note:
        blocks.append(_context(fit(reply.note, CONTEXT_LIMIT)))
    for item in reply.items[:MAX_REMINDER_ITEMS]:
        blocks.append(_section(fit(f"*{item.title}*: {item.reason}", SECTION_TEXT_LIMIT)))
        blocks.append(_reminder_actions(f"{item.kind}:{item.id}"))
    hidden = len(reply.items) - MAX_REMINDER_ITEMS
    if hidden > 0:
        listing = command_text(CommandRef("milestone", ("list", reply.project)), slash_command)
        blocks.append(_context(f"… and {hidden} more: {escape(listing)}"))
    titles = ", ".join(item.title for item in reply.items)
    lead = "You own new items in" if reply.new_owner else "Reminder for"
    return _message(f"{lead} {reply.project}: {titles}", blocks)


# The digest: needs-you lines, a summary that names projects, totals, the trend, then one ranked
# column of projects, each linked to its thread with Status and Snooze buttons (two blocks each).
DIGEST_ACTIONS = (("status", "Status"), ("snooze7", "Snooze a week"))
_TOKEN = re.compile(r"@\{(?P<id>[^|{}\s]+)(?:\|(?P<name>[^{}]*))?\}")


def digest_text(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    """Escape a digest's text for mrkdwn and write its neutral mentions as Slack mentions."""

    def person(match: re.Match[str]) -> str:
        return mention({"id": match["id"]}) or f"@{match['name'] or match['id']}"

    return _TOKEN.sub(person, fit(text, limit))


def _lines(title: str, lines: Sequence[str]) -> SectionBlock:
    body = "\n".join(f"• {digest_text(line, FIELD_TIGHT_LIMIT)}" for line in lines)
    return _section(f"*{title}*\n{body}"[:SECTION_TEXT_LIMIT])


def _link(name: str, url: str | None) -> str:
    label = fit(name, LABEL_LIMIT)
    if url and url.startswith("https://"):
        return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{label.replace('|', '¦')}>"
    return label


def _digest_project(entry, slash_command: str) -> list[Block]:
    """One project of the ranked column: a line of what matters, then its buttons."""
    owner = _person(entry.owner) if entry.owner else None
    head = f"*{entry.rank}. {_link(entry.name, entry.link)}* · {digest_text(entry.headline, 300)}"
    details = [*(digest_text(f, 300) for f in entry.facts), *([f"owner {owner}"] if owner else [])]
    if entry.changed and not entry.delivered:
        details.append("changed")
    text = head + (f"\n{' · '.join(details)}" if details else "")
    buttons = [
        _button(
            label,
            value=entry.name if verb == "status" else str(entry.project_id),
            action_id=f"digest:{verb}:{entry.project_id}",
        )
        for verb, label in DIGEST_ACTIONS
    ]
    return [_section(text[:SECTION_TEXT_LIMIT]), ActionsBlock(elements=buttons)]


def digest_messages(digest, *, slash_command: str = SLASH_COMMAND) -> list[dict[str, Any]]:
    """Render a digest as few messages as Slack's limits allow: ten projects fit in one."""
    command = partial(command_text, slash_command=slash_command)
    head: list[Block] = [_header(digest.title)]
    if digest.needs_you:
        head.append(_lines("Needs you this week", digest.needs_you))
    else:
        head.append(_section("*Needs you this week*: nothing."))
    summary = [
        f"*{fit(f.label, LABEL_LIMIT)}*: {digest_text(spell(f.value, command), 600)}"
        for f in digest.summary
    ]
    if summary:
        head.append(_section("\n".join(summary)[:SECTION_TEXT_LIMIT]))
    if digest.totals:
        totals = [f"*{fit(f.label, LABEL_LIMIT)}*: {fit(f.value, 600)}" for f in digest.totals]
        head.append(_context("\n".join(totals)[:CONTEXT_LIMIT]))
    if digest.trend:
        head.append(_lines("Since the last digest", digest.trend))
    head.append(DividerBlock())
    groups = [[b.to_dict() for b in head]]
    groups += [
        [b.to_dict() for b in _digest_project(entry, slash_command)] for entry in digest.projects
    ]
    groups.append([_context(fit(spell(digest.footer, command), CONTEXT_LIMIT)).to_dict()])
    messages: list[list[dict[str, Any]]] = []
    blocks: list[dict[str, Any]] = []
    for group in groups:
        too_many = len(blocks) + len(group) > MAX_BLOCKS
        too_long = _text_size(blocks) + _text_size(group) > BLOCKS_TEXT_BUDGET
        if blocks and (too_many or too_long):
            messages.append(blocks)
            blocks = []
        blocks.extend(group)
    if blocks:
        messages.append(blocks)
    total = len(messages)
    return [
        {
            "text": fit(
                digest.title if total == 1 else f"{digest.title} ({n} of {total})", TEXT_LIMIT
            ),
            "blocks": part[:MAX_BLOCKS],
        }
        for n, part in enumerate(messages, 1)
    ]


def reminder_after_action(
    blocks: list[dict[str, Any]], *, ref: str, title: str, shown: str, person: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace one item's buttons in a reminder with what was done and by whom; keep the others'."""
    line = f"{fit(title, LABEL_LIMIT)}: {fit(shown, LABEL_LIMIT)} ({_person(person)})"
    suffix = f":{ref}"
    changed = [
        _context(line).to_dict()
        if block.get("type") == "actions"
        and any(e.get("action_id", "").endswith(suffix) for e in block.get("elements", []))
        else block
        for block in blocks
    ]
    return {"text": fit(f"{title}: {shown}", TEXT_LIMIT), "blocks": changed}


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
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{fit(title, LABEL_LIMIT)}*"}},
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
    who = _person(person)
    text = f"*{fit(title, LABEL_LIMIT)}*: {fit(shown, FIELD_LIMIT)} ({who})"
    return _message(f"{title}: {shown}", [_section(text)])


def _event(event_type: str, payload: dict[str, Any], card: Card) -> dict[str, Any]:
    if card.progress is not None:
        payload["progress"] = list(card.progress)
    return {"event_type": event_type, "event_payload": payload}


def _ask(ask: Ask, project_id: int) -> dict[str, Any]:
    question = ask.question
    blocks: list[Block] = []
    if ask.refusal:
        warning = ":warning: "
        blocks.append(_section(warning + fit(ask.refusal, SECTION_TEXT_LIMIT - len(warning))))
    elif ask.opens_section:
        blocks.append(_header(f"{ask.section.order}. {ask.section.title}"))
        blocks.append(_context(fit(ask.section.intro, CONTEXT_LIMIT)))
    blocks.append(_section(fit(question.prompt, SECTION_TEXT_LIMIT)))
    if ask.current is not None:
        after = ". Reply to change it, or `keep` to keep it."
        budget = CONTEXT_LIMIT - len("Current answer: ") - len(after)
        blocks.append(_context(f"Current answer: {fit(ask.current, budget)}{after}"))
    where = f"Question {ask.number} of {ask.total} · e.g. "
    blocks.append(_context(where + fit(question.example, CONTEXT_LIMIT - len(where))))
    buttons = _buttons(ask, project_id)
    for start in range(0, len(buttons), MAX_ACTIONS):
        blocks.append(ActionsBlock(elements=buttons[start : start + MAX_ACTIONS]))
    return _message(
        question.prompt,
        blocks,
        {"event_type": "mlplan_question", "event_payload": ask.metadata(project_id)},
    )


def _buttons(ask: Ask, project_id: int) -> list[ButtonElement]:
    qid = ask.question.id
    buttons = []
    if ask.question.kind == "choice":
        buttons = [
            _button(choice, value=choice, action_id=f"answer:{qid}:{index}")
            for index, choice in enumerate(ask.question.choices)
        ]
    elif ask.question.kind == "yesno":
        buttons = [
            _button("Yes", value="yes", action_id=f"answer:{qid}:yes"),
            _button("No", value="no", action_id=f"answer:{qid}:no"),
        ]
    buttons.append(_button("Skip", value="skip", action_id=f"skip:{qid}"))
    buttons.append(_button("Answer later", value="later", action_id=f"later:{qid}"))
    if ask.opens_section and project_id:
        buttons.append(form_button(ask.section.id, project_id))
    return buttons


# A deep dive's row of actions: its block_id names the project and section they act on.
DEEP_BLOCK = "deep"
DEEP_ACTIONS = ("start", "assign", "later")
# Two blocks a deep dive, under Slack's 50 blocks per message with room to spare.
MAX_DEEP_DIVES = 20


def deep_dives(reply: DeepDives, project_id: int) -> dict[str, Any]:
    """Render the deep dives on offer: each with Start now, a person to assign it to, and Later."""
    blocks: list[Block] = [_section(fit(reply.text, SECTION_TEXT_LIMIT))]
    for offered in reply.sections[:MAX_DEEP_DIVES]:
        count = (
            "1 question" if offered.open_questions == 1 else f"{offered.open_questions} questions"
        )
        blocks.append(_section(f"*{fit(offered.title, LABEL_LIMIT)}* · {count}"))
        sid = offered.section_id
        blocks.append(
            ActionsBlock(
                block_id=f"{DEEP_BLOCK}:{project_id}:{sid}",
                elements=[
                    _button("Start now", value=sid, action_id=f"deep:start:{sid}"),
                    UserSelectElement(
                        placeholder=PlainTextObject(text="Assign to…"),
                        action_id=f"deep:assign:{sid}",
                    ),
                    _button("Later", value=sid, action_id=f"deep:later:{sid}"),
                ],
            )
        )
    return _message(str(reply.text), blocks)


FORM_BUTTON = "Fill in as a form"
FORM_CALLBACK = "mlplan_section_form"
FORM_ACTION = "value"  # the action_id of every field of a form; its block_id is the question's id
MAX_VIEW_BLOCKS = 100
VIEW_TITLE_LIMIT = 24
LABEL_TEXT_LIMIT = 2000
HINT_LIMIT = 2000
PLACEHOLDER_LIMIT = 150
INPUT_VALUE_LIMIT = 3000  # what a plain_text_input holds at most
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
MAX_OPTIONS = 100


def form_button(section_id: str, project_id: int) -> ButtonElement:
    """Make the button that opens a section's form; its value names the project."""
    return _button(FORM_BUTTON, value=str(project_id), action_id=f"form:{section_id}")


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": fit_plain(text, limit) or "…"}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain_text(text, OPTION_TEXT_LIMIT), "value": value}


def _choice_value(choice: str, index: int) -> str:
    """Name a choice in a select: by its text (which the parser reads), by number if too long."""
    return choice if 0 < len(choice) <= OPTION_VALUE_LIMIT else str(index + 1)


def _form_element(field: FormField) -> tuple[dict[str, Any], str | None]:
    """Return a form field's input element, and a note for its hint when it could not prefill."""
    question, initial = field.question, field.initial
    note = None
    if question.kind == "number":
        element: dict[str, Any] = {"type": "number_input", "is_decimal_allowed": True}
        if initial is not None:
            element["initial_value"] = initial
    elif question.kind == "date":
        element = {"type": "datepicker"}
        if initial is not None:
            element["initial_date"] = initial
    elif question.kind == "user":
        element = {"type": "users_select", "placeholder": _plain_text("Pick a person", 150)}
        person_id = (field.value or {}).get("id")
        if isinstance(person_id, str) and SLACK_USER_ID.match(person_id):
            element["initial_user"] = person_id
        elif field.value:
            note = f"Now: {person_name(field.value)}. Leave empty to keep it."
    elif question.kind in ("choice", "yesno") and len(question.choices) <= MAX_OPTIONS:
        pairs = (
            [("Yes", "yes"), ("No", "no")]
            if question.kind == "yesno"
            else [(c, _choice_value(c, i)) for i, c in enumerate(question.choices)]
        )
        options = [_option(text, value) for text, value in pairs]
        kind = "radio_buttons" if question.kind == "yesno" else "static_select"
        element = {"type": kind, "options": options}
        if kind == "static_select":
            element["placeholder"] = _plain_text("Choose one", 150)
        chosen = [o for (text, _), o in zip(pairs, options, strict=True) if text == initial]
        chosen = chosen or [o for o in options if o["value"] == initial]
        if chosen:
            element["initial_option"] = chosen[0]
    else:
        element = {"type": "plain_text_input", "max_length": INPUT_VALUE_LIMIT}
        if question.kind == "text":
            element["multiline"] = True
        else:
            element["placeholder"] = _plain_text(question.example, PLACEHOLDER_LIMIT)
        if initial is not None and len(initial) <= INPUT_VALUE_LIMIT:
            element["initial_value"] = initial
        elif initial is not None:
            note = "The current answer is too long to show here: leave empty to keep it."
    element["action_id"] = FORM_ACTION
    return element, note


def section_modal(form: SectionForm, *, context: str) -> dict[str, Any]:
    """Build the modal of a section's form: each question that applies as a native input.

    A modal holds at most 100 blocks: questions beyond are left out, and the form says so.
    """
    section = form.section
    head = [
        _section(
            fit(
                f"*{form.project}* · {section.order}. {section.title}\n{section.intro}",
                SECTION_TEXT_LIMIT,
            )
        ).to_dict(),
        _context(
            "Each answer is read as a typed one would be. A field left empty keeps its answer."
        ).to_dict(),
    ]
    room = MAX_VIEW_BLOCKS - len(head)
    fields = list(form.fields)
    shown = fields if len(fields) <= room else fields[: room - 1]
    blocks = list(head)
    for field in shown:
        element, note = _form_element(field)
        hint = field.question.prompt + (f"\n{note}" if note else "")
        blocks.append(
            {
                "type": "input",
                "block_id": field.question.id,
                "optional": True,
                "label": _plain_text(field.question.label, LABEL_TEXT_LIMIT),
                "hint": _plain_text(hint, HINT_LIMIT),
                "element": element,
            }
        )
    hidden = len(fields) - len(shown)
    if hidden:
        more = f"… {hidden} more questions do not fit in one form: answer them in the thread."
        blocks.append(_context(more).to_dict())
    title = section.title if len(section.title) <= VIEW_TITLE_LIMIT else "Fill in a section"
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": context,
        "title": _plain_text(title, VIEW_TITLE_LIMIT),
        "submit": _plain_text("Save", VIEW_TITLE_LIMIT),
        "close": _plain_text("Cancel", VIEW_TITLE_LIMIT),
        "blocks": blocks,
    }


def _field_text(field: Field, limit: int) -> str:
    """Write one field as `*label*` over its value, with the person as a mention when known."""
    head = f"*{fit(field.label, LABEL_LIMIT)}*\n"
    room = limit - len(head)
    tag = mention(field.person)
    if tag and field.person is not None:
        name = person_name(field.person)
        before, found, after = field.value.partition(name)
        if not found:  # the value does not name the person as we would: name them first
            before, after = "", f" · {field.value}" if field.value else ""
        lead = escape(before) + tag
        if len(lead) + len(CUT_NOTE) < room:
            return head + lead + fit(after, room - len(lead))
    return head + fit(field.value, room)


def _more_note(hidden: int, slash_command: str) -> ContextBlock:
    fields = "field" if hidden == 1 else "fields"
    status = command_text(CommandRef("status", ("<project>",)), slash_command)
    return _context(escape(f"… {hidden} more {fields} not shown: see {status} or `mlplan export`"))


def _card(card: Card, metadata: dict[str, Any] | None, slash_command: str) -> dict[str, Any]:
    """Lay a card out as header, progress, fields (10 to a section), warnings and footer."""
    head: list[Block] = [_header(card.title)]
    if card.progress is not None:
        done, total = card.progress
        head.append(_context(f"{progress_bar(done, total)}  {done} of {total} questions answered"))
    tail: list[Block] = []
    if card.warnings:
        warnings = "\n".join(f":warning: {w}" for w in card.warnings)
        tail.append(_section(fit(warnings, SECTION_TEXT_LIMIT)))
    if card.footer:
        tail.append(_context(fit(card.footer, CONTEXT_LIMIT)))

    fixed_size = sum(_text_size(block.to_dict()) for block in head + tail)
    texts = [_field_text(field, FIELD_LIMIT) for field in card.fields]
    if fixed_size + sum(map(len, texts)) > BLOCKS_TEXT_BUDGET:
        texts = [_field_text(field, FIELD_TIGHT_LIMIT) for field in card.fields]

    def fits(count: int, note: bool) -> bool:
        blocks = len(head) + len(tail) + math.ceil(count / MAX_FIELDS) + note
        note_size = len(_more_note(len(texts), slash_command).elements[0].text) if note else 0
        size = fixed_size + sum(map(len, texts[:count])) + note_size
        return blocks <= MAX_BLOCKS and size <= BLOCKS_TEXT_BUDGET

    shown = len(texts)
    if not fits(shown, note=False):
        shown = 0
        while shown < len(texts) and fits(shown + 1, note=True):
            shown += 1
    kept = texts[:shown]
    body: list[Block] = [
        SectionBlock(fields=[_md(text) for text in kept[start : start + MAX_FIELDS]])
        for start in range(0, shown, MAX_FIELDS)
    ]
    if shown < len(texts):
        body.append(_more_note(len(texts) - shown, slash_command))
    return _message(card.title, head + body + tail, metadata)


def parent_message(*, name: str, owner: dict, progress: tuple[int, int]) -> dict[str, Any]:
    """Render the intake's parent message: the project, its owner and how far the intake is."""
    done, total = progress
    title = fit(name, 500)
    who = _person(owner)
    line = f"Progress: {done} of {total} questions {progress_bar(done, total)}"
    return _message(
        f"Planning {name}, owned by {person_name(owner)}",
        [_section(f"*Planning {title}*\nOwner: {who}"), _context(line)],
    )


def answered_note(*, question_label: str, shown: str, person: dict) -> dict[str, Any]:
    """Render what replaces a question once a button answered it: the answer, and no buttons."""
    label = fit(question_label, LABEL_LIMIT)
    who = _person(person)
    after = f" (answered by {who})"
    text = f"*{label}*: {fit(shown, SECTION_TEXT_LIMIT - len(label) - 4 - len(after))}{after}"
    return _message(f"{question_label}: {shown}", [_section(text)])


def ephemeral_text(text: str) -> dict[str, Any]:
    """Render a short private answer (help, an error) as plain message text."""
    return {"text": fit(text, TEXT_LIMIT)}
