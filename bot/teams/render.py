"""Render neutral replies as Microsoft Teams message activities carrying Adaptive Cards."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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
_AT_TAG = re.compile(r"<(\s*/?\s*at\b[^<>]*)>", re.IGNORECASE)
_AT_OPEN = re.compile(r"<(?=\s*/?\s*at\b)", re.IGNORECASE)
_BREAKS = re.compile(r"(?:\r?\n)+")
# A paragraph that starts like "2. " is an ordered list to Teams' Markdown, shown indented and
# clipped: the dot is escaped, as Markdown escapes it.
_LIST_START = re.compile(r"(^|\n\n)(\s*[0-9]{1,9})([.)])(?=\s)")
_SPACES = re.compile(r"\s+")


# Text


def command_text(ref: CommandRef) -> str:
    """Write a command as a person types it to the bot in Teams: `status Churn`."""
    return "`" + " ".join((ref.verb, *ref.args)) + "`"


def teams_text(text: str) -> str:
    """Make neutral or typed text safe for Teams: no `<at>` tags, which would mention someone."""
    # Teams turns `<at>Name</at>` into a mention; typed text must never make one.
    text = _AT_TAG.sub(r"‹\1›", text)
    return _AT_OPEN.sub("‹", text)


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
    text = _LIST_START.sub(r"\1\2\\\3", _BREAKS.sub("\n\n", teams_text(text)))
    return cut(text, limit)


def _plain(text: str, limit: int) -> str:
    """Fit text for a button title: one line, never empty."""
    return cut(_SPACES.sub(" ", teams_text(text)).strip(), limit) or "…"


def _limit(limit: int, scale: float) -> int:
    return max(len(CUT_NOTE) + 20, int(limit * scale))


# Mentions


def teams_user_id(person: Mapping[str, Any] | None) -> str | None:
    """Return the person's id when it is one Teams can mention, else None."""
    person_id = person.get("id") if person else None
    if isinstance(person_id, str) and TEAMS_USER_ID.match(person_id):
        return person_id
    return None


class _Mentions:
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
        name = _name(person)
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


def _name(person: Mapping[str, Any]) -> str:
    """Name a person in one line, without the leading `@` (a mention shows its own)."""
    return cut(_SPACES.sub(" ", teams_text(person_name(person).removeprefix("@"))), NAME_LIMIT)


def _who(person: Mapping[str, Any], mentions: _Mentions) -> str:
    """Name a person: a mention when the id is Teams', else the plain name."""
    return mentions.tag(person) or fit(person_name(person), NAME_LIMIT)


# Elements and activities


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _heading(text: str) -> dict[str, Any]:
    return _text(text, size="Large", weight="Bolder", style="heading")


def _subtle(text: str) -> dict[str, Any]:
    return _text(text, isSubtle=True, spacing="Small")


def _attention(text: str) -> dict[str, Any]:
    return _text(text, color="Attention")


