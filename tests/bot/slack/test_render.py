"""Slack rendering: Block Kit JSON, metadata, escaping of typed text and Slack's limits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.slack import blocks as bk
from bot.slack import digest_blocks, reminder_blocks
from bot.slack.blocks import BLOCKS_TEXT_BUDGET, CUT_NOTE, escape
from bot.slack.render import answered_note, ephemeral_text, parent_message, render
from flows.model import default_flow
from flows.replies import Ask, Card, CommandRef, Field, IntakeDone, Say, SectionDone, Show

FLOW = default_flow()
SLACK_ID = "U024BE7LH"
BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
UNESCAPED_MARKUP = re.compile(r"<[!@#]|<https?:")


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


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_of(message: dict, kind: str) -> list[dict]:
    return [block for block in message["blocks"] if block["type"] == kind]


def buttons(message: dict) -> list[dict]:
    return [element for block in blocks_of(message, "actions") for element in block["elements"]]


def all_texts(message: dict) -> list[str]:
    """Every mrkdwn text a person would read in the message's blocks, in order."""
    texts = []
    for block in message["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [field["text"] for field in block.get("fields", [])]
        texts += [element["text"] for element in block.get("elements", []) if "text" in element]
    return [t if isinstance(t, str) else t["text"] for t in texts]


def text_size(value: Any) -> int:
    if isinstance(value, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else text_size(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    return 0


def check_structure(message: dict) -> None:
    """Check what Slack checks and slack_sdk does not: counts, lengths, unique action ids."""
    assert isinstance(message["text"], str) and 0 < len(message["text"]) <= 3000
    assert not BROKEN_ENTITY.search(message["text"])
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    action_ids = []
    for block in blocks:
        assert block["type"] in {"section", "context", "actions", "header"}
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] == "mrkdwn"
                assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            for field in block.get("fields", []):
                assert field["type"] == "mrkdwn" and len(field["text"]) <= 2000
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(len(element["text"]) <= 2000 for element in block["elements"])
        elif block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        elif block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for element in block["elements"]:
                assert element["type"] == "button"
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
                action_ids.append(element["action_id"])
    assert len(action_ids) == len(set(action_ids))
    assert text_size(blocks) <= BLOCKS_TEXT_BUDGET
    json.dumps(message)  # the whole message is plain JSON, ready for the Web API


# Questions


def test_choice_question_has_a_button_per_choice_and_skip_and_later():
    message = render(ask("stage"), project_id=7)

    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in buttons(message)] == [
        ("answer:stage:0", "MVP", "MVP"),
        ("answer:stage:1", "Growth", "Growth"),
        ("answer:stage:2", "Maturity", "Maturity"),
        ("skip:stage", "skip", "Skip"),
        ("later:stage", "later", "Answer later"),
    ]
    assert message["metadata"] == {
        "event_type": "mlplan_question",
        "event_payload": {
            "project_id": 7,
            "question_id": "stage",
            "kind": "choice",
            "choices": ["MVP", "Growth", "Maturity"],
        },
    }
    assert message["text"] == FLOW.questions["stage"].prompt
    check_structure(message)


def test_text_question_has_no_choices_and_only_skip_and_later():
    message = render(ask("problem"), project_id=7)

    assert message["metadata"]["event_payload"] == {
        "project_id": 7,
        "question_id": "problem",
        "kind": "text",
    }
    assert [(b["action_id"], b["value"]) for b in buttons(message)] == [
        ("skip:problem", "skip"),
        ("later:problem", "later"),
    ]
    check_structure(message)


def test_yesno_question_has_yes_and_no_buttons():
    message = render(ask("heuristic_enough"), project_id=7)

    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in buttons(message)] == [
        ("answer:heuristic_enough:yes", "yes", "Yes"),
        ("answer:heuristic_enough:no", "no", "No"),
        ("skip:heuristic_enough", "skip", "Skip"),
        ("later:heuristic_enough", "later", "Answer later"),
    ]
    assert message["metadata"]["event_payload"]["kind"] == "yesno"
    assert "choices" not in message["metadata"]["event_payload"]


def test_question_shows_prompt_number_and_example():
    question = FLOW.questions["monthly_cost_per_person"]
    message = render(ask("monthly_cost_per_person", number=40, total=81), project_id=1)

    texts = all_texts(message)
    assert escape(question.prompt) in texts
    assert f"Question 40 of 81 · e.g. {escape(question.example)}" in texts
    assert message["metadata"]["event_payload"]["kind"] == "money"
    assert not blocks_of(message, "header")  # it does not open its section


