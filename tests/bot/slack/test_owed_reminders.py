"""What people owe a plan is reminded through Slack: a question left for later on its revisit day,
once; a section assigned 3 days after, then weekly; each until it is answered."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import sqlalchemy as sa

from bot.app import build_scheduler
from storage.models import Assignment, OpenQuestion
from tests.conftest import NOW

REVISIT = NOW + timedelta(days=7)  # Monday 30 Nov, 09:00 UTC (the fake's people are in UTC)


def question_id(message: dict) -> str:
    return message["metadata"]["event_payload"]["question_id"]


def waiting(slack, person: str) -> list:
    """The reminders of what a person owes that mlplan sent them."""
    return [
        c
        for c in slack.fake.sent("chat.postMessage")
        if c.args["channel"] == person and c.args["text"].startswith("Waiting for you in")
    ]


async def tick(slack, at):
    slack.clock.now = at
    return await build_scheduler(slack.runtime, slack_adapter=slack.adapter).tick(at)


async def press(slack, call, action_id: str, *, user: str):
    """Press a button of a message mlplan sent to a person's direct conversation."""
    message = {**call.response["message"], "blocks": call.args["blocks"]}
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user, "username": user.lower()},
        "channel": {"id": call.args["channel"]},
        "message": message,
        "trigger_id": "trigger-1",
        "response_url": slack.fake.response_url("reminder"),
        "actions": [{"action_id": action_id, "value": "x", "type": "button", "block_id": "b"}],
    }
    response = await slack.post(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )
    assert response.status == 200
    await slack.settle()


