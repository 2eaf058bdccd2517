"""The conversation service: engine turns stored per workspace, races settled, intakes resumed."""

import asyncio
from zoneinfo import ZoneInfo

from bot.context import Place, Speaker
from bot.conversation import Conversations
from flows.replies import Ask, Say, Show, spell
from storage import projects as store
from tests.conftest import NOW

ALICE = Speaker(id="U1", name="alice", timezone="Europe/Berlin")
BOB = Speaker(id="U2", name="bob")


def place(workspace="T1", thread="100.1"):
    return Place("slack", workspace, "C1", thread)


async def _start(conversations, name="Churn model", workspace="T1", thread="100.1"):
    outcome = await conversations.new_project(
        place=Place("slack", workspace, "C1"), speaker=ALICE, name=name, now=NOW
    )
    await conversations.set_thread(
        place=place(workspace), project_id=outcome.project.id, channel="C1", thread=thread, now=NOW
    )
    return outcome


async def test_new_project_asks_the_first_question_and_is_owned_by_its_creator(conversations):
    outcome = await _start(conversations)
    ask = outcome.replies[0]
    assert isinstance(ask, Ask) and ask.question.id == "problem" and ask.number == 1
    assert outcome.project.owner == {"id": "U1", "name": "alice"}
    assert outcome.project.progress[0] == 0


async def test_a_duplicate_name_is_refused_privately(conversations):
    await _start(conversations)
    again = await conversations.new_project(
        place=place(), speaker=BOB, name="churn  MODEL", now=NOW
    )
    assert again.project is None and again.private
    assert "already a project called" in again.replies[0].text


async def test_replies_are_stored_and_the_next_question_asked(conversations, sessions):
    started = await _start(conversations)
    outcome = await conversations.reply(place=place(), speaker=BOB, text="Customers leave", now=NOW)
    assert outcome.stored and outcome.replies[-1].question.id == "target_users"
    async with sessions() as session:
        history = await store.answer_history(session=session, project_id=started.project.id)
    assert [(a.question_id, a.value, a.author["id"]) for a in history] == [
        ("problem", "Customers leave", "U2")
    ]


async def test_a_malformed_answer_stores_nothing_and_asks_again(conversations, sessions):
    started = await _start(conversations)
    async with sessions() as session:
        project = await store.get_project(
            session=session, workspace_id=1, project_id=started.project.id
        )
        await store.save_turn(
            session=session,
            project=project,
            expected_turn=0,
            current="team_size",
            author={"id": "x"},
            now=NOW,
        )
        await session.commit()
    outcome = await conversations.reply(place=place(), speaker=BOB, text="a few", now=NOW)
    assert not outcome.stored
    ask = outcome.replies[0]
    assert ask.question.id == "team_size" and "`" in ask.refusal
    async with sessions() as session:
        assert await store.answer_history(session=session, project_id=started.project.id) == []


async def test_messages_outside_a_project_thread_are_not_ours(conversations):
    await _start(conversations)
    assert (
        await conversations.reply(place=place(thread="999.9"), speaker=BOB, text="hi", now=NOW)
        is None
    )
    assert (
        await conversations.reply(place=place(workspace="T2"), speaker=BOB, text="hi", now=NOW)
        is None
    )


async def test_two_people_answering_at_once_one_is_taken_and_the_other_told(
    conversations, sessions, other_sessions, flow, monkeypatch
):
    started = await _start(conversations)
    elsewhere = Conversations(sessions=other_sessions, flow=flow, default_timezone=ZoneInfo("UTC"))
    barrier = asyncio.Barrier(2)
    real_save = store.save_turn

    async def save_after_both_read(**kwargs):
        await barrier.wait()  # both people have read the same open question
        return await real_save(**kwargs)

    monkeypatch.setattr(store, "save_turn", save_after_both_read)
    results = await asyncio.gather(
        conversations.reply(place=place(), speaker=ALICE, text="Alice's problem", now=NOW),
        elsewhere.reply(place=place(), speaker=BOB, text="Bob's problem", now=NOW),
    )
    taken = [r for r in results if r.stored]
    told = [r for r in results if not r.stored]
    assert len(taken) == 1 and len(told) == 1
    async with sessions() as session:
        history = await store.answer_history(session=session, project_id=started.project.id)
    assert len(history) == 1
    winner = history[0]
    loser_text = "Bob's problem" if winner.value == "Alice's problem" else "Alice's problem"
    message = told[0].replies[0]
    assert isinstance(message, Say)
    assert repr(loser_text) in message.text and repr(winner.raw) in message.text