def test_a_question_asked_again_shares_no_block_with_the_message_before():
    first = render(ask("stage"), project_id=7)
    as_sent = json.dumps(first)
    first["blocks"][0]["text"]["text"] = "changed"
    first["blocks"][-1]["elements"][0]["value"] = "changed"
    assert json.dumps(render(ask("stage"), project_id=7)) == as_sent
    form = buttons(render(ask("stage", opens_section=True), project_id=8))[-1]
    assert form["action_id"] == "form:" + FLOW.section_of["stage"].id and form["value"] == "8"


def test_opening_question_names_its_section():
    section = FLOW.section_of["stage"]
    message = render(ask("stage", opens_section=True), project_id=7)

    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"{section.order}. {section.title}"},
    }
    assert message["blocks"][1]["type"] == "context"
    assert message["blocks"][1]["elements"][0]["text"] == escape(section.intro)


def test_refusal_comes_first_and_replaces_the_section_header():
    refusal = "I could not read `<!channel> lots` as an amount, like `$120k`."
    message = render(
        ask("monthly_cost_per_person", opens_section=True, refusal=refusal), project_id=7
    )

    first = message["blocks"][0]
    assert first["type"] == "section"
    assert first["text"]["text"] == ":warning: " + escape(refusal)
    assert "&lt;!channel&gt;" in first["text"]["text"]
    assert not blocks_of(message, "header")
    assert message["metadata"]["event_payload"]["question_id"] == "monthly_cost_per_person"


def test_current_answer_is_shown_escaped():
    message = render(ask("problem", current="Shelves & <b>bins</b>"), project_id=7)

    assert (
        "Current answer: Shelves &amp; &lt;b&gt;bins&lt;/b&gt;. Reply to change it,"
        " or `keep` to keep it."
    ) in all_texts(message)


def test_every_packaged_question_renders_within_slack_limits():
    for number, (question_id, question) in enumerate(FLOW.questions.items(), 1):
        message = render(
            ask(question_id, number=number, total=len(FLOW.questions), opens_section=True),
            project_id=3,
        )
        check_structure(message)
        assert message["metadata"]["event_payload"]["question_id"] == question_id
        # choices, yes and no, Skip, Answer later, and the section's "Fill in as a form"
        expected = len(question.choices) + (2 if question.kind == "yesno" else 0) + 3
        assert len(buttons(message)) == expected
        assert buttons(message)[-1]["action_id"] == f"form:{FLOW.section_of[question_id].id}"


def test_many_choices_are_split_into_actions_blocks_of_at_most_25():
    choices = tuple(f"Option {i}" for i in range(30))
    question = FLOW.questions["stage"].model_copy(update={"choices": choices})
    message = render(ask("stage", question=question), project_id=7)

    actions = blocks_of(message, "actions")
    assert [len(block["elements"]) for block in actions] == [25, 7]
    ids = [b["action_id"] for b in buttons(message)]
    assert ids[:30] == [f"answer:stage:{i}" for i in range(30)]
    assert ids[30:] == ["skip:stage", "later:stage"]
    assert message["metadata"]["event_payload"]["choices"] == list(choices)
    check_structure(message)


def test_long_choice_is_cut_on_its_button():
    choice = "A very long choice " * 10
    question = FLOW.questions["stage"].model_copy(update={"choices": (choice, "Short")})
    message = render(ask("stage", question=question), project_id=7)

    first = buttons(message)[0]
    assert len(first["text"]["text"]) <= 75
    assert first["text"]["text"].endswith("… (cut)")
    assert first["value"] == choice  # short enough for a value: kept whole
    check_structure(message)


# Escaping


def test_escape_neutralises_mentions_pings_and_links():
    assert escape("<!channel> & <@U1> <http://x|y>") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;http://x|y&gt;"
    )
    assert escape("plain *bold* `code`") == "plain *bold* `code`"


def test_typed_text_never_pings_or_links_anywhere():
    messages = [
        render(ask("problem", current="<!channel> hi <@U999>"), project_id=7),
        render(Say("Heads up <!here>, see <https://evil|click>"), project_id=7),
        render(
            Show(Card(title="Plan", fields=(Field("Link", "<https://evil|click>"),))),
            project_id=7,
        ),
        parent_message(
            name="<!channel> Churn", owner={"id": "x", "name": "<@U999>"}, progress=(0, 1)
        ),
        answered_note(question_label="<!here>", shown="<@U999>", person={"name": "<!channel>"}),
        ephemeral_text("<!everyone> <@U999> <https://evil>"),
    ]
    for message in messages:
        serialized = json.dumps(message)
        assert "<!" not in serialized
        assert "<@U999>" not in serialized
        assert "<https" not in serialized
        assert not UNESCAPED_MARKUP.search(serialized)


