"""Confirmations and follow-ups through Slack's HTTP API: the same question again, Keep, dates."""

import sqlalchemy as sa

from storage.models import Answer

CORE_START = ["A problem", "Users", "Fewer losses", "Reorders", "Units per day", "Batch", "CRM"]


async def answers(slack, question_id: str) -> list[tuple[object, int]]:
    async with slack.runtime.sessions() as session:
        rows = await session.execute(
            sa.select(Answer.value, Answer.version)
            .where(Answer.question_id == question_id)
            .order_by(Answer.id)
        )
        return [tuple(r) for r in rows]


def payload(message: dict) -> dict:
    return message["metadata"]["event_payload"]


def texts(message: dict) -> str:
    return str(message["blocks"])


async def say_all(slack, thread: str, *lines: str) -> None:
    for text in lines:
        response, _ = await slack.say(text, thread=thread)
        assert response.status == 200
    await slack.settle()


async def test_a_vague_target_is_asked_again_as_the_same_question_and_keep_keeps_it(slack):
    thread = await slack.start()
    await say_all(slack, thread, *CORE_START, "Churn", "Improve retention")

    follow_up = slack.last_question()
    assert payload(follow_up)["question_id"] == "outcome_target"  # the same question, its id
    assert follow_up["thread_ts"] == thread
    first = follow_up["blocks"][0]["text"]["text"]
    assert first.startswith(":point_right: That names no figure and no time frame. By how much,")
    assert "Current answer: Improve retention" in texts(follow_up)
    assert await answers(slack, "outcome_target") == [("Improve retention", 1)]  # saved already
    keep = [e for b in follow_up["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["action_id"] for e in keep] == ["answer:outcome_target:keep"]

    call = slack.fake.sent("chat.postMessage")[-1]
    message = {**call.response["message"], "thread_ts": thread}
    response = await slack.press(message, "answer:outcome_target:keep", "keep")
    assert response.status == 200
    await slack.settle()

    assert payload(slack.last_question())["question_id"] == "output_metric"
    assert await answers(slack, "outcome_target") == [("Improve retention", 1)]  # no new version
    update = slack.fake.sent("chat.update")[-1].args
    assert update["ts"] == message["ts"] and "kept" in texts(update)


async def test_a_figure_typed_after_the_follow_up_is_a_new_version_and_the_intake_goes_on(slack):
    thread = await slack.start()
    await say_all(
        slack, thread, *CORE_START, "Churn", "Improve retention", "Churn down 2 points by Q4"
    )
    assert payload(slack.last_question())["question_id"] == "output_metric"
    assert [v for v, _ in await answers(slack, "outcome_target")] == [
        "Improve retention",
        "Churn down 2 points by Q4",
    ]


async def test_dates_are_confirmed_and_one_out_of_order_is_asked_about(slack):
    thread = await slack.start()
    await say_all(slack, thread, *CORE_START)
    await say_all(slack, thread, "edit Data pipelines built (due)", "2026-12-11")
    saved = slack.last_question()
    assert payload(saved)["question_id"] == "outcome_metric"  # on with the open question
    assert saved["blocks"][0]["elements"][0]["text"] == (
        ":white_check_mark: Saved: Fri 11 Dec 2026."
    )

    await say_all(slack, thread, "edit Baseline model (due)", "2026-12-04")
    asked = slack.last_question()
    assert payload(asked)["question_id"] == "ms_baseline_due"
    assert ":white_check_mark: Saved: Fri 4 Dec 2026." in texts(asked)
    assert (
        ":point_right: Baseline model trained (Fri 4 Dec 2026) is before Data pipelines built"
        " (Fri 11 Dec 2026). Is that right?"
    ) in texts(asked)

    await say_all(slack, thread, "keep")
    assert payload(slack.last_question())["question_id"] == "outcome_metric"
    assert await answers(slack, "ms_baseline_due") == [("2026-12-04", 1)]  # kept as it was


async def test_an_amount_in_another_currency_is_asked_about_at_once(slack):
    thread = await slack.start()
    await say_all(slack, thread, *CORE_START, "edit Cost per person-month", "€9k")
    asked = slack.last_question()
    assert payload(asked)["question_id"] == "monthly_cost_per_person"
    assert "That amount is in EUR, but the plan's currency is USD" in texts(asked)
    assert await answers(slack, "monthly_cost_per_person") == [
        ({"amount": 9000, "currency": "EUR"}, 1)
    ]
    await say_all(slack, thread, "$9.5k")
    assert payload(slack.last_question())["question_id"] == "outcome_metric"
    assert [v["currency"] for v, _ in await answers(slack, "monthly_cost_per_person")] == [
        "EUR",
        "USD",
    ]
