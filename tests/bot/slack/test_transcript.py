"""One team's plan in Slack, as its people live it: the core in a thread, a deep dive started at
once, `ask` with `keep`, `edit`, a section filled in as a form (a refused field, then a good one),
a section assigned and answered in a direct message, and a question left for later, reminded
to its owner on its revisit day and answered from the reminder.

Every step goes through signed HTTP to mlplan and reads what it posted to the fake Web API.
"""

import json
from datetime import timedelta

import sqlalchemy as sa

from storage import projects as store
from storage.models import Answer, Project
from tests.bot.slack.test_deep_dives import offer_row, question_id, slack_form
from tests.bot.slack.test_forms import inputs, last_question, open_form, submit, typed
from tests.bot.slack.test_owed_reminders import REVISIT, buttons, press, tick, waiting
from tests.transcript import PROJECT, Script


async def _versions(slack) -> dict[str, list[tuple[object, dict]]]:
    """Each question's stored versions, oldest first: (value, author)."""
    async with slack.runtime.sessions() as session:
        rows = await session.execute(
            sa.select(Answer.question_id, Answer.value, Answer.author).order_by(Answer.id)
        )
    versions: dict[str, list[tuple[object, dict]]] = {}
    for question, value, author in rows:
        versions.setdefault(question, []).append((value, author))
    return versions


async def _answer_core(slack, flow, thread: str) -> tuple[int, int]:
    """Answer the core as a careful person would; return (questions asked, inputs typed)."""
    script, asked, typed_count = Script(), set(), 0
    for _ in range(80):
        if slack.posted("mlplan_intake_complete"):
            return len(asked), typed_count
        question = flow.questions[question_id(slack.last_question())]
        asked.add(question.id)
        for text in map(slack_form, script.inputs_for(question)):
            await slack.say(text, thread=thread)
            typed_count += 1
        await slack.settle()
    raise AssertionError("the core did not complete")


def _thread_message(slack, thread: str) -> dict:
    """The last message mlplan posted, as a person's client holds it (to press its buttons)."""
    return {**slack.fake.sent("chat.postMessage")[-1].response["message"], "thread_ts": thread}


