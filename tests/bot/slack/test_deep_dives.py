"""Deep dives and assigned sections through Slack's HTTP API: Start now, Assign, Later, `assign`."""

import sqlalchemy as sa

from storage import projects as store
from storage.models import Answer, Project
from tests.transcript import Script


def slack_form(text: str) -> str:
    """Type an answer as Slack sends it: a neutral mention becomes `<@id|name>`."""
    from tests.transcript import mentioned

    person = mentioned(text)
    return f"<@{person[0]}|{person[1]}>" if person else text


async def finish_core(slack, flow) -> str:
    """Start a project and answer its core with good answers; return its thread."""
    thread = await slack.start()
    script = Script()
    for _ in range(40):
        if slack.posted("mlplan_intake_complete"):
            return thread
        question = flow.questions[slack.last_question()["metadata"]["event_payload"]["question_id"]]
        await slack.say(slack_form(script.good_answer(question)), thread=thread)
        await slack.settle()
    raise AssertionError("the core did not complete")


def offer_row(message: dict, section_id: str) -> dict:
    """Find a deep dive's row of actions in the offer."""
    rows = [b for b in message["blocks"] if b["type"] == "actions"]
    return next(r for r in rows if r["block_id"].endswith(f":{section_id}"))


def question_id(message: dict) -> str:
    return message["metadata"]["event_payload"]["question_id"]


async def project_row(slack) -> Project:
    async with slack.runtime.sessions() as session:
        return await session.scalar(sa.select(Project))


async def test_start_now_walks_a_deep_dive_in_the_thread_and_ends_with_its_card(slack, flow):
    thread = await finish_core(slack, flow)
    offer = slack.posted()[-1]
    row = offer_row(offer, "costs_detail")
    start = row["elements"][0]
    assert start["text"]["text"] == "Start now" and start["action_id"] == "deep:start:costs_detail"
    message = {**slack.fake.sent("chat.postMessage")[-1].response["message"], "thread_ts": thread}
    response = await slack.press(
        message, start["action_id"], "costs_detail", block_id=row["block_id"]
    )
    assert response.status == 200
    await slack.settle()
    first = slack.last_question()
    assert first["thread_ts"] == thread and question_id(first) == "domain_expert_cost"
    assert "Costs in detail" in str(first["blocks"][0])  # the section opens with its header
    for _ in range(5):
        await slack.say("$5k", thread=thread)
        await slack.settle()
    done = slack.posted("mlplan_section_complete")[-1]
    assert done["metadata"]["event_payload"]["section_id"] == "costs_detail"
    assert "Deep dive done: Costs in detail" in str(done["blocks"])
    last, again = slack.posted()[-2:]
    assert "last question of this sitting" in last["text"]
    assert "costs_detail" not in str(again["blocks"]) and "deep:start:data" in str(again["blocks"])
    # The plan's end came once: a deep dive does not end the intake again.
    assert len(slack.posted("mlplan_intake_complete")) == 1


async def test_later_says_privately_how_to_open_the_deep_dive(slack, flow):
    thread = await finish_core(slack, flow)
    row = offer_row(slack.posted()[-1], "data")
    later = row["elements"][2]
    message = {**slack.fake.sent("chat.postMessage")[-1].response["message"], "thread_ts": thread}
    before = len(slack.posted())
    await slack.press(message, later["action_id"], "data", block_id=row["block_id"])
    await slack.settle()
    assert len(slack.posted()) == before  # nothing in the thread
    ephemeral = slack.fake.sent("chat.postEphemeral")[-1].args
    assert ephemeral["user"] == "U2"
    assert "“Data landscape” waits for later: `/mlplan ask Churn model data`" in ephemeral["text"]