def test_card_title_is_plain_text_in_the_header_and_escaped_in_the_fallback():
    message = render(Show(Card(title="<!channel> Plan & more")), project_id=7)

    # plain_text is never parsed for mentions or links, so the header shows the title as typed
    assert message["blocks"][0]["text"] == {"type": "plain_text", "text": "<!channel> Plan & more"}
    assert message["text"] == "&lt;!channel&gt; Plan &amp; more"


def test_say_is_one_escaped_section():
    message = render(Say("Ping <!here> & go"), project_id=7)

    assert message == {
        "text": "Ping &lt;!here&gt; &amp; go",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Ping &lt;!here&gt; &amp; go"}}
        ],
    }


def test_field_with_a_slack_person_is_a_mention():
    card = Card(
        title="Plan",
        fields=(
            Field("Sign-off", "@ann", person={"id": SLACK_ID, "name": "ann"}),
            Field("Model live", "@ann, due 5 Dec 2026", person={"id": SLACK_ID, "name": "ann"}),
            Field("Reviewer", "someone", person={"id": SLACK_ID}),
        ),
    )
    fields = blocks_of(render(Show(card), project_id=7), "section")[0]["fields"]

    assert [f["text"] for f in fields] == [
        f"*Sign-off*\n<@{SLACK_ID}>",
        f"*Model live*\n<@{SLACK_ID}>, due 5 Dec 2026",
        f"*Reviewer*\n<@{SLACK_ID}> · someone",
    ]


@pytest.mark.parametrize(
    "person",
    [
        {"id": "29:1aBc", "name": "<!channel>"},
        {"id": "u1", "name": "<!channel>"},
        {"name": "<!channel>"},
    ],
)
def test_field_with_a_person_without_a_slack_id_is_escaped_text(person):
    card = Card(title="Plan", fields=(Field("Owner", "@<!channel>", person=person),))
    message = render(Show(card), project_id=7)

    assert blocks_of(message, "section")[0]["fields"][0]["text"] == "*Owner*\n@&lt;!channel&gt;"
    assert "<@" not in json.dumps(message)


# Cards


def test_card_layout_and_show_has_no_metadata():
    card = Card(
        title="Status: Churn",
        fields=(Field("Stage", "MVP"), Field("Problem", "Stock & waste")),
        progress=(12, 81),
        warnings=("No baseline <yet>", "Costs unknown"),
        footer="Export with `mlplan export`",
    )
    message = render(Show(card), project_id=7)

    assert "metadata" not in message
    assert message["text"] == "Status: Churn"
    assert message["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "text": "Status: Churn"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "▰▱▱▱▱▱▱▱▱▱  12 of 81 questions answered"}],
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Stage*\nMVP"},
                {"type": "mrkdwn", "text": "*Problem*\nStock &amp; waste"},
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":warning: No baseline &lt;yet&gt;\n:warning: Costs unknown",
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "Export with `mlplan export`"}],
        },
    ]


@pytest.mark.parametrize(
    ("progress", "bar"),
    [
        ((0, 81), "▱" * 10),
        ((1, 81), "▰" + "▱" * 9),
        ((80, 81), "▰" * 9 + "▱"),
        ((81, 81), "▰" * 10),
        ((41, 82), "▰" * 5 + "▱" * 5),
    ],
)
def test_progress_bar_is_full_only_when_done(progress, bar):
    message = render(Show(Card(title="T", progress=progress)), project_id=7)

    assert message["blocks"][1]["elements"][0]["text"].startswith(bar + "  ")


def test_section_done_metadata():
    card = Card(title="Section 1 of 5 done", fields=(Field("Stage", "MVP"),), progress=(9, 81))
    message = render(SectionDone("intake", card), project_id=7)

    assert message["metadata"] == {
        "event_type": "mlplan_section_complete",
        "event_payload": {"project_id": 7, "section_id": "intake", "progress": [9, 81]},
    }
    assert message["text"] == "Section 1 of 5 done"
    check_structure(message)


