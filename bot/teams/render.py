"""Render neutral replies as Microsoft Teams message activities carrying Adaptive Cards."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.teams import adaptive as ac
from bot.teams import form_card, reminder_card
from bot.text import progress_bar
from flows.counting import counted
from flows.display import person_name
from flows.forms import SectionForm
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

# Replies


def render(reply: Reply, *, project_id: int, project: str | None = None) -> dict[str, Any]:
    """Render one neutral reply as a Teams message activity carrying an Adaptive Card.

    `project` names the project a question belongs to, which its card shows.
    """
    if isinstance(reply, SectionForm):
        return ac.scaled(lambda scale: form_card.section_form(reply, scale))
    reply = spell_reply(reply, ac.command_text)
    if isinstance(reply, Ask):
        return ac.scaled(lambda scale: _ask(reply, project_id, scale, project))
    if isinstance(reply, Say):
        return ac.scaled(lambda scale: _say(reply.text, scale))
    if isinstance(reply, SectionDone):
        payload = {"project_id": project_id, "section_id": reply.section_id}
        return _card_activity(reply.card, _event("mlplan_section_complete", payload, reply.card))
    if isinstance(reply, IntakeDone):
        payload = {"project_id": project_id}
        return _card_activity(reply.card, _event("mlplan_intake_complete", payload, reply.card))
    if isinstance(reply, Show):
        return _card_activity(reply.card, None)
    if isinstance(reply, Reminder):
        return ac.scaled(lambda scale: reminder_card.reminder(reply, scale))
    if isinstance(reply, DeepDives):
        return ac.scaled(lambda scale: _deep_dives(reply, project_id, scale))
    raise TypeError(f"no Teams rendering for {type(reply).__name__}")


def _say(text: str, scale: float) -> dict[str, Any]:
    shown = ac.fit(text, ac.scaled_limit(ac.BLOCK_LIMIT, scale))
    return ac.message(shown, ac.adaptive_card([ac.text_block(shown)]))


def _event(name: str, payload: dict[str, Any], card: Card) -> dict[str, Any]:
    if card.progress is not None:
        payload["progress"] = list(card.progress)
    return {name: payload}


def _ask(ask: Ask, project_id: int, scale: float, project: str | None = None) -> dict[str, Any]:
    question = ask.question
    body: list[dict[str, Any]] = []
    if ask.confirmation:
        saved = ac.fit(ask.confirmation, ac.scaled_limit(ac.NOTE_LIMIT, scale))
        body.append(ac.text_block(f"✅ {saved}", color="Good", spacing="Small"))
    if ask.refusal:
        body.append(
            ac.attention("⚠️ " + ac.fit(ask.refusal, ac.scaled_limit(ac.BLOCK_LIMIT, scale)))
        )
    elif ask.follow_up:
        asked = ac.fit(ask.follow_up, ac.scaled_limit(ac.BLOCK_LIMIT, scale))
        body.append(ac.follow_up(f"👉 {asked}"))
    elif ask.opens_section:
        title = f"{ask.section.order}. {ask.section.title}"
        body.append(ac.heading(ac.fit(title, ac.scaled_limit(ac.TITLE_LIMIT, scale))))
        body.append(ac.subtle(ac.fit(ask.section.intro, ac.scaled_limit(ac.NOTE_LIMIT, scale))))
    body.append(ac.text_block(ac.fit(question.prompt, ac.scaled_limit(ac.PROMPT_LIMIT, scale))))
    if ask.current is not None:
        current = ac.fit(ask.current, ac.scaled_limit(ac.NOTE_LIMIT, scale))
        body.append(
            ac.subtle(f"Current answer: {current}. Reply to change it, or `keep` to keep it.")
        )
    example = ac.fit(question.example, ac.scaled_limit(ac.NOTE_LIMIT, scale))
    where = f"{ac.fit(project, ac.scaled_limit(ac.NAME_LIMIT, scale))} · " if project else ""
    body.append(ac.subtle(f"{where}Question {ask.number} of {ask.total} · e.g. {example}"))

    if _chooses_from_a_list(question.kind, question.choices):
        body.append(_choice_input(ask))
    buttons = _buttons(ask)
    if ask.opens_section and project_id:
        buttons.append(form_button(ask.section.id, project_id))
    actions = None
    if len(buttons) <= ac.ACTIONS_PER_SET:
        actions = buttons
    else:
        body += [
            {"type": "ActionSet", "actions": buttons[start : start + ac.ACTIONS_PER_SET]}
            for start in range(0, len(buttons), ac.ACTIONS_PER_SET)
        ]
    value = {"mlplan_question": ask.metadata(project_id)}
    return ac.message(
        ask.follow_up or question.prompt,
        ac.adaptive_card(body, actions=actions),
        value,
        limit=ac.scaled_limit(ac.TEXT_LIMIT, scale),
    )


# Choices become a list to pick from, with one button, when there are more than this many or
# one is longer than this: Teams cuts buttons side by side to a few letters ("Shad…", "Can…").
MAX_CHOICE_BUTTONS = 3
CHOICE_BUTTON_CHARS = 20
FORM_BUTTON = "Fill in as a form"


def _chooses_from_a_list(kind: str, choices: tuple[str, ...]) -> bool:
    many = len(choices) > MAX_CHOICE_BUTTONS
    return kind == "choice" and (many or any(len(c) > CHOICE_BUTTON_CHARS for c in choices))


def choice_input_id(question_id: str) -> str:
    """Name a question's list of choices; Teams sends the picked one beside the Answer button's data."""
    return f"answer:{question_id}"


def _choice_input(ask: Ask) -> dict[str, Any]:
    return {
        "type": "Input.ChoiceSet",
        "id": choice_input_id(ask.question.id),
        "label": "Your answer",
        "style": "compact",
        "placeholder": "Choose one",
        "choices": [
            {"title": ac.plain(choice, ac.TITLE_LIMIT), "value": choice}
            for choice in ask.question.choices
        ],
    }


def submitted_answer(value: Mapping[str, Any]) -> str | None:
    """Read the choice an Answer button sent from its question's list, or None when none was picked."""
    data = value.get("mlplan_answer")
    if not isinstance(data, Mapping):
        return None
    picked = value.get(choice_input_id(str(data.get("question_id"))))
    return picked if isinstance(picked, str) and picked else None