async def test_status_list_and_unknown_project(conversations):
    await _start(conversations)
    await conversations.reply(place=place(), speaker=ALICE, text="Customers leave", now=NOW)
    status = await conversations.status(place=place(), name="churn model", now=NOW)
    assert isinstance(status.replies[0], Show)
    assert status.replies[0].card.progress[0] == 1
    listed = await conversations.list_projects(place=place(), now=NOW)
    assert [f.label for f in listed.replies[0].card.fields] == ["Churn model"]
    assert listed.replies[0].card.title == "1 project"  # not "1 project(s)"
    unknown = await conversations.status(place=place(), name="churn modle", now=NOW)
    assert unknown.private and "'Churn model'" in unknown.replies[0].text
    elsewhere = await conversations.list_projects(place=place(workspace="T2"), now=NOW)
    assert "No projects yet" in elsewhere.replies[0].text


async def test_ask_section_reopens_one_section_and_ends_the_sitting_there(conversations, flow):
    await _start(conversations)
    outcome = await conversations.sections.ask(
        place=place(), speaker=ALICE, name="Churn model", section="costs", now=NOW
    )
    assert outcome.replies[0].question.id == "currency"
    costs = flow.section("costs")
    replies = []
    for _ in costs.questions:
        result = await conversations.reply(place=place(), speaker=ALICE, text="skip", now=NOW)
        replies.extend(result.replies)
        if result.done or isinstance(result.replies[-1], Say):
            break
    assert any(getattr(r, "section_id", None) == "costs" for r in replies)
    assert isinstance(replies[-1], Say) and "Still open" in spell(replies[-1].text, str)
    bad = await conversations.sections.ask(
        place=place(), speaker=ALICE, name="Churn model", section="nope", now=NOW
    )
    assert "There is no section" in bad.replies[0].text


async def test_dates_are_read_in_the_speakers_time_zone(conversations, sessions):
    started = await _start(conversations)
    async with sessions() as session:
        project = await store.get_project(
            session=session, workspace_id=1, project_id=started.project.id
        )
        await store.save_turn(
            session=session,
            project=project,
            expected_turn=0,
            current="ms_baseline_due",
            author={"id": "x"},
            now=NOW,
        )
        await session.commit()
    late_evening_utc = NOW.replace(hour=23, minute=30)  # already Tuesday in Berlin
    await conversations.reply(place=place(), speaker=ALICE, text="tomorrow", now=late_evening_utc)
    async with sessions() as session:
        answers = await store.latest_answers(session=session, project_id=started.project.id)
    assert answers["ms_baseline_due"] == "2026-11-25"


async def test_resume_finds_the_intake_this_person_left(conversations):
    await _start(conversations)
    await conversations.reply(place=place(), speaker=BOB, text="Customers leave", now=NOW)
    resumed = await conversations.resume(place=place(), speaker=BOB, now=NOW)
    assert resumed.project.name == "Churn model"
    assert resumed.replies[0].question.id == "target_users"
    assert await conversations.resume(place=place(), speaker=Speaker(id="U9"), now=NOW) is None