def test_intake_done_metadata():
    card = Card(title="Plan: Churn", fields=(Field("Stage", "MVP"),), progress=(81, 81))
    message = render(IntakeDone(card), project_id=12)

    assert message["metadata"] == {
        "event_type": "mlplan_intake_complete",
        "event_payload": {"project_id": 12, "progress": [81, 81]},
    }
    check_structure(message)


def test_card_with_120_fields_stays_within_limits_and_says_what_it_left_out():
    fields = tuple(
        Field(f"Question {i}", f"An answer of some length, number {i}. " * 4) for i in range(120)
    )
    message = render(Show(Card(title="Plan", fields=fields, progress=(81, 81))), project_id=7)

    check_structure(message)
    shown = sum(len(block.get("fields", [])) for block in message["blocks"])
    assert 0 < shown < 120
    note = [t for t in all_texts(message) if "more fields not shown" in t]
    assert note == [
        f"… {120 - shown} more fields not shown: see `/mlplan status &lt;project&gt;`"
        " or `mlplan export`"
    ]
    first = blocks_of(message, "section")[0]["fields"][0]["text"]
    assert first == "*Question 0*\n" + fields[0].value  # shown fields are whole, in order


def test_card_with_600_short_fields_keeps_to_50_blocks():
    fields = tuple(Field(f"q{i}", "ok") for i in range(600))
    card = Card(title="Plan", fields=fields, progress=(1, 2), warnings=("w",), footer="f")
    message = render(Show(card), project_id=7)

    check_structure(message)
    assert len(message["blocks"]) == 50
    shown = sum(len(block.get("fields", [])) for block in message["blocks"])
    assert shown == (50 - 5) * 10  # header, progress, note, warnings, footer
    assert f"… {600 - shown} more fields not shown" in message["blocks"][-3]["elements"][0]["text"]
    assert message["blocks"][-2]["text"]["text"] == ":warning: w"  # warnings are never dropped


def test_fields_that_fit_are_all_shown_without_a_note():
    fields = tuple(Field(f"q{i}", "ok") for i in range(120))
    message = render(Show(Card(title="Plan", fields=fields)), project_id=7)

    assert sum(len(block.get("fields", [])) for block in message["blocks"]) == 120
    assert len(message["blocks"]) == 1 + 12
    assert "not shown" not in json.dumps(message)


def test_many_long_values_are_shortened_before_any_field_is_dropped():
    fields = tuple(Field(f"q{i}", "word " * 2000) for i in range(20))
    message = render(Show(Card(title="Plan", fields=fields)), project_id=7)

    check_structure(message)
    texts = [f["text"] for block in blocks_of(message, "section") for f in block["fields"]]
    assert len(texts) == 20
    assert all(text.endswith(CUT_NOTE) and len(text) <= 300 for text in texts)


# Limits


def test_ten_thousand_characters_are_cut_everywhere():
    long = "An answer that goes on. " * 420  # about 10,000 characters
    assert len(long) > 10_000
    messages = [
        render(Say(long), project_id=7),
        render(ask("problem", current=long, refusal=long), project_id=7),
        render(Show(Card(title=long, fields=(Field("Problem", long),), footer=long)), project_id=7),
        parent_message(name=long, owner={"id": SLACK_ID}, progress=(1, 81)),
        answered_note(question_label="Problem", shown=long, person={"id": SLACK_ID}),
    ]
    for message in messages:
        check_structure(message)
        assert "… (cut)" in json.dumps(message, ensure_ascii=False)

    say = messages[0]["blocks"][0]["text"]["text"]
    assert len(say) <= 3000 and say.endswith("… (cut)")
    assert long.startswith(unescape(say.removesuffix(CUT_NOTE)))
    field = blocks_of(messages[2], "section")[0]["fields"][0]["text"]
    assert len(field) <= 2000 and field.endswith("… (cut)")
    assert messages[2]["blocks"][0]["text"]["text"].endswith("… (cut)")
    assert len(messages[2]["blocks"][0]["text"]["text"]) <= 150
    refusal = messages[1]["blocks"][0]["text"]["text"]
    assert len(refusal) <= 3000 and refusal.endswith("… (cut)")
    assert messages[4]["blocks"][0]["text"]["text"].endswith(f"(answered by <@{SLACK_ID}>)")
    assert len(ephemeral_text(long)["text"]) <= 3000


