"""Render a section as one Teams form: an Adaptive Card of `Input.*` fields, prefilled."""

from __future__ import annotations

from typing import Any

from bot.teams import adaptive as ac
from flows.display import person_name
from flows.forms import FormField, SectionForm


def form_input_id(question_id: str) -> str:
    """Name a form's input for one question; Teams sends its value beside the Save button's data."""
    return f"q:{question_id}"


def _number_value(text: str | None) -> int | float | None:
    try:
        number = float(text) if text else None
    except ValueError:
        return None
    return int(number) if number is not None and number.is_integer() else number


def _form_input(field: FormField, scale: float) -> tuple[dict[str, Any], str | None]:
    """Return a form field's input, and the text it shows of a person (to tell it unchanged)."""
    question = field.question
    shown = field.entered if field.entered is not None else field.initial
    label = ac.fit(question.label, ac.scaled_limit(ac.LABEL_LIMIT, scale))
    element: dict[str, Any] = {"id": form_input_id(question.id), "label": label}
    person = None
    if question.kind == "number":
        element["type"] = "Input.Number"
        number = _number_value(shown)
        if number is not None:
            element["value"] = number
    elif question.kind == "date":
        element["type"] = "Input.Date"
        if shown:
            element["value"] = shown
    elif question.kind in ("choice", "yesno"):
        pairs = (
            [("Yes", "yes"), ("No", "no")]
            if question.kind == "yesno"
            else [(c, c) for c in question.choices]
        )
        element |= {
            "type": "Input.ChoiceSet",
            "style": "expanded" if question.kind == "yesno" else "compact",
            "choices": [{"title": ac.plain(t, ac.TITLE_LIMIT), "value": v} for t, v in pairs],
        }
        if shown in {v for _, v in pairs}:
            element["value"] = shown
    else:
        element["type"] = "Input.Text"
        if question.kind == "text":
            element["isMultiline"] = True
        else:
            element["placeholder"] = ac.plain(
                question.example, ac.scaled_limit(ac.NOTE_LIMIT, scale)
            )
        if question.kind == "user" and field.entered is None and field.value:
            shown = person = ac.plain(person_name(field.value), ac.NAME_LIMIT)
        if shown:
            element["value"] = shown
    if field.error:
        element["errorMessage"] = ac.plain(field.error, ac.scaled_limit(ac.BLOCK_LIMIT, scale))
    return element, person


def section_form(form: SectionForm, scale: float) -> dict[str, Any]:
    """Render a section's form: each question that applies as an input, prefilled, one Save.

    A refused field shows why under its input, in red; the others keep what was entered.
    """
    section = form.section
    title = f"{section.order}. {section.title}"
    body = [
        ac.heading(ac.fit(title, ac.scaled_limit(ac.TITLE_LIMIT, scale))),
        ac.subtle(
            ac.fit(f"{form.project} · {section.intro}", ac.scaled_limit(ac.NOTE_LIMIT, scale))
        ),
        ac.subtle(
            "Each answer is read as a typed one would be. A field left empty keeps its answer."
        ),
    ]
    if form.errors:
        count = len(form.errors)
        fields = "field was" if count == 1 else "fields were"
        body.insert(1, ac.attention(f"⚠️ Nothing was saved: {count} {fields} not understood."))
    people: dict[str, str] = {}
    for field in form.fields:
        body.append(
            ac.text_block(
                ac.fit(field.question.prompt, ac.scaled_limit(ac.PROMPT_LIMIT, scale)),
                separator=True,
            )
        )
        element, person = _form_input(field, scale)
        body.append(element)
        if person is not None:
            people[field.question.id] = person
        if field.error:
            body.append(ac.attention(ac.fit(field.error, ac.scaled_limit(ac.BLOCK_LIMIT, scale))))
    about = {"project_id": form.project_id, "section_id": section.id}
    save = ac.submit("Save", {"mlplan_form": {**about, "people": people}})
    text = f"{form.project}: {section.title} as a form"
    return ac.message(
        text,
        ac.adaptive_card(body, actions=[save]),
        {"mlplan_form": about},
        limit=ac.scaled_limit(ac.TEXT_LIMIT, scale),
    )
