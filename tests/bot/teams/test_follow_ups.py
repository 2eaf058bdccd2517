"""A follow-up through Teams' HTTP endpoint: the same question, highlighted, and its Keep button."""

from tests.bot.teams.test_whole_intake import button

CORE_START = ["A problem", "Users", "Fewer losses", "Reorders", "Units per day", "Batch", "CRM"]


async def test_a_vague_target_is_asked_again_highlighted_and_the_keep_button_keeps_it(teams):
    await teams.say("new Churn model")
    for text in [*CORE_START, "Churn", "Improve retention"]:
        await teams.say(text)

    sent = teams.last_question()
    assert sent.value["mlplan_question"]["question_id"] == "outcome_target"
    first = sent.card["body"][0]
    assert first["color"] == "Accent" and first["weight"] == "Bolder"
    assert first["text"].startswith("👉 That names no figure and no time frame.")
    keep = button(sent, "keep")
    assert keep == {
        "mlplan_answer": {"question_id": "outcome_target", "answer": "keep", "shown": "kept"}
    }
    await teams.press(sent, keep)

    after = teams.last_question()
    assert after.value["mlplan_question"]["question_id"] == "output_metric"
    assert "👉" not in str(after.card["body"])
    updated = [s for s in teams.fake.sent() if s.method == "update"]
    assert updated and "kept" in str(updated[-1].card)
