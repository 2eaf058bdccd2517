"""Render a section as one Slack modal: native inputs, prefilled, checked per field."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ButtonElement,
)

from bot.slack import blocks as bk
from flows.counting import counted
from flows.display import person_name
from flows.forms import FormField, SectionForm

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
    return bk.button(FORM_BUTTON, value=str(project_id), action_id=f"form:{section_id}")


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": bk.fit_plain(text, limit) or "…"}


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
        if isinstance(person_id, str) and bk.SLACK_USER_ID.match(person_id):
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
        bk.section(
            bk.fit(
                f"*{form.project}* · {section.order}. {section.title}\n{section.intro}",
                bk.SECTION_TEXT_LIMIT,
            )
        ).to_dict(),
        bk.context(
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
        verb = "does" if hidden == 1 else "do"
        more = f"… {counted(hidden, 'more question')} {verb} not fit in one form: answer in the thread."
        blocks.append(bk.context(more).to_dict())
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