@pytest.mark.parametrize("text", ["&" * 3000, "<" * 1001, "a&" * 1500, "x" * 2996 + "&&&&"])
def test_cutting_never_splits_an_entity(text):
    cut = render(Say(text), project_id=7)["blocks"][0]["text"]["text"]

    assert len(cut) <= 3000
    assert cut.endswith(CUT_NOTE)
    kept = cut.removesuffix(CUT_NOTE)
    assert not BROKEN_ENTITY.search(kept)
    assert not re.search(r"&(a|am|amp|l|lt|g|gt)?$", kept)
    assert text.startswith(unescape(kept))
    assert len(unescape(kept)) > 0


def test_cut_prefers_a_space_and_keeps_accents_whole():
    assert bk.fit("abc def", 7) == "abc def"
    cut = bk.fit("word " * 100, 50)
    assert cut == " ".join(["word"] * 8) + CUT_NOTE  # not "… word wo … (cut)"
    assert len(cut) <= 50
    accented = "e\u0301" * 40  # é as e + combining acute accent
    kept = bk.fit(accented, 13 + len(CUT_NOTE)).removesuffix(CUT_NOTE)  # 13 splits a pair
    assert len(kept) % 2 == 0 and kept.endswith("\u0301")


# Other messages


def test_parent_message_names_the_project_and_mentions_the_owner():
    message = parent_message(
        name="<!channel> Churn", owner={"id": SLACK_ID, "name": "ann"}, progress=(12, 81)
    )

    text = message["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; Churn" in text
    assert f"<@{SLACK_ID}>" in text
    assert message["text"] == "Planning &lt;!channel&gt; Churn, owned by @ann"
    assert message["blocks"][1]["elements"][0]["text"] == "Progress: 12 of 81 questions ▰▱▱▱▱▱▱▱▱▱"
    check_structure(message)


def test_parent_message_names_an_owner_without_a_slack_id():
    message = parent_message(name="Churn", owner={"id": "u1", "name": "ann & co"}, progress=(0, 81))

    assert message["blocks"][0]["text"]["text"] == "*Planning Churn*\nOwner: @ann &amp; co"
    assert "<@" not in json.dumps(message)


def test_answered_note_has_no_buttons():
    message = answered_note(question_label="Stage", shown="MVP & more", person={"id": SLACK_ID})

    assert message["blocks"] == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Stage*: MVP &amp; more (answered by <@{SLACK_ID}>)",
            },
        }
    ]
    assert not blocks_of(message, "actions")
    assert "metadata" not in message
    check_structure(message)


def test_ephemeral_text_is_escaped_text_only():
    assert ephemeral_text("Type `skip` <now> & go") == {"text": "Type `skip` &lt;now&gt; &amp; go"}


def test_unknown_reply_is_refused():
    with pytest.raises(TypeError):
        render("not a reply", project_id=7)  # type: ignore[arg-type]


# Commands and platform limits


def test_a_command_is_written_with_the_configured_slash_command():
    say = Say(("Use ", CommandRef("status", ("Churn & co",)), " to see it."))

    assert render(say, project_id=7)["text"] == "Use `/mlplan status Churn &amp; co` to see it."
    assert render(say, project_id=7, slash_command="/plan")["text"] == (
        "Use `/plan status Churn &amp; co` to see it."
    )


def test_a_card_footer_and_field_write_their_commands_with_the_slash_command():
    card = Card(
        title="Plan",
        fields=(Field("More", ("see ", CommandRef("list"))),),
        footer=(CommandRef("status", ("Churn",)),),
    )

    dump = json.dumps(render(Show(card), project_id=7, slash_command="/plan"))
    assert "see `/plan list`" in dump and "`/plan status Churn`" in dump
    assert "/mlplan" not in dump


def test_a_digest_writes_its_pointers_with_the_slash_command_and_stays_in_one_message():
    from datetime import UTC, datetime, timedelta

    from flows.digest import ProjectSnapshot
    from flows.digest_build import build_digest

    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    projects = [
        ProjectSnapshot(
            id=i,
            name=f"Project {i:03d} <!channel> " + "x" * 150,
            stage="MVP",
            answers={"stage": "MVP"},
            milestones=(),
            docs=(),
            last_activity=now - timedelta(days=1),
            owner={"id": "U0ANN", "name": "ann"},
            link=f"https://acme.slack.com/archives/C1/p{i}",
        )
        for i in range(60)
    ]
    digest = build_digest(FLOW, projects, today=now.date(), now=now)
    [message] = digest_blocks.digest_messages(digest, slash_command="/plan")

    dump = json.dumps(message, ensure_ascii=False)
    assert "and 50 more: `/plan list` · any project: `/plan status &lt;project&gt;`" in dump
    shown = json.dumps([b.get("text") for b in message["blocks"]], ensure_ascii=False)
    assert "/mlplan" not in dump and "<!channel>" not in shown  # typed text never pings
    assert len(message["blocks"]) <= bk.MAX_BLOCKS
    rows = [b for b in message["blocks"] if b["type"] == "actions"]
    assert len(rows) == 10
    for block in message["blocks"]:
        assert len(block.get("text", {}).get("text", "")) <= bk.SECTION_TEXT_LIMIT


