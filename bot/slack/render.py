"""Render neutral replies as Slack message arguments: Block Kit blocks, fallback text, metadata."""

from __future__ import annotations

import math
from functools import lru_cache, partial
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    PlainTextObject,
    SectionBlock,
    UserSelectElement,
)

from bot.slack import blocks as bk
from bot.slack import modals, reminder_blocks
from bot.text import progress_bar
from flows.counting import counted
from flows.display import person_name
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
    spell_reply,
)


def render(
    reply: Reply, *, project_id: int, slash_command: str = bk.SLASH_COMMAND
) -> dict[str, Any]:
    """Render one neutral reply as the arguments of chat.postMessage (without channel/thread)."""
    reply = spell_reply(reply, partial(bk.command_text, slash_command=slash_command))
    if isinstance(reply, Ask):
        return _ask(reply, project_id)
    if isinstance(reply, Say):
        return bk.message(reply.text, [bk.section(bk.fit(reply.text, bk.SECTION_TEXT_LIMIT))])
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
        return reminder_blocks.reminder(reply, slash_command=slash_command)
    if isinstance(reply, DeepDives):
        return deep_dives(reply, project_id)
    raise TypeError(f"no Slack rendering for {type(reply).__name__}")


def _event(event_type: str, payload: dict[str, Any], card: Card) -> dict[str, Any]:
    if card.progress is not None:
        payload["progress"] = list(card.progress)
    return {"event_type": event_type, "event_payload": payload}


# How a question marks the answer just saved, and a question asked again about its answer.
SAVED = ":white_check_mark: "
KEEP = "keep"
FOLLOW_UP = ":point_right: "


def _ask(ask: Ask, project_id: int) -> dict[str, Any]:
    question = ask.question
    blocks: list[Block | dict[str, Any]] = []
    if ask.confirmation:
        blocks.append(bk.context(SAVED + bk.fit(ask.confirmation, bk.CONTEXT_LIMIT - len(SAVED))))
    if ask.refusal:
        warning = ":warning: "
        blocks.append(
            bk.section(warning + bk.fit(ask.refusal, bk.SECTION_TEXT_LIMIT - len(warning)))
        )
    elif ask.follow_up:
        limit = bk.SECTION_TEXT_LIMIT - len(FOLLOW_UP)
        blocks.append(bk.section(FOLLOW_UP + bk.fit(ask.follow_up, limit)))
    elif ask.opens_section:
        blocks.append(bk.header(f"{ask.section.order}. {ask.section.title}"))
        blocks.append(bk.context(bk.fit(ask.section.intro, bk.CONTEXT_LIMIT)))
    prompt, example = bk.copied(
        _asked(question.prompt, f"Question {ask.number} of {ask.total} · e.g. ", question.example)
    )
    blocks.append(prompt)
    if ask.current is not None:
        after = ". Reply to change it, or `keep` to keep it."
        budget = bk.CONTEXT_LIMIT - len("Current answer: ") - len(after)
        blocks.append(bk.context(f"Current answer: {bk.fit(ask.current, budget)}{after}"))
    blocks.append(example)
    form = (ask.section.id, project_id) if ask.opens_section and project_id else None
    keep = bool(ask.follow_up)
    blocks.extend(bk.copied(_actions(question.id, question.kind, question.choices, keep, form)))
    return bk.message(
        ask.follow_up or question.prompt,
        blocks,
        {"event_type": "mlplan_question", "event_payload": ask.metadata(project_id)},
    )


# A question's own blocks are the same each time it is asked: validated and laid out once
# (slack_sdk's to_dict() was most of an answer's rendering), copied for each message.
@lru_cache(maxsize=1024)
def _asked(prompt: str, where: str, example: str) -> tuple[dict[str, Any], ...]:
    """The question's prompt, and where it stands with an example answer."""
    return (
        bk.section(bk.fit(prompt, bk.SECTION_TEXT_LIMIT)).to_dict(),
        bk.context(where + bk.fit(example, bk.CONTEXT_LIMIT - len(where))).to_dict(),
    )


@lru_cache(maxsize=1024)
def _actions(
    qid: str, kind: str, choices: tuple[str, ...] | None, keep: bool, form: tuple[str, int] | None
) -> tuple[dict[str, Any], ...]:
    """The question's buttons: its choices, then Keep (a follow-up) or Skip and Answer later.

    `form`: the section and project whose form a section's first question offers to open.
    """
    buttons = []
    if kind == "choice":
        buttons = [
            bk.button(choice, value=choice, action_id=f"answer:{qid}:{index}")
            for index, choice in enumerate(choices or ())
        ]
    elif kind == "yesno":
        buttons = [
            bk.button("Yes", value="yes", action_id=f"answer:{qid}:yes"),
            bk.button("No", value="no", action_id=f"answer:{qid}:no"),
        ]
    if keep:  # its answer is saved: keeping it is what skipping or later would do
        buttons.append(bk.button("Keep", value=KEEP, action_id=f"answer:{qid}:{KEEP}"))
    else:
        buttons.append(bk.button("Skip", value="skip", action_id=f"skip:{qid}"))
        buttons.append(bk.button("Answer later", value="later", action_id=f"later:{qid}"))
        if form is not None:
            buttons.append(modals.form_button(*form))
    return tuple(
        ActionsBlock(elements=buttons[start : start + bk.MAX_ACTIONS]).to_dict()
        for start in range(0, len(buttons), bk.MAX_ACTIONS)
    )


# A deep dive's row of actions: its block_id names the project and section they act on.
DEEP_BLOCK = "deep"
DEEP_ACTIONS = ("start", "assign", "later")
# Two blocks a deep dive, under Slack's 50 blocks per message with room to spare.
MAX_DEEP_DIVES = 20


