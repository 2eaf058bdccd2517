"""Fill a whole section in one form: the fields it shows, prefilled, and what a submission changes.

Pure, like the engine: no platform, storage or clock. A form shows the section's questions that
apply given the current answers; a submission is read by the parsers a typed answer goes
through, in order, re-checking which questions apply as the new answers come in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flows import engine, summary
from flows.counting import counted
from flows.display import answer_field, person_name
from flows.model import Flow, Question, Section
from flows.parse import ParseError, mention_token
from flows.progress import progress
from flows.replies import Card, Field, Reply, SectionDone, Show
from flows.state import Recorded, State, Turn

SOURCE = "form"  # the source of every answer a form gave, as typed answers have their message's


@dataclass(frozen=True)
class FormField:
    """One question of a form: its current answer as prefilled, and what was entered, if refused.

    `initial` is the current answer as text the question's parser reads back to the same value;
    `value` is the stored value itself (a platform may prefill a person or a date natively).
    """

    question: Question
    initial: str | None = None
    value: Any = None
    entered: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class SectionForm:
    """A section of a project as one form: the questions that apply, each with its current answer."""

    project_id: int
    project: str
    section: Section
    fields: tuple[FormField, ...]

    @property
    def errors(self) -> dict[str, str]:
        """Map each refused field's question id to why it was refused."""
        return {f.question.id: f.error for f in self.fields if f.error is not None}


def _number(value: int | float) -> str:
    return str(value)


def initial_text(question: Question, value: Any) -> str | None:
    """Write a stored answer as text its question's parser reads back to the same value."""
    if value is None:
        return None
    match question.kind:
        case "number":
            return _number(value)
        case "money":
            amount = _number(value["amount"])
            return f"{amount} {value['currency']}" if value.get("currency") else amount
        case "percent":
            if isinstance(value, list):
                return f"{_number(value[0])}-{_number(value[1])}%"
            return f"{_number(value)}%"
        case "user":
            if value.get("id"):
                return mention_token(value["id"], value.get("name"))
            return value.get("email") or person_name(value)
        case "yesno":
            return "yes" if value else "no"
    return str(value)


def same_answer(question: Question, old: Any, new: Any) -> bool:
    """Tell whether a newly parsed answer says what the stored one says (a person by id or email)."""
    if old is None:
        return False
    if question.kind == "user":
        for key in ("id", "email"):
            if old.get(key) and new.get(key):
                return old[key] == new[key]
    return old == new


def form_of(
    flow: Flow, section_id: str, answers: Mapping[str, Any], *, project_id: int, project: str
) -> SectionForm:
    """Build the form of one section: the questions that apply now, prefilled with their answers."""
    section = flow.section(section_id)
    fields = tuple(
        FormField(q, initial_text(q, answers.get(q.id)), answers.get(q.id))
        for q in section.questions
        if q.applies(answers)
    )
    return SectionForm(project_id, project, section, fields)


def submit(
    flow: Flow,
    state: State,
    section_id: str,
    entered: Mapping[str, str],
    *,
    now: datetime,
    author: Mapping[str, Any],
    project_id: int,
) -> Turn | SectionForm:
    """Take a submitted form: a turn storing every changed answer, or the form with its errors.

    An empty or unchanged field keeps its answer. A field whose question no longer applies,
    given the answers before it, is ignored. When the open question was answered the
    conversation moves on; when the section is complete its summary card follows.
    """
    section = flow.section(section_id)
    answers = dict(state.answers)
    recorded: list[Recorded] = []
    errors: dict[str, str] = {}
    for question in section.questions:
        text = (entered.get(question.id) or "").strip()
        if not text or not question.applies(answers):
            continue
        if text == initial_text(question, answers.get(question.id)):
            continue
        try:
            value = question.parse(text, now=now)
        except ParseError as err:
            errors[question.id] = str(err)
            continue
        if not same_answer(question, answers.get(question.id), value):
            answers[question.id] = value
            recorded.append(Recorded(question.id, value, text))
    if errors:
        shown = form_of(flow, section_id, state.answers, project_id=project_id, project=state.name)
        fields = tuple(
            replace(f, entered=entered.get(f.question.id), error=errors.get(f.question.id))
            for f in shown.fields
        )
        return replace(shown, fields=fields)
    if not recorded:
        nothing = f"Nothing changed in “{section.title}”: every answer in the form was as it was."
        return Turn(state, (Show(Card(title=nothing)),))
    return _stored(flow, state, section, answers, tuple(recorded), author)


def _stored(
    flow: Flow,
    state: State,
    section: Section,
    answers: dict[str, Any],
    recorded: tuple[Recorded, ...],
    author: Mapping[str, Any],
) -> Turn:
    """Make the turn of an accepted form: what changed, the section's card, and what comes next."""
    sections = state.sections if section.id in state.sections else (*state.sections, section.id)
    later = state.later - {r.question_id for r in recorded if r.value is not None}
    moved = replace(state, answers=answers, sections=sections, later=later)
    replies: list[Reply] = [_changes(flow, section, answers, recorded, author)]
    applying = [q for q in section.questions if q.applies(answers)]
    if all(q.id in answers for q in applying):
        card = summary.section_card(flow, section, answers, later=later)
        replies.append(SectionDone(section.id, card))
    current = state.current
    answered = {r.question_id for r in recorded}
    was_complete = _complete(flow, state.answers)
    if current is not None and (
        current in answered or not flow.questions[current].applies(answers)
    ):
        walk = None if moved.walk == section.id else moved.walk
        following = engine.start(
            flow, replace(moved, current=None, walk=walk), was_complete=was_complete
        )
        replies += following.replies
        return Turn(following.state, tuple(replies), recorded, done=following.done)
    done = _complete(flow, answers)
    if current is None and done and not was_complete:
        replies += engine.start(flow, moved).replies  # the plan's card
    return Turn(moved, tuple(replies), recorded, done=done)


def _complete(flow: Flow, answers: Mapping[str, Any]) -> bool:
    """Tell whether the core is visited (the intake is done), as the engine does."""
    done, total = progress(flow, answers, flow.core)
    return done == total


def _changes(
    flow: Flow,
    section: Section,
    answers: Mapping[str, Any],
    recorded: tuple[Recorded, ...],
    author: Mapping[str, Any],
) -> Show:
    """Show what a form changed, and who filled it in, for the project's conversation."""
    count = len(recorded)
    title = f"{section.title}: {counted(count, 'answer')} saved from a form"
    who = Field("Filled in by", person_name(author), person=dict(author))
    changed = tuple(answer_field(flow, flow.questions[r.question_id], answers) for r in recorded)
    still_open = [q.label for q in section.questions if q.applies(answers) and q.id not in answers]
    footer = f"Still open in this section: {', '.join(still_open)}." if still_open else None
    return Show(Card(title=title, fields=(who, *changed), footer=footer))