def test_a_reminder_renders_each_items_buttons_as_slack_sdk_validates_them():
    from slack_sdk.models.blocks import ActionsBlock

    from flows.replies import Reminder, RemindItem

    items = (
        RemindItem("milestone", 7, "Baseline", "due today"),
        RemindItem("doc", 123456, "Runbook", "due today"),
    )
    blocks = reminder_blocks.reminder(Reminder(project_id=1, project="Churn", items=items))[
        "blocks"
    ]
    actions = [b for b in blocks if b["type"] == "actions"]
    expected = [
        ActionsBlock(
            elements=[
                bk.button(label, value=ref, action_id=f"remind:{verb}:{ref}")
                for verb, label in reminder_blocks.REMINDER_ACTIONS
            ]
        ).to_dict()
        for ref in ("milestone:7", "doc:123456")
    ]
    assert actions == expected
    assert actions[0]["elements"][0] is not actions[1]["elements"][0]


def test_a_reminder_of_what_is_owed_has_answer_now_snooze_skip_and_continue():
    from slack_sdk.models.blocks import ActionsBlock

    from bot.slack.translate import REMINDER_ACTION
    from flows.replies import Reminder, RemindItem

    items = (
        RemindItem("question", 7, "Target users", "left for later on Mon 23 Nov 2026"),
        RemindItem("owed", 8, "Data landscape", "assigned by @ann 3 days ago"),
    )
    message = reminder_blocks.reminder(
        Reminder(project_id=1, project="Churn", items=items, about="owed")
    )
    assert message["text"] == "Waiting for you in Churn: Target users, Data landscape"
    assert message["blocks"][0]["text"]["text"] == "Waiting for you: Churn"
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert actions == [
        ActionsBlock(
            elements=[
                bk.button(label, value=ref, action_id=f"remind:{verb}:{ref}")
                for verb, label in reminder_blocks.OWED_ACTIONS[ref.split(":")[0]]
            ]
        ).to_dict()
        for ref in ("question:7", "owed:8")
    ]
    ids = [e["action_id"] for a in actions for e in a["elements"]]
    assert ids == [
        "remind:answer:question:7",
        "remind:snooze7:question:7",
        "remind:skip:question:7",
        "remind:answer:owed:8",
    ]
    assert all(REMINDER_ACTION.match(i) for i in ids)
    assert not REMINDER_ACTION.match("remind:done:question:7")  # no such button
    assert not REMINDER_ACTION.match("remind:skip:owed:8")


# Follow-ups and confirmations

FOLLOW_UP = "That names no figure. Which value of the metric counts as success?"


def test_a_follow_up_is_the_same_question_marked_with_a_pointing_hand_and_a_keep_button():
    message = render(
        ask("output_target", follow_up=FOLLOW_UP, current="Better <than> today"), project_id=7
    )

    first = message["blocks"][0]
    assert first["type"] == "section" and first["text"]["text"] == f":point_right: {FOLLOW_UP}"
    assert not blocks_of(message, "header")
    assert message["metadata"]["event_payload"] == {
        "project_id": 7,
        "question_id": "output_target",
        "kind": "text",
    }
    assert message["text"] == FOLLOW_UP  # what a notification shows
    assert escape(FLOW.questions["output_target"].prompt) in all_texts(message)
    assert any(
        t.startswith("Current answer: Better &lt;than&gt; today.") for t in all_texts(message)
    )
    # Its answer is saved: Keep keeps it; there is nothing to skip or leave for later.
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in buttons(message)] == [
        ("answer:output_target:keep", "keep", "Keep")
    ]
    check_structure(message)


def test_a_confirmation_comes_first_as_a_checked_line():
    message = render(ask("ms_baseline_owner", confirmation="Saved: Fri 11 Dec 2026."), project_id=7)

    assert message["blocks"][0] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": ":white_check_mark: Saved: Fri 11 Dec 2026."}],
    }
    assert message["text"] == FLOW.questions["ms_baseline_owner"].prompt
    check_structure(message)