def _deep_dives(reply: DeepDives, project_id: int, scale: float) -> dict[str, Any]:
    """Render the deep dives on offer: each with Start now, Assign and Later buttons."""
    text = ac.fit(str(reply.text), ac.scaled_limit(ac.BLOCK_LIMIT, scale))
    body: list[dict[str, Any]] = [ac.text_block(text)]
    for offered in reply.sections:
        count = counted(offered.open_questions, "question")
        body.append(ac.text_block(f"**{ac.teams_text(offered.title)}** · {count}", separator=True))

        def act(title: str, action: str, sid: str = offered.section_id) -> dict[str, Any]:
            data = {"project_id": project_id, "section_id": sid, "action": action}
            return ac.submit(title, {"mlplan_deep": data})

        actions = [act("Start now", "start"), act("Assign…", "assign"), act("Later", "later")]
        body.append({"type": "ActionSet", "actions": actions})
    return ac.message(text, ac.adaptive_card(body))


def form_button(section_id: str, project_id: int) -> dict[str, Any]:
    """Make the button that asks for a section's form."""
    data = {"mlplan_form_open": {"project_id": project_id, "section_id": section_id}}
    return ac.submit(FORM_BUTTON, data)


def _buttons(ask: Ask) -> list[dict[str, Any]]:
    """Return the question's buttons: a choice each (or one Answer for a list), Skip, later."""
    qid = ask.question.id

    def answer(title: str, text: str, shown: str) -> dict[str, Any]:
        data = {"mlplan_answer": {"question_id": qid, "answer": text, "shown": shown}}
        return ac.submit(title, data)

    buttons: list[dict[str, Any]] = []
    if _chooses_from_a_list(ask.question.kind, ask.question.choices):
        buttons = [answer("Answer", "", "")]  # the picked choice comes beside it
    elif ask.question.kind == "choice":
        buttons = [answer(choice, choice, choice) for choice in ask.question.choices]
    elif ask.question.kind == "yesno":
        buttons = [answer("Yes", "yes", "Yes"), answer("No", "no", "No")]
    if ask.follow_up:  # its answer is saved: keeping it is what skipping or later would do
        return [*buttons, answer("Keep", "keep", "kept")]
    skip, later = (
        answer("Skip", "skip", "skipped"),
        answer("Answer later", "later", "left for later"),
    )
    if buttons and buttons[0]["title"] == "Answer":  # skipping needs no choice picked
        skip["associatedInputs"] = later["associatedInputs"] = "none"
    buttons += [skip, later]
    return buttons


# Cards


def _more_note(hidden: int) -> dict[str, Any]:
    status = ac.command_text(CommandRef("status", ("<project>",)))
    more = counted(hidden, "more field")
    return ac.subtle(f"… {more} not shown: see {status} or `mlplan export`")


def _fact(field: Field, limit: int, mentions: ac.Mentions) -> dict[str, str]:
    """Write one field as a fact, with its person as a mention when Teams knows them."""
    title = ac.fit(field.label, ac.LABEL_LIMIT)
    tag = mentions.tag(field.person)
    if tag and field.person is not None:
        before, found, after = field.value.partition(person_name(field.person))
        if not found:  # the value does not name the person as we would: name them first
            before, after = "", f" · {field.value}" if field.value else ""
        lead = ac.fit(before, limit) + tag
        if len(lead) + len(ac.CUT_NOTE) < limit:
            return {"title": title, "value": lead + ac.fit(after, limit - len(lead))}
    return {"title": title, "value": ac.fit(field.value, limit)}