def _submit(title: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": _plain(title, BUTTON_TITLE_LIMIT), "data": data}


def _card(
    body: list[dict[str, Any]],
    *,
    actions: list[dict[str, Any]] | None = None,
    mentions: _Mentions | None = None,
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


def _activity(
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


def _fits(activity: Mapping[str, Any]) -> bool:
    return activity_size(activity) <= ACTIVITY_BUDGET


def _scaled(build: Callable[[float], dict[str, Any]]) -> dict[str, Any]:
    """Build an activity with ever shorter texts until it fits Teams' size limit."""
    for scale in SCALES:
        activity = build(scale)
        if _fits(activity):
            return activity
    raise ValueError(f"cannot fit {activity['text'][:80]!r} into {ACTIVITY_BUDGET} bytes")


# Replies


def render(reply: Reply, *, project_id: int, project: str | None = None) -> dict[str, Any]:
    """Render one neutral reply as a Teams message activity carrying an Adaptive Card.

    `project` names the project a question belongs to, which its card shows.
    """
    if isinstance(reply, SectionForm):
        return _scaled(lambda scale: _form(reply, scale))
    reply = spell_reply(reply, command_text)
    if isinstance(reply, Ask):
        return _scaled(lambda scale: _ask(reply, project_id, scale, project))
    if isinstance(reply, Say):
        return _scaled(lambda scale: _say(reply.text, scale))
    if isinstance(reply, SectionDone):
        payload = {"project_id": project_id, "section_id": reply.section_id}
        return _card_activity(reply.card, _event("mlplan_section_complete", payload, reply.card))
    if isinstance(reply, IntakeDone):
        payload = {"project_id": project_id}
        return _card_activity(reply.card, _event("mlplan_intake_complete", payload, reply.card))
    if isinstance(reply, Show):
        return _card_activity(reply.card, None)
    if isinstance(reply, Reminder):
        return _scaled(lambda scale: _reminder(reply, scale))
    if isinstance(reply, DeepDives):
        return _scaled(lambda scale: _deep_dives(reply, project_id, scale))
    raise TypeError(f"no Teams rendering for {type(reply).__name__}")


def _say(text: str, scale: float) -> dict[str, Any]:
    shown = fit(text, _limit(BLOCK_LIMIT, scale))
    return _activity(shown, _card([_text(shown)]))


def _event(name: str, payload: dict[str, Any], card: Card) -> dict[str, Any]:
    if card.progress is not None:
        payload["progress"] = list(card.progress)
    return {name: payload}


def _ask(ask: Ask, project_id: int, scale: float, project: str | None = None) -> dict[str, Any]:
    question = ask.question
    body: list[dict[str, Any]] = []
    if ask.refusal:
        body.append(_attention("⚠️ " + fit(ask.refusal, _limit(BLOCK_LIMIT, scale))))
    elif ask.opens_section:
        title = f"{ask.section.order}. {ask.section.title}"
        body.append(_heading(fit(title, _limit(TITLE_LIMIT, scale))))
        body.append(_subtle(fit(ask.section.intro, _limit(NOTE_LIMIT, scale))))
    body.append(_text(fit(question.prompt, _limit(PROMPT_LIMIT, scale))))
    if ask.current is not None:
        current = fit(ask.current, _limit(NOTE_LIMIT, scale))
        body.append(
            _subtle(f"Current answer: {current}. Reply to change it, or `keep` to keep it.")
        )
    example = fit(question.example, _limit(NOTE_LIMIT, scale))
    where = f"{fit(project, _limit(NAME_LIMIT, scale))} · " if project else ""
    body.append(_subtle(f"{where}Question {ask.number} of {ask.total} · e.g. {example}"))

    if _chooses_from_a_list(question.kind, question.choices):
        body.append(_choice_input(ask))
    buttons = _buttons(ask)
    if ask.opens_section and project_id:
        buttons.append(form_button(ask.section.id, project_id))
    actions = None
    if len(buttons) <= ACTIONS_PER_SET:
        actions = buttons
    else:
        body += [
            {"type": "ActionSet", "actions": buttons[start : start + ACTIONS_PER_SET]}
            for start in range(0, len(buttons), ACTIONS_PER_SET)
        ]
    value = {"mlplan_question": ask.metadata(project_id)}
    return _activity(
        question.prompt, _card(body, actions=actions), value, limit=_limit(TEXT_LIMIT, scale)
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
            {"title": _plain(choice, TITLE_LIMIT), "value": choice}
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
    text = fit(str(reply.text), _limit(BLOCK_LIMIT, scale))
    body: list[dict[str, Any]] = [_text(text)]
    for offered in reply.sections:
        count = (
            "1 question" if offered.open_questions == 1 else f"{offered.open_questions} questions"
        )
        body.append(_text(f"**{teams_text(offered.title)}** · {count}", separator=True))

        def act(title: str, action: str, sid: str = offered.section_id) -> dict[str, Any]:
            data = {"project_id": project_id, "section_id": sid, "action": action}
            return _submit(title, {"mlplan_deep": data})

        actions = [act("Start now", "start"), act("Assign…", "assign"), act("Later", "later")]
        body.append({"type": "ActionSet", "actions": actions})
    return _activity(text, _card(body))


def form_button(section_id: str, project_id: int) -> dict[str, Any]:
    """Make the button that asks for a section's form."""
    data = {"mlplan_form_open": {"project_id": project_id, "section_id": section_id}}
    return _submit(FORM_BUTTON, data)


def _buttons(ask: Ask) -> list[dict[str, Any]]:
    """Return the question's buttons: a choice each (or one Answer for a list), Skip, later."""
    qid = ask.question.id

    def answer(title: str, text: str, shown: str) -> dict[str, Any]:
        data = {"mlplan_answer": {"question_id": qid, "answer": text, "shown": shown}}
        return _submit(title, data)

    buttons: list[dict[str, Any]] = []
    if _chooses_from_a_list(ask.question.kind, ask.question.choices):
        buttons = [answer("Answer", "", "")]  # the picked choice comes beside it
    elif ask.question.kind == "choice":
        buttons = [answer(choice, choice, choice) for choice in ask.question.choices]
    elif ask.question.kind == "yesno":
        buttons = [answer("Yes", "yes", "Yes"), answer("No", "no", "No")]
    skip, later = (
        answer("Skip", "skip", "skipped"),
        answer("Answer later", "later", "left for later"),
    )
    if buttons and buttons[0]["title"] == "Answer":  # skipping needs no choice picked
        skip["associatedInputs"] = later["associatedInputs"] = "none"
    buttons += [skip, later]
    return buttons


# Forms


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
    label = fit(question.label, _limit(LABEL_LIMIT, scale))
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
            "choices": [{"title": _plain(t, TITLE_LIMIT), "value": v} for t, v in pairs],
        }
        if shown in {v for _, v in pairs}:
            element["value"] = shown
    else:
        element["type"] = "Input.Text"
        if question.kind == "text":
            element["isMultiline"] = True
        else:
            element["placeholder"] = _plain(question.example, _limit(NOTE_LIMIT, scale))
        if question.kind == "user" and field.entered is None and field.value:
            shown = person = _plain(person_name(field.value), NAME_LIMIT)
        if shown:
            element["value"] = shown
    if field.error:
        element["errorMessage"] = _plain(field.error, _limit(BLOCK_LIMIT, scale))
    return element, person


def _form(form: SectionForm, scale: float) -> dict[str, Any]:
    """Render a section's form: each question that applies as an input, prefilled, one Save.

    A refused field shows why under its input, in red; the others keep what was entered.
    """
    section = form.section
    title = f"{section.order}. {section.title}"
    body = [
        _heading(fit(title, _limit(TITLE_LIMIT, scale))),
        _subtle(fit(f"{form.project} · {section.intro}", _limit(NOTE_LIMIT, scale))),
        _subtle(
            "Each answer is read as a typed one would be. A field left empty keeps its answer."
        ),
    ]
    if form.errors:
        count = len(form.errors)
        fields = "field was" if count == 1 else "fields were"
        body.insert(1, _attention(f"⚠️ Nothing was saved: {count} {fields} not understood."))
    people: dict[str, str] = {}
    for field in form.fields:
        body.append(_text(fit(field.question.prompt, _limit(PROMPT_LIMIT, scale)), separator=True))
        element, person = _form_input(field, scale)
        body.append(element)
        if person is not None:
            people[field.question.id] = person
        if field.error:
            body.append(_attention(fit(field.error, _limit(BLOCK_LIMIT, scale))))
    about = {"project_id": form.project_id, "section_id": section.id}
    save = _submit("Save", {"mlplan_form": {**about, "people": people}})
    text = f"{form.project}: {section.title} as a form"
    return _activity(
        text, _card(body, actions=[save]), {"mlplan_form": about}, limit=_limit(TEXT_LIMIT, scale)
    )


# Cards


def _more_note(hidden: int) -> dict[str, Any]:
    fields = "field" if hidden == 1 else "fields"
    status = command_text(CommandRef("status", ("<project>",)))
    return _subtle(f"… {hidden} more {fields} not shown: see {status} or `mlplan export`")


def _fact(field: Field, limit: int, mentions: _Mentions) -> dict[str, str]:
    """Write one field as a fact, with its person as a mention when Teams knows them."""
    title = fit(field.label, LABEL_LIMIT)
    tag = mentions.tag(field.person)
    if tag and field.person is not None:
        before, found, after = field.value.partition(person_name(field.person))
        if not found:  # the value does not name the person as we would: name them first
            before, after = "", f" · {field.value}" if field.value else ""
        lead = fit(before, limit) + tag
        if len(lead) + len(CUT_NOTE) < limit:
            return {"title": title, "value": lead + fit(after, limit - len(lead))}
    return {"title": title, "value": fit(field.value, limit)}


def _card_body(
    card: Card, mentions: _Mentions, size_of: Callable[[list[dict[str, Any]]], int]
) -> list[dict[str, Any]]:
    """Lay a card out as title, progress, fields, warnings and footer, within the size budget.

    Values are cut short before any field is dropped; dropped fields are counted in a note.
    """
    for scale in SCALES:
        body = _card_body_at(card, mentions, size_of, scale)
        if body is not None:
            return body
    raise ValueError(f"cannot fit the card {card.title[:80]!r} into {ACTIVITY_BUDGET} bytes")


def _card_body_at(
    card: Card,
    mentions: _Mentions,
    size_of: Callable[[list[dict[str, Any]]], int],
    scale: float,
) -> list[dict[str, Any]] | None:
    """Lay the card out with texts cut to this scale; None when even no field fits."""
    head = [_heading(fit(card.title, _limit(TITLE_LIMIT, scale)))]
    if card.progress is not None:
        done, total = card.progress
        head.append(_subtle(f"{progress_bar(done, total)}  {done} of {total} questions answered"))
    tail = []
    if card.warnings:
        warnings = "\n".join(f"⚠️ {warning}" for warning in card.warnings)
        tail.append(_attention(fit(warnings, _limit(BLOCK_LIMIT, scale))))
    if card.footer:
        tail.append(_subtle(fit(card.footer, _limit(NOTE_LIMIT, scale))))

    def body(facts: list[dict[str, str]], hidden: int) -> list[dict[str, Any]]:
        middle = [{"type": "FactSet", "facts": facts}] if facts else []
        return head + middle + ([_more_note(hidden)] if hidden else []) + tail

    facts: list[dict[str, str]] = []
    for limit in (FIELD_LIMIT, FIELD_TIGHT_LIMIT):
        facts = [_fact(field, _limit(limit, scale), mentions) for field in card.fields]
        if size_of(body(facts, 0)) <= ACTIVITY_BUDGET:
            return body(facts, 0)
    # Keep the most fields that fit beside the note: the size grows with the count, so bisect.
    low, high = -1, len(facts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if size_of(body(facts[:middle], len(facts) - middle)) <= ACTIVITY_BUDGET:
            low = middle
        else:
            high = middle - 1
    return body(facts[:low], len(facts) - low) if low >= 0 else None


def _card_activity(card: Card, value: dict[str, Any] | None) -> dict[str, Any]:
    mentions = _Mentions()

    def build(body: list[dict[str, Any]]) -> dict[str, Any]:
        return _activity(card.title, _card(body, mentions=mentions), value)

    return build(_card_body(card, mentions, lambda body: activity_size(build(body))))


# The digest: needs-you lines, facts that name projects, then the ranked projects as a Table,
# each linked to its conversation with Status and Snooze buttons. One TextBlock per line, so
# that line breaks stay line breaks.
DIGEST_ACTIONS = (("status", "Status"), ("snooze7", "Snooze a week"))
_TOKEN = re.compile(r"@\{(?P<id>[^|{}\s]+)(?:\|(?P<name>[^{}]*))?\}")
DIGEST_LINE_LIMIT = 400


def _digest_line(text: str, mentions: _Mentions, limit: int = DIGEST_LINE_LIMIT) -> str:
    """Make one line of a digest safe for Teams, its neutral mentions as Teams mentions."""

    def person(match: re.Match[str]) -> str:
        who = {"id": match["id"], "name": match["name"] or match["id"]}
        return mentions.tag(who) or "@" + who["name"]

    line = _LIST_START.sub(r"\1\2\\\3", _SPACES.sub(" ", teams_text(text)))
    return _TOKEN.sub(person, cut(line, limit))


def _link(name: str, url: str | None) -> str:
    label = cut(teams_text(name), LABEL_LIMIT).replace("[", "(").replace("]", ")")
    if url and url.startswith("https://"):
        return f"[{label}]({url.replace(')', '%29').replace(' ', '%20')})"
    return label


def _digest_head(digest, mentions: _Mentions) -> list[dict[str, Any]]:
    body = [_heading(fit(digest.title, TITLE_LIMIT))]
    body.append(_text("**Needs you this week**", spacing="Medium"))
    for line in digest.needs_you or ("Nothing.",):
        body.append(_text("• " + _digest_line(line, mentions), spacing="None"))
    facts = [
        {"title": cut(teams_text(f.label), LABEL_LIMIT), "value": _digest_line(f.value, mentions)}
        for f in (*digest.summary, *digest.totals)
    ]
    if facts:
        body.append({"type": "FactSet", "facts": facts, "spacing": "Medium"})
    if digest.trend:
        body.append(_text("**Since the last digest**", spacing="Medium"))
        body.extend(
            _text("• " + _digest_line(line, mentions), spacing="None") for line in digest.trend
        )
    return body


def _digest_row(entry, mentions: _Mentions) -> dict[str, Any]:
    """One ranked project: rank, name linked to its conversation with what matters, buttons, owner."""
    head = f"**{_link(entry.name, entry.link)}** · {_digest_line(entry.headline, mentions)}"
    details = list(entry.facts) + (["changed"] if entry.changed and not entry.delivered else [])
    project = [_text(head)]
    if details:
        project.append(_subtle(_digest_line(" · ".join(details), mentions)))
    project.append(
        {
            "type": "ActionSet",
            "actions": [
                _submit(label, {"mlplan_digest": {"verb": verb, "project_id": entry.project_id}})
                for verb, label in DIGEST_ACTIONS
            ],
        }
    )
    owner = _who(entry.owner, mentions) if entry.owner else ""
    return {
        "type": "TableRow",
        "cells": [
            {"type": "TableCell", "items": [_text(f"{entry.rank}.")]},
            {"type": "TableCell", "items": project},
            {"type": "TableCell", "items": [_text(owner or "–")]},
        ],
    }


def _digest_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    header = {
        "type": "TableRow",
        "style": "accent",
        "cells": [
            {"type": "TableCell", "items": [_text(t, weight="Bolder")]}
            for t in ("#", "Project", "Owner")
        ],
    }
    return {
        "type": "Table",
        "firstRowAsHeader": True,
        "showGridLines": False,
        "columns": [{"width": 1}, {"width": 8}, {"width": 3}],
        "rows": [header, *rows],
    }


def digest_messages(digest) -> list[dict[str, Any]]:
    """Render a digest as few activities as Teams' size allows: the head, then the ranked table."""
    mentions = _Mentions()  # one for the digest, so one name never stands for two people
    head = _digest_head(digest, mentions)
    rows = [_digest_row(entry, mentions) for entry in digest.projects]
    footer = _subtle(fit(spell(digest.footer, command_text), NOTE_LIMIT))
    longest_text = f"{digest.title} (9 of 9)"

    def build(text: str, body: list[dict[str, Any]]) -> dict[str, Any]:
        return _activity(text, _card(body, mentions=mentions))

    def body_of(first: bool, part: list[dict[str, Any]], last: bool) -> list[dict[str, Any]]:
        return [
            *(head if first else []),
            *([_digest_table(part)] if part else []),
            *([footer] if last else []),
        ]

    parts: list[list[dict[str, Any]]] = [[]]
    for row in rows:
        trial = body_of(len(parts) == 1, [*parts[-1], row], True)
        if parts[-1] and not _fits(build(longest_text, trial)):
            parts.append([row])
        else:
            parts[-1].append(row)
    total = len(parts)
    return [
        build(
            digest.title if total == 1 else f"{digest.title} ({n} of {total})",
            body_of(n == 1, part, n == total),
        )
        for n, part in enumerate(parts, 1)
    ]


# Reminders


REMINDER_ACTIONS = (("done", "Done"), ("snooze1", "Snooze a day"), ("snooze7", "Snooze a week"))


def _reminder(reply: Reminder, scale: float) -> dict[str, Any]:
    """Render a batched reminder: each item with Done, Snooze a day, Snooze a week, New date."""
    heading = "You own new items" if reply.new_owner else "Reminder"
    body = [_heading(fit(f"{heading}: {reply.project}", _limit(TITLE_LIMIT, scale)))]
    if reply.note:
        body.append(_subtle(fit(reply.note, _limit(NOTE_LIMIT, scale))))
    for item in reply.items[:MAX_REMINDER_ITEMS]:
        title = fit(item.title, _limit(LABEL_LIMIT, scale))
        reason = fit(item.reason, _limit(ITEM_LIMIT, scale))
        body.append(_text(f"**{title}**: {reason}", separator=True))
        body.append(_reminder_actions(item.kind, item.id))
    hidden = len(reply.items) - MAX_REMINDER_ITEMS
    if hidden > 0:
        listing = command_text(CommandRef("milestone", ("list", reply.project)))
        body.append(_subtle(f"… and {hidden} more: {fit(listing, _limit(TITLE_LIMIT, scale))}"))
    titles = ", ".join(item.title for item in reply.items)
    lead = "You own new items in" if reply.new_owner else "Reminder for"
    text = f"{lead} {reply.project}: {titles}"
    return _activity(text, _card(body), limit=_limit(TEXT_LIMIT, scale))


def _reminder_actions(kind: str, item_id: int) -> dict[str, Any]:
    """Build one item's buttons; the set's id lets reminder_after_action find it."""

    def data(verb: str) -> dict[str, Any]:
        return {"mlplan_remind": {"verb": verb, "kind": kind, "id": item_id}}

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
            "actions": [_submit("Save", data("due"))],
        },
    }
    return {
        "type": "ActionSet",
        "id": f"remind:{kind}:{item_id}",
        "actions": [*(_submit(label, data(verb)) for verb, label in REMINDER_ACTIONS), new_date],
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
        mentions = _Mentions(msteams.get("entities", ()))
        limit = _limit(LABEL_LIMIT, scale)
        line = f"{fit(title, limit)}: {fit(shown, limit)} ({_who(person, mentions)})"
        content["body"] = [
            _subtle(line)
            if element.get("type") == "ActionSet" and element.get("id") == target
            else element
            for element in content.get("body", [])
        ]
        entities = mentions.used_in(content["body"])
        if entities:
            msteams["entities"] = entities
        else:
            msteams.pop("entities", None)
        return _activity(f"{title}: {shown}", content, limit=_limit(TEXT_LIMIT, scale))

    return _scaled(build)


# Other messages


def answered_note(*, question_label: str, shown: str, person: Mapping[str, Any]) -> dict:
    """Render what replaces a question once a button answered it: the answer, and no buttons."""

    def build(scale: float) -> dict[str, Any]:
        mentions = _Mentions()
        label = fit(question_label, _limit(LABEL_LIMIT, scale))
        answer = fit(shown, _limit(BLOCK_LIMIT, scale))
        line = f"**{label}**: {answer} (answered by {_who(person, mentions)})"
        card = _card([_text(line)], mentions=mentions)
        return _activity(f"{question_label}: {shown}", card, limit=_limit(TEXT_LIMIT, scale))

    return _scaled(build)


def parent_message(*, name: str, owner: Mapping[str, Any], progress: tuple[int, int]) -> dict:
    """Render the first message of a project's conversation: name, owner and progress."""
    mentions = _Mentions()
    done, total = progress
    body = [
        _heading(f"Planning {fit(name, TITLE_LIMIT)}"),
        _text(f"Owner: {_who(owner, mentions)}"),
        _subtle(f"Progress: {done} of {total} questions {progress_bar(done, total)}"),
    ]
    text = f"Planning {name}, owned by {person_name(owner)}"
    return _activity(text, _card(body, mentions=mentions))


def text_only(text: str) -> dict[str, Any]:
    """Render a short private answer (help, an error) as a plain message activity."""
    return {"type": "message", "text": fit(text, TEXT_LIMIT) or "…"}