def buttons(call) -> list[str]:
    return [
        e["action_id"] for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


async def leave_for_later(slack) -> str:
    """Start an intake, answer its first question, press Answer later on the second."""
    thread = await slack.start()
    await slack.say("Customers leave", thread=thread)
    await slack.settle()
    asked = slack.fake.sent("chat.postMessage")[-1]
    assert question_id(asked.args) == "target_users"
    await slack.press(
        {**asked.response["message"], "thread_ts": thread}, "later:target_users", "later"
    )
    await slack.settle()
    return thread


async def open_rows(slack) -> list:
    async with slack.runtime.sessions() as session:
        return list(await session.scalars(sa.select(OpenQuestion).order_by(OpenQuestion.id)))


async def test_an_open_question_is_reminded_once_on_its_revisit_day_and_answered_from_it(slack):
    thread = await leave_for_later(slack)
    [left] = await open_rows(slack)
    assert (left.owner_id, left.revisit_on, left.closed_at) == ("U2", REVISIT.date(), None)

    # Quiet until the revisit day's nine: the first tick only sets when to look again.
    for at in (NOW + timedelta(minutes=1), NOW + timedelta(days=3), REVISIT - timedelta(minutes=1)):
        assert (await tick(slack, at)).reminders == 0
    assert (await open_rows(slack))[0].remind_at == REVISIT
    assert (await tick(slack, REVISIT)).reminders == 1
    [call] = waiting(slack, "U2")
    text = str(call.args["blocks"])
    assert call.args["text"] == "Waiting for you in Churn model: Target users"
    assert "left for later on Mon 23 Nov 2026, to revisit by Mon 30 Nov 2026" in text
    assert "Who will use the system" in text  # the question itself
    ref = f"question:{left.id}"
    assert buttons(call) == [f"remind:answer:{ref}", f"remind:snooze7:{ref}", f"remind:skip:{ref}"]
    # Once per revisit: not on the next tick, nor the next days.
    for at in (
        REVISIT + timedelta(minutes=1),
        REVISIT + timedelta(days=1),
        REVISIT + timedelta(days=8),
    ):
        assert (await tick(slack, at)).reminders == 0
    assert len(waiting(slack, "U2")) == 1
    assert (await open_rows(slack))[0].remind_at is None

    # Answer now: the question is asked again in the project's thread; the reminder says so.
    await press(slack, call, f"remind:answer:{ref}", user="U2")
    asked = slack.last_question()
    assert asked["thread_ts"] == thread and question_id(asked) == "target_users"
    update = slack.fake.sent("chat.update")[-1].args
    assert update["ts"] == call.response["ts"]
    assert "Target users: asked again in the project's conversation (<@U2>)" in str(
        update["blocks"]
    )
    assert buttons(slack.fake.sent("chat.update")[-1]) == []
    await slack.say("Store managers", thread=thread)
    await slack.settle()
    [answered] = await open_rows(slack)
    assert answered.closed_at is not None and answered.remind_at is None
    status = await (await slack.command("status Churn model")).text()
    assert "Answer later" not in status
    assert (await tick(slack, REVISIT + timedelta(days=14))).reminders == 0
    assert len(waiting(slack, "U2")) == 1


async def test_snooze_sets_a_new_revisit_day_and_skip_closes_the_question(slack):
    await leave_for_later(slack)
    await tick(slack, REVISIT)
    [call] = waiting(slack, "U2")
    [left] = await open_rows(slack)
    slack.clock.now = REVISIT + timedelta(hours=1)
    await press(slack, call, f"remind:snooze7:question:{left.id}", user="U2")
    assert "to revisit by Mon 7 Dec 2026" in str(slack.fake.sent("chat.update")[-1].args["blocks"])
    status = await (await slack.command("status Churn model")).text()
    assert "revisit Mon 7 Dec 2026" in status
    for day in range(1, 7):
        assert (await tick(slack, REVISIT + timedelta(days=day))).reminders == 0
    assert (await tick(slack, REVISIT + timedelta(days=7))).reminders == 1
    again = waiting(slack, "U2")[-1]
    await press(slack, again, f"remind:skip:question:{left.id}", user="U2")
    assert "skipped: it does not apply" in str(slack.fake.sent("chat.update")[-1].args["blocks"])
    [skipped] = await open_rows(slack)
    assert skipped.closed_at is not None
    status = await (await slack.command("status Churn model")).text()
    assert "1 skipped" in status and "for later" not in status
    # A stale button is refused privately and changes nothing.
    await press(slack, again, f"remind:answer:question:{left.id}", user="U2")
    said = slack.fake.responses[-1]
    assert "“Target users” is no longer open" in said["text"]
    assert (await tick(slack, REVISIT + timedelta(days=21))).reminders == 0


async def test_an_assigned_section_is_reminded_after_3_days_then_weekly_until_answered(slack):
    thread = await slack.start()
    await slack.command("assign Churn model metrics_detail <@U3|carol>")
    await slack.settle()
    days = [d for d in range(0, 12) if (await tick(slack, NOW + timedelta(days=d))).reminders]
    assert days == [3, 10]
    first, second = waiting(slack, "U3")
    assert first.args["text"] == "Waiting for you in Churn model: Metrics in detail"
    text = str(first.args["blocks"])
    assert "assigned by @u1 3 days ago (Mon 23 Nov 2026); next: “Baseline type”" in text
    assert "10 days ago" in str(second.args["blocks"])
    status = await (await slack.command("status Churn model")).text()
    assert "Owed: Metrics in detail" in status and "since Mon 23 Nov 2026" in status

    # Continue asks the open question again in the direct conversation; a reply there answers.
    async with slack.runtime.sessions() as session:
        owed = await session.scalar(sa.select(Assignment))
    assert buttons(second) == [f"remind:answer:owed:{owed.id}"]
    await press(slack, second, f"remind:answer:owed:{owed.id}", user="U3")
    asked = slack.last_question()
    assert asked["channel"] == "U3" and question_id(asked) == "baseline_kind"
    for answer in ("Heuristic", "Misses cost more", "no", "<@U4|dora>"):
        await slack.direct(answer, user="U3", channel="D3")
        await slack.settle()
    assert any(m["text"] == "@U3 answered “Metrics in detail”." for m in slack.posted())
    assert all(m.get("thread_ts") == thread for m in slack.posted() if "answered “" in m["text"])
    for day in (17, 24):
        assert (await tick(slack, NOW + timedelta(days=day))).reminders == 0
    assert len(waiting(slack, "U3")) == 2


async def test_a_reassigned_section_is_reminded_to_the_new_assignee_only(slack):
    await slack.start()
    await slack.command("assign Churn model metrics_detail <@U3|carol>")
    await slack.settle()
    assert (await tick(slack, NOW + timedelta(days=3))).reminders == 1
    slack.clock.now = NOW + timedelta(days=4)
    await slack.command("assign Churn model metrics_detail <@U4|dora>")
    await slack.settle()
    reminded = [d for d in range(4, 15) if (await tick(slack, NOW + timedelta(days=d))).reminders]
    assert reminded == [7, 14]
    assert len(waiting(slack, "U3")) == 1 and len(waiting(slack, "U4")) == 2
    # The old assignee's button no longer asks anything.
    before = len(slack.posted("mlplan_question"))
    async with slack.runtime.sessions() as session:
        owed = await session.scalar(sa.select(Assignment))
    await press(slack, waiting(slack, "U3")[0], f"remind:answer:owed:{owed.id}", user="U3")
    assert len(slack.posted("mlplan_question")) == before
    assert "was handed to @dora since" in slack.fake.responses[-1]["text"]


def digests_to(slack, person: str) -> list[dict]:
    return [
        c.args
        for c in slack.fake.sent("chat.postMessage")
        if c.args["channel"] == person and c.args["text"].startswith("Weekly ML digest")
    ]


def needs_you(message: dict) -> str:
    return next(
        b["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "section" and b["text"]["text"].startswith("*Needs you")
    )


async def test_the_digest_counts_open_questions_says_who_owes_what_and_whose_is_late(slack):
    await leave_for_later(slack)  # U2 leaves "Target users" for later, to revisit Mon 30 Nov
    await slack.command("assign Churn model metrics_detail <@U3|carol>")
    for person in ("U2", "U3", "U5"):
        await slack.command("digest subscribe", user=person)
    await slack.settle()
    monday = NOW + timedelta(days=14)  # Mon 7 Dec: the revisit day has passed
    assert (await tick(slack, monday)).digests == 3
    ada, carol, lead = (digests_to(slack, p)[-1] for p in ("U2", "U3", "U5"))
    text = str(lead["blocks"])
    assert "*Open questions (1)*: Churn model (1)" in text
    assert "*Sections owed (1)*: Churn model: Metrics in detail (<@U3>)" in text
    assert "<@U3> owes “Metrics in detail”" in text and "1 open question" in text
    assert "stage: intake" in text
    own = "Churn model: your question “Target users”, left for later, was to be revisited by"
    assert own in needs_you(ada) and own not in needs_you(lead) and own not in needs_you(carol)
    assert "“Metrics in detail” is yours to answer since Mon 23 Nov" in needs_you(carol)
    # Their own line comes first; the project's top need (a stalled intake) follows, as for all.
    assert needs_you(ada).split("\n")[1].startswith(f"• {own}")
    assert needs_you(ada).split("\n")[2:] == needs_you(lead).split("\n")[1:]
    # Answered, the question leaves the digest.
    [left] = await open_rows(slack)
    await press_and_answer(slack, left.id)
    assert (await tick(slack, monday + timedelta(days=7))).digests == 3
    later = digests_to(slack, "U2")[-1]
    assert "*Open questions (1 → 0)*: none now" in str(later["blocks"])
    assert own not in needs_you(later)
    assert "open questions 1 → 0" in str(later["blocks"])


async def press_and_answer(slack, open_id: int) -> None:
    """Answer an open question from its reminder's Answer now, in the project's thread."""
    await tick(slack, slack.clock.now)
    call = waiting(slack, "U2")[-1]
    await press(slack, call, f"remind:answer:question:{open_id}", user="U2")
    await slack.say("Store managers", thread=slack.last_question()["thread_ts"])
    await slack.settle()