async def test_assigning_a_deep_dive_asks_that_person_in_a_direct_message(slack, flow):
    thread = await finish_core(slack, flow)
    row = offer_row(slack.posted()[-1], "metrics_detail")
    picker = row["elements"][1]
    assert picker["type"] == "users_select"
    message = {**slack.fake.sent("chat.postMessage")[-1].response["message"], "thread_ts": thread}
    await slack.press(
        message,
        picker["action_id"],
        "",
        block_id=row["block_id"],
        type="users_select",
        selected_user="U3",
    )
    await slack.settle()
    owes, hello, first = slack.posted()[-3:]
    # The thread says who owes what; the person gets the section in a direct message.
    assert owes["thread_ts"] == thread and owes["channel"] == "C1"
    assert "@U3 owes “Metrics in detail” (4 questions), assigned by @u2" in owes["text"]
    assert hello["channel"] == "U3" and "thread_ts" not in hello
    assert "asked you to answer “Metrics in detail” of the plan 'Churn model'" in hello["text"]
    assert first["channel"] == "U3" and "thread_ts" not in first
    assert first["metadata"]["event_type"] == "mlplan_question"
    assert first["metadata"]["event_payload"]["question_id"] == "baseline_kind"
    assert first["metadata"]["event_payload"]["choices"][0] == "Human level"

    status = await slack.command("status Churn model")
    assert "Owed: Metrics in detail" in await status.text()

    # A reply in the direct conversation answers; the next question comes there.
    await slack.direct("Heuristic", user="U3", channel="D3")
    await slack.settle()
    second = slack.last_question()
    assert second["channel"] == "D3" and question_id(second) == "error_costs"
    # So does a reply in the thread of its first message.
    hello_ts = next(
        c.response["ts"] for c in slack.fake.sent("chat.postMessage") if c.args is hello
    )
    await slack.direct("Misses cost more", user="U3", channel="D3", thread=hello_ts)
    await slack.settle()
    third = slack.last_question()
    assert third["channel"] == "D3" and third["thread_ts"] == hello_ts
    assert question_id(third) == "explainability"
    await slack.direct("no", user="U3", channel="D3")
    await slack.direct("<@U4|dora>", user="U3", channel="D3")
    await slack.settle()
    done_in_dm, thanks, answered, done_in_thread = slack.posted()[-4:]
    assert done_in_dm["channel"] == "D3"
    assert done_in_dm["metadata"]["event_type"] == "mlplan_section_complete"
    assert "last question of “Metrics in detail”" in thanks["text"]
    assert (
        answered["thread_ts"] == thread and answered["text"] == "@U3 answered “Metrics in detail”."
    )
    assert done_in_thread["thread_ts"] == thread
    assert done_in_thread["metadata"]["event_payload"]["section_id"] == "metrics_detail"

    project = await project_row(slack)
    async with slack.runtime.sessions() as session:
        answers = await store.latest_answers(session=session, project_id=project.id)
        authors = dict((await session.execute(sa.select(Answer.question_id, Answer.author))).all())
    assert answers["baseline_kind"] == "Heuristic" and answers["explainability"] is False
    assert answers["signoff"] == {"id": "U4", "name": "dora"}
    assert authors["baseline_kind"] == {"id": "U3"} and authors["problem"] == {"id": "U2"}
    # The project's own thread was left as it was.
    assert project.current_question_id is None and project.walking_section is None
    status = await slack.command("status Churn model")
    assert "Owed:" not in await status.text()
    # Once the section is answered, a direct message answers nothing any more.
    before = len(slack.posted())
    await slack.direct("hello?", user="U3", channel="D3")
    await slack.settle()
    assert len(slack.posted()) == before


async def test_the_assign_command_names_project_section_and_person(slack):
    thread = await slack.start()
    response = await slack.command("assign Churn model data <@U3|carol>")
    assert response.status == 200
    await slack.settle()
    owes, hello, first = slack.posted()[-3:]
    assert owes["thread_ts"] == thread
    assert "@carol owes “Data landscape” (6 questions), assigned by @u1" in owes["text"]
    assert hello["channel"] == first["channel"] == "U3"
    assert first["metadata"]["event_payload"]["question_id"] == "data_availability"
    # The intake in the thread goes on where it was.
    await slack.say("Customers leave", thread=thread)
    await slack.settle()
    assert question_id(slack.last_question()) == "target_users"
    assert slack.last_question()["thread_ts"] == thread


async def test_assign_refuses_a_person_it_cannot_write_to_and_changes_nothing(slack):
    await slack.start()
    before = len(slack.posted())
    response = await slack.command("assign Churn model data carol@example.com")
    assert "Mention the person" in await response.text()
    response = await slack.command("assign Churn model budget <@U3|carol>")
    assert "There is no section 'budget'" in await response.text()
    response = await slack.command("assign Churn model data")
    assert "Name the person last" in await response.text()
    await slack.settle()
    assert len(slack.posted()) == before


async def test_answer_later_is_an_open_question_with_an_owner_and_a_date_not_a_skip(slack):
    from datetime import timedelta

    from flows.dates import format_day

    thread = await slack.start()
    await slack.say("Customers leave", thread=thread)
    await slack.settle()
    question_call = slack.fake.sent("chat.postMessage")[-1]
    message = {**question_call.response["message"], "thread_ts": thread}
    assert question_id(question_call.args) == "target_users"
    await slack.press(message, "later:target_users", "later")
    await slack.settle()
    noted = slack.posted()[-2]
    revisit = format_day(slack.clock().date() + timedelta(days=7))
    assert f"“Target users” is an open question now, yours to answer by {revisit}" in noted["text"]
    assert question_id(slack.last_question()) == "value_proposition"
    await slack.say("skip", thread=thread)
    await slack.settle()
    async with slack.runtime.sessions() as session:
        rows = (
            await session.execute(sa.select(Answer.question_id, Answer.raw, Answer.skipped))
        ).all()
    assert rows[1:] == [("target_users", "later", True), ("value_proposition", "skip", True)]
    status = await (await slack.command("status Churn model")).text()
    assert "3 of 7, 1 skipped, 1 for later" in status
    assert "Answer later: Target users" in status and f"@u2, revisit {revisit}" in status
    # Answered at last, it is no longer open.
    await slack.command("edit Churn model target_users")
    await slack.settle()
    await slack.say("Store managers", thread=thread)
    await slack.settle()
    status = await (await slack.command("status Churn model")).text()
    assert "Answer later" not in status and "1 for later" not in status
