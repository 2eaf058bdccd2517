"""A Teams intake over HTTP: commands, questions with their value, answers, buttons, summaries."""

from __future__ import annotations

from tests.bot.teams.conftest import CHANNEL, PERSONAL


async def test_new_in_a_personal_chat_asks_the_first_question(teams):
    await teams.say("new Churn model")
    sent = teams.fake.sent()
    assert len(sent) == 2, [s.activity.get("text") for s in sent]
    parent, question = sent
    assert parent.conversation == PERSONAL
    assert "Churn model" in parent.text
    meta = question.value["mlplan_question"]
    assert meta["question_id"] == teams.runtime.flow.sections[0].questions[0].id
    assert meta["kind"]
    assert question.card["version"] == "1.5"


async def test_new_in_a_channel_post_runs_in_its_reply_chain(teams):
    post = await teams.say("new Fraud model", mention_bot=True, conversation=CHANNEL)
    chain = f"{CHANNEL};messageid={post['id']}"
    sent = teams.fake.sent()
    assert [s.conversation for s in sent] == [chain, chain]
    first = teams.last_question().value["mlplan_question"]
    await teams.say("We flag card fraud before payout", conversation=chain)
    second = teams.last_question().value["mlplan_question"]
    assert second["question_id"] != first["question_id"]
    assert teams.last_question().conversation == chain