def _card_body(
    card: Card, mentions: ac.Mentions, size_of: Callable[[list[dict[str, Any]]], int]
) -> list[dict[str, Any]]:
    """Lay a card out as title, progress, fields, warnings and footer, within the size budget.

    Values are cut short before any field is dropped; dropped fields are counted in a note.
    """
    for scale in ac.SCALES:
        body = _card_body_at(card, mentions, size_of, scale)
        if body is not None:
            return body
    raise ValueError(f"cannot fit the card {card.title[:80]!r} into {ac.ACTIVITY_BUDGET} bytes")


def _card_body_at(
    card: Card,
    mentions: ac.Mentions,
    size_of: Callable[[list[dict[str, Any]]], int],
    scale: float,
) -> list[dict[str, Any]] | None:
    """Lay the card out with texts cut to this scale; None when even no field fits."""
    head = [ac.heading(ac.fit(card.title, ac.scaled_limit(ac.TITLE_LIMIT, scale)))]
    if card.progress is not None:
        done, total = card.progress
        answered = f"{done} of {counted(total, 'question')} answered"
        head.append(ac.subtle(f"{progress_bar(done, total)}  {answered}"))
    tail = []
    if card.warnings:
        warnings = "\n".join(f"⚠️ {warning}" for warning in card.warnings)
        tail.append(ac.attention(ac.fit(warnings, ac.scaled_limit(ac.BLOCK_LIMIT, scale))))
    if card.footer:
        tail.append(ac.subtle(ac.fit(card.footer, ac.scaled_limit(ac.NOTE_LIMIT, scale))))

    def body(facts: list[dict[str, str]], hidden: int) -> list[dict[str, Any]]:
        middle = [{"type": "FactSet", "facts": facts}] if facts else []
        return head + middle + ([_more_note(hidden)] if hidden else []) + tail

    facts: list[dict[str, str]] = []
    for limit in (ac.FIELD_LIMIT, ac.FIELD_TIGHT_LIMIT):
        facts = [_fact(field, ac.scaled_limit(limit, scale), mentions) for field in card.fields]
        if size_of(body(facts, 0)) <= ac.ACTIVITY_BUDGET:
            return body(facts, 0)
    # Keep the most fields that fit beside the note: the size grows with the count, so bisect.
    low, high = -1, len(facts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if size_of(body(facts[:middle], len(facts) - middle)) <= ac.ACTIVITY_BUDGET:
            low = middle
        else:
            high = middle - 1
    return body(facts[:low], len(facts) - low) if low >= 0 else None


def _card_activity(card: Card, value: dict[str, Any] | None) -> dict[str, Any]:
    mentions = ac.Mentions()

    def build(body: list[dict[str, Any]]) -> dict[str, Any]:
        return ac.message(card.title, ac.adaptive_card(body, mentions=mentions), value)

    return build(_card_body(card, mentions, lambda body: ac.activity_size(build(body))))


# Other messages


def answered_note(*, question_label: str, shown: str, person: Mapping[str, Any]) -> dict:
    """Render what replaces a question once a button answered it: the answer, and no buttons."""

    def build(scale: float) -> dict[str, Any]:
        mentions = ac.Mentions()
        label = ac.fit(question_label, ac.scaled_limit(ac.LABEL_LIMIT, scale))
        answer = ac.fit(shown, ac.scaled_limit(ac.BLOCK_LIMIT, scale))
        line = f"**{label}**: {answer} (answered by {ac.who(person, mentions)})"
        card = ac.adaptive_card([ac.text_block(line)], mentions=mentions)
        return ac.message(
            f"{question_label}: {shown}", card, limit=ac.scaled_limit(ac.TEXT_LIMIT, scale)
        )

    return ac.scaled(build)


def parent_message(*, name: str, owner: Mapping[str, Any], progress: tuple[int, int]) -> dict:
    """Render the first message of a project's conversation: name, owner and progress."""
    mentions = ac.Mentions()
    done, total = progress
    body = [
        ac.heading(f"Planning {ac.fit(name, ac.TITLE_LIMIT)}"),
        ac.text_block(f"Owner: {ac.who(owner, mentions)}"),
        ac.subtle(f"Progress: {done} of {counted(total, 'question')} {progress_bar(done, total)}"),
    ]
    text = f"Planning {name}, owned by {person_name(owner)}"
    return ac.message(text, ac.adaptive_card(body, mentions=mentions))


def text_only(text: str) -> dict[str, Any]:
    """Render a short private answer (help, an error) as a plain message activity."""
    return {"type": "message", "text": ac.fit(text, ac.TEXT_LIMIT) or "…"}