def deep_dives(reply: DeepDives, project_id: int) -> dict[str, Any]:
    """Render the deep dives on offer: each with Start now, a person to assign it to, and Later."""
    blocks: list[Block] = [bk.section(bk.fit(reply.text, bk.SECTION_TEXT_LIMIT))]
    for offered in reply.sections[:MAX_DEEP_DIVES]:
        count = counted(offered.open_questions, "question")
        blocks.append(bk.section(f"*{bk.fit(offered.title, bk.LABEL_LIMIT)}* · {count}"))
        sid = offered.section_id
        blocks.append(
            ActionsBlock(
                block_id=f"{DEEP_BLOCK}:{project_id}:{sid}",
                elements=[
                    bk.button("Start now", value=sid, action_id=f"deep:start:{sid}"),
                    UserSelectElement(
                        placeholder=PlainTextObject(text="Assign to…"),
                        action_id=f"deep:assign:{sid}",
                    ),
                    bk.button("Later", value=sid, action_id=f"deep:later:{sid}"),
                ],
            )
        )
    return bk.message(str(reply.text), blocks)


def _field_text(field: Field, limit: int) -> str:
    """Write one field as `*label*` over its value, with the person as a mention when known."""
    head = f"*{bk.fit(field.label, bk.LABEL_LIMIT)}*\n"
    room = limit - len(head)
    tag = bk.mention(field.person)
    if tag and field.person is not None:
        name = person_name(field.person)
        before, found, after = field.value.partition(name)
        if not found:  # the value does not name the person as we would: name them first
            before, after = "", f" · {field.value}" if field.value else ""
        lead = bk.escape(before) + tag
        if len(lead) + len(bk.CUT_NOTE) < room:
            return head + lead + bk.fit(after, room - len(lead))
    return head + bk.fit(field.value, room)


def _more_note(hidden: int, slash_command: str) -> ContextBlock:
    status = bk.command_text(CommandRef("status", ("<project>",)), slash_command)
    more = counted(hidden, "more field")
    return bk.context(bk.escape(f"… {more} not shown: see {status} or `mlplan export`"))


def _card(card: Card, metadata: dict[str, Any] | None, slash_command: str) -> dict[str, Any]:
    """Lay a card out as header, progress, fields (10 to a section), warnings and footer."""
    head: list[Block] = [bk.header(card.title)]
    if card.progress is not None:
        done, total = card.progress
        head.append(
            bk.context(
                f"{progress_bar(done, total)}  {done} of {counted(total, 'question')} answered"
            )
        )
    tail: list[Block] = []
    if card.warnings:
        warnings = "\n".join(f":warning: {w}" for w in card.warnings)
        tail.append(bk.section(bk.fit(warnings, bk.SECTION_TEXT_LIMIT)))
    if card.footer:
        tail.append(bk.context(bk.fit(card.footer, bk.CONTEXT_LIMIT)))

    fixed_size = sum(bk.text_size(block.to_dict()) for block in head + tail)
    texts = [_field_text(field, bk.FIELD_LIMIT) for field in card.fields]
    if fixed_size + sum(map(len, texts)) > bk.BLOCKS_TEXT_BUDGET:
        texts = [_field_text(field, bk.FIELD_TIGHT_LIMIT) for field in card.fields]

    def fits(count: int, note: bool) -> bool:
        blocks = len(head) + len(tail) + math.ceil(count / bk.MAX_FIELDS) + note
        note_size = len(_more_note(len(texts), slash_command).elements[0].text) if note else 0
        size = fixed_size + sum(map(len, texts[:count])) + note_size
        return blocks <= bk.MAX_BLOCKS and size <= bk.BLOCKS_TEXT_BUDGET

    shown = len(texts)
    if not fits(shown, note=False):
        shown = 0
        while shown < len(texts) and fits(shown + 1, note=True):
            shown += 1
    kept = texts[:shown]
    body: list[Block] = [
        SectionBlock(fields=[bk.md(text) for text in kept[start : start + bk.MAX_FIELDS]])
        for start in range(0, shown, bk.MAX_FIELDS)
    ]
    if shown < len(texts):
        body.append(_more_note(len(texts) - shown, slash_command))
    return bk.message(card.title, head + body + tail, metadata)


def parent_message(*, name: str, owner: dict, progress: tuple[int, int]) -> dict[str, Any]:
    """Render the intake's parent message: the project, its owner and how far the intake is."""
    done, total = progress
    title = bk.fit(name, 500)
    who = bk.person_text(owner)
    line = f"Progress: {done} of {counted(total, 'question')} {progress_bar(done, total)}"
    return bk.message(
        f"Planning {name}, owned by {person_name(owner)}",
        [bk.section(f"*Planning {title}*\nOwner: {who}"), bk.context(line)],
    )


def answered_note(*, question_label: str, shown: str, person: dict) -> dict[str, Any]:
    """Render what replaces a question once a button answered it: the answer, and no buttons."""
    label = bk.fit(question_label, bk.LABEL_LIMIT)
    who = bk.person_text(person)
    after = f" (answered by {who})"
    text = f"*{label}*: {bk.fit(shown, bk.SECTION_TEXT_LIMIT - len(label) - 4 - len(after))}{after}"
    return bk.message(f"{question_label}: {shown}", [bk.section(text)])


def ephemeral_text(text: str) -> dict[str, Any]:
    """Render a short private answer (help, an error) as plain message text."""
    return {"text": bk.fit(text, bk.TEXT_LIMIT)}