async def test_ask_walks_every_question_of_a_section_again_and_keep_keeps_the_answer(
    conversations, flow
):
    await _start(conversations)
    walked = await conversations.sections.ask(
        place=place(), speaker=ALICE, name="Churn model", section="data", now=NOW
    )
    assert walked.replies[0].question.id == "data_availability"
    assert walked.replies[0].current is None
    refused = await conversations.reply(place=place(), speaker=ALICE, text="keep", now=NOW)
    assert refused.replies[0].question.id == "data_availability"
    assert "no answer to keep" in refused.replies[0].refusal
    await conversations.reply(place=place(), speaker=ALICE, text="CRM tables", now=NOW)
    second = await conversations.reply(place=place(), speaker=ALICE, text="1", now=NOW)
    assert second.replies[-1].question.id == "data_quality"

    # Walked again, every question comes back in order with its current answer.
    again = await conversations.sections.ask(
        place=place(), speaker=ALICE, name="Churn model", section="data", now=NOW
    )
    first = again.replies[0]
    assert first.question.id == "data_availability" and first.current == "CRM tables"
    kept = await conversations.reply(place=place(), speaker=ALICE, text="keep", now=NOW)
    assert kept.replies[-1].question.id == "data_access" and kept.replies[-1].current
    changed = await conversations.reply(place=place(), speaker=ALICE, text="2", now=NOW)
    assert changed.replies[-1].question.id == "data_quality"
    async with conversations.sessions() as session:
        [project] = await store.list_projects(session=session, workspace_id=1)
        history = await store.answer_history(session=session, project_id=project.id)
    versions = sorted((a.question_id, a.version) for a in history)
    assert versions == [("data_access", 1), ("data_access", 2), ("data_availability", 1)]

    # Keeping to the end of the section ends the walk with the section's card.
    section = flow.section("data")
    replies = []
    for _ in section.questions:
        result = await conversations.reply(place=place(), speaker=ALICE, text="skip", now=NOW)
        replies.extend(result.replies)
        if isinstance(result.replies[-1], Say):
            break
    assert any(getattr(r, "section_id", None) == "data" for r in replies)
    assert "Still open" in spell(replies[-1].text, str)


async def test_edit_asks_one_question_again_then_returns_to_the_open_one(conversations):
    await _start(conversations)
    await conversations.reply(place=place(), speaker=ALICE, text="Churn is high", now=NOW)
    await conversations.reply(place=place(), speaker=ALICE, text="Account managers", now=NOW)
    # In the thread, by label (any case); an answer that merely starts with "edit" is an answer.
    edit = await conversations.reply(
        place=place(), speaker=ALICE, text="edit problem statement", now=NOW
    )
    assert edit.replies[-1].question.id == "problem"
    assert edit.replies[-1].current == "Churn is high"
    back = await conversations.reply(
        place=place(), speaker=ALICE, text="Churn is very high", now=NOW
    )
    assert back.replies[-1].question.id == "value_proposition"
    # From the command, by id, with a project name of two words.
    command = await conversations.sections.edit(
        place=place(thread=None), speaker=ALICE, text="Churn model target_users", now=NOW
    )
    assert command.replies[-1].question.id == "target_users" and not command.private
    unknown = await conversations.sections.edit(
        place=place(thread=None), speaker=ALICE, text="Churn model nonsense words", now=NOW
    )
    assert unknown.private and "no question 'nonsense words'" in unknown.replies[0].text
    nobody = await conversations.sections.edit(
        place=place(thread=None), speaker=ALICE, text="Other project problem", now=NOW
    )
    assert nobody.private and "no project called" in nobody.replies[0].text
    async with conversations.sessions() as session:
        [project] = await store.list_projects(session=session, workspace_id=1)
        history = await store.answer_history(session=session, project_id=project.id)
    assert sorted((a.question_id, a.version) for a in history) == [
        ("problem", 1),
        ("problem", 2),
        ("target_users", 1),
    ]


async def test_an_answer_that_starts_with_edit_is_an_answer(conversations):
    await _start(conversations)
    outcome = await conversations.reply(
        place=place(), speaker=ALICE, text="edit the invoices by hand", now=NOW
    )
    assert outcome.stored and outcome.replies[-1].question.id == "target_users"