async def test_a_team_plans_in_one_thread_then_keeps_the_plan_up_to_date(slack, flow):
    thread = await slack.start(PROJECT)

    # The core: at most 30 questions, ending in the plan's card and the deep dives on offer.
    questions, typed_in = await _answer_core(slack, flow, thread)
    assert questions <= 30
    assert len(slack.posted("mlplan_intake_complete")) == 1
    offer = slack.posted()[-1]
    assert "deep:start:canvas" in json.dumps(offer["blocks"])

    # A deep dive started at once from the offer, one of its questions left for later.
    row = offer_row(offer, "canvas")
    start = row["elements"][0]
    await slack.press(
        _thread_message(slack, thread), start["action_id"], "canvas", block_id=row["block_id"]
    )
    await slack.settle()
    first = slack.last_question()
    assert first["thread_ts"] == thread and "Machine Learning Canvas" in json.dumps(first["blocks"])
    assert "[question 1 of" in first["text"] or "1 of" in json.dumps(first["blocks"])
    await slack.say("Labels from the tills, the next day", thread=thread)
    await slack.settle()
    later_id = question_id(slack.last_question())
    await slack.press(_thread_message(slack, thread), f"later:{later_id}", "later")
    await slack.settle()
    assert any(
        "is an open question now, yours to answer by" in m["text"] for m in slack.posted()[-3:]
    )
    for _ in range(5):
        if slack.posted()[-1].get("metadata", {}).get("event_type") != "mlplan_question":
            break
        await slack.say("Compare with last week's sales, per store", thread=thread)
        await slack.settle()
    canvas_done = [
        m
        for m in slack.posted("mlplan_section_complete")
        if m["metadata"]["event_payload"]["section_id"] == "canvas"
    ]
    assert len(canvas_done) == 1
    assert "open question: answer later" in json.dumps(canvas_done[0]["blocks"])  # not "skipped"
    status = await (await slack.command(f"status {PROJECT}", user="U2")).text()
    assert "1 for later" in status and "Answer later:" in status

    # `ask` walks a section with each current answer: `keep` keeps it, a new answer versions it.
    before = await _versions(slack)
    await slack.command(f"ask {PROJECT} costs", user="U2")
    await slack.settle()
    walked = []
    for _ in range(20):
        message = slack.last_question()
        qid = question_id(message)
        if qid in walked or flow.section_of[qid].id != "costs":
            break
        walked.append(qid)
        assert "Current answer:" in json.dumps(message["blocks"]), qid
        await slack.say("keep" if len(walked) != 2 else "4", thread=thread)
        await slack.settle()
    assert len(walked) >= 5
    after = await _versions(slack)
    changed = {q for q in after if after[q] != before.get(q)}
    assert changed == {walked[1]}  # kept answers are not stored again
    assert after[walked[1]][-1][0] == 4 and len(after[walked[1]]) == 2

    # `edit <question>` in the thread asks one question again.
    await slack.say("edit problem", thread=thread)
    await slack.settle()
    assert question_id(slack.last_question()) == "problem"
    assert "Current answer:" in json.dumps(slack.last_question()["blocks"])
    await slack.say("Customers leave without warning, and we learn it too late", thread=thread)
    await slack.settle()
    assert (await _versions(slack))["problem"][-1][0].startswith("Customers leave without")

    # A deep dive filled in as a form: a refused field is shown beside it, then a good form saves.
    await slack.command(f"ask {PROJECT} costs_detail", user="U2")
    await slack.settle()
    view = await open_form(slack, last_question(slack))
    fields = [flow.questions[q] for q in inputs(view)]
    entered = {q.id: typed(q) for q in fields}
    refused = await submit(slack, view, {**entered, fields[0].id: "a lot of money"})
    assert (await refused.json())["errors"].keys() == {fields[0].id}
    posted = len(slack.posted())
    saved = await submit(slack, view, entered)
    assert saved.status == 200
    await slack.settle()
    after_form = slack.posted()[posted:]
    versions = await _versions(slack)
    assert all(versions[q.id][-1][1]["id"] == "U2" for q in fields)
    assert "answers saved from a form" in after_form[0]["text"]
    kinds = [(m.get("metadata") or {}).get("event_type") for m in after_form]
    assert "mlplan_section_complete" in kinds and "mlplan_intake_complete" not in kinds
    print([m["text"][:60] for m in after_form])

    # A section assigned to someone, who answers it in a direct message, as theirs.
    await slack.command(f"assign {PROJECT} metrics_detail <@U3|dora>", user="U2")
    await slack.settle()
    owes = next(m for m in reversed(slack.posted()) if m.get("thread_ts") == thread)
    assert "owes “Metrics in detail”" in owes["text"]
    assert slack.last_question()["channel"] == "U3"
    for _ in range(10):
        last = slack.posted()[-1]
        if last.get("metadata", {}).get("event_type") != "mlplan_question":
            break
        question = flow.questions[question_id(last)]
        await slack.direct(slack_form(Script().good_answer(question)), user="U3", channel="D3")
        await slack.settle()
    in_thread = [m["text"] for m in slack.posted() if m.get("thread_ts") == thread]
    assert "@U3 answered “Metrics in detail”." in in_thread
    versions = await _versions(slack)
    metrics_detail = [q.id for q in flow.section("metrics_detail").questions if q.id in versions]
    assert metrics_detail and all(versions[q][-1][1]["id"] == "U3" for q in metrics_detail)

    async with slack.runtime.sessions() as session:
        project = await session.scalar(sa.select(Project))
        answers = await store.latest_answers(session=session, project_id=project.id)
    assert project.intake_done_at is not None
    assert later_id in answers and answers[later_id] is None  # open, not answered

    # The question left for later is reminded to its owner on its revisit day, once.
    label = flow.questions[later_id].label
    assert (await tick(slack, REVISIT)).reminders == 1
    [reminder] = waiting(slack, "U2")
    assert reminder.args["text"] == f"Waiting for you in {PROJECT}: {label}"
    assert (await tick(slack, REVISIT + timedelta(days=1))).reminders == 0
    ref = next(a for a in buttons(reminder) if a.startswith("remind:answer:"))
    await press(slack, reminder, ref, user="U2")
    asked = slack.last_question()
    assert asked["thread_ts"] == thread and question_id(asked) == later_id
    await slack.say("Sales of the last four weeks, promotions, weather", thread=thread)
    await slack.settle()
    status = await (await slack.command(f"status {PROJECT}", user="U2")).text()
    assert "Answer later" not in status and "for later" not in status
    assert (await tick(slack, REVISIT + timedelta(days=14))).reminders == 0
    # What it took: the core's questions and every input typed there (bad answers included).
    print(f"core: {questions} questions, {typed_in} inputs; plan: {len(answers)} answers")
