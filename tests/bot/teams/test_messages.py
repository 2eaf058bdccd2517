"""Teams messages: installs, commands in each kind of conversation, mentions, stale buttons, outages."""

from __future__ import annotations

import sqlalchemy as sa

from storage import projects as store
from storage.models import Answer, ConversationReference, Project
from tests.bot.teams.conftest import BEN, CHANNEL, PERSONAL
from tests.fakes.bot_connector import BOT_ID

GROUP = "19:group-chat@thread.v2"


async def answer_until(teams, question_id: str, conversation: str = PERSONAL) -> None:
    """Answer questions with a plausible text until `question_id` is the open one."""
    for _ in range(20):
        meta = teams.last_question().value["mlplan_question"]
        if meta["question_id"] == question_id:
            return
        text = {"choice": (meta.get("choices") or [""])[0], "yesno": "yes", "number": "12"}.get(
            meta["kind"], "Churn is high"
        )
        await teams.say(text, conversation=conversation)
    raise AssertionError(f"never reached {question_id}")


async def test_adding_the_bot_to_a_team_greets_the_channel_and_keeps_its_reference(teams):
    body = teams.activity(
        type="conversationUpdate",
        conversation=CHANNEL,
        membersAdded=[{"id": BOT_ID}],
        channelData={"tenant": {"id": "tenant-1"}, "eventType": "teamMemberAdded"},
    )
    body.pop("text", None)
    assert (await teams.post(body)).status == 200
    await teams.settle()
    [greeting] = teams.fake.sent()
    assert greeting.conversation == CHANNEL and greeting.method == "send"
    assert "new <project name>" in greeting.text
    async with teams.runtime.sessions() as session:
        keys = set(await session.scalars(sa.select(ConversationReference.key)))
    assert f"conversation:{CHANNEL}" in keys


async def test_someone_else_joining_a_chat_is_not_greeted(teams):
    body = teams.activity(type="conversationUpdate", membersAdded=[{"id": BEN["id"]}])
    assert (await teams.post(body)).status == 200
    await teams.settle()
    assert teams.fake.sent() == []


async def test_a_personal_install_keeps_the_reference_and_greets_once(teams):
    assert (await teams.post(teams.activity(type="installationUpdate", action="add"))).status == 200
    added = teams.activity(type="conversationUpdate", membersAdded=[{"id": BOT_ID}])
    assert (await teams.post(added)).status == 200
    await teams.settle()
    [greeting] = teams.fake.sent()
    assert greeting.conversation == PERSONAL and "mlplan" in greeting.text
    async with teams.runtime.sessions() as session:
        keys = set(await session.scalars(sa.select(ConversationReference.key)))
    assert {"person:29:1ada", f"conversation:{PERSONAL}"} <= keys


async def test_help_list_and_status_answer_in_a_channel_post_reply_chain(teams):
    await teams.say("new Churn model", mention_bot=True, conversation=CHANNEL)
    post = await teams.say("list", mention_bot=True, conversation=CHANNEL)
    [listing] = teams.fake.sent(lambda s: s.conversation.endswith(f"messageid={post['id']}"))
    assert "Churn model" in str(listing.card)
    post = await teams.say("status churn MODEL", mention_bot=True, conversation=CHANNEL)
    [status] = teams.fake.sent(lambda s: s.conversation.endswith(f"messageid={post['id']}"))
    assert "Churn model" in str(status.card) and "questions answered" in str(status.card)
    post = await teams.say("help", mention_bot=True, conversation=CHANNEL)
    [helped] = teams.fake.sent(lambda s: s.conversation.endswith(f"messageid={post['id']}"))
    assert "ask <project> <section>" in helped.text and "/mlplan" not in helped.text


async def test_an_unknown_command_or_project_says_what_to_type(teams):
    await teams.say("nwe Churn model")
    assert "Did you mean `new <project name>`" in teams.fake.sent()[-1].text
    await teams.say("status Nothing here")
    assert "There is no project called 'Nothing here'" in teams.fake.sent()[-1].text
    async with teams.runtime.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0


async def test_in_a_chat_with_an_open_question_text_answers_it_and_slash_runs_a_command(teams):
    await teams.say("new Churn model")
    first = teams.last_question().value["mlplan_question"]["question_id"]
    await teams.say("new customers leave after the first bill")  # an answer, not a command
    async with teams.runtime.sessions() as session:
        answer = await session.scalar(sa.select(Answer).where(Answer.question_id == first))
        assert answer.raw == "new customers leave after the first bill"
        assert await session.scalar(sa.select(sa.func.count()).select_from(Project)) == 1
    await teams.say("list")  # `list` alone is never an answer
    assert "Churn model" in str(teams.fake.sent()[-1].card)
    await teams.say("/new Fraud model")
    async with teams.runtime.sessions() as session:
        names = set(await session.scalars(sa.select(Project.name)))
    assert names == {"Churn model", "Fraud model"}
    # The chat now belongs to the newest intake: a reply answers Fraud model's first question.
    await teams.say("Chargebacks cost us too much")
    async with teams.runtime.sessions() as session:
        fraud = await session.scalar(sa.select(Project).where(Project.name == "Fraud model"))
        answers = await store.latest_answers(session=session, project_id=fraud.id)
    assert answers[first] == "Chargebacks cost us too much"


async def test_a_group_chat_runs_an_intake_for_everyone_in_it(teams):
    await teams.say("new Churn model", mention_bot=True, conversation=GROUP, kind="groupChat")
    await teams.say("Customers leave", conversation=GROUP, kind="groupChat", user=BEN)
    sent = teams.fake.sent()
    assert {s.conversation for s in sent} == {GROUP}
    async with teams.runtime.sessions() as session:
        answer = await session.scalar(sa.select(Answer))
    assert answer.author["id"] == BEN["id"] and answer.raw == "Customers leave"


async def test_a_user_answer_is_a_teams_mention_or_an_email(teams):
    await teams.say("new Churn model")
    await teams.say("/ask Churn model metrics_detail")
    await answer_until(teams, "signoff")
    tag = f"<at>{BEN['name']}</at>"
    mention = {"type": "mention", "text": tag, "mentioned": {"id": BEN["id"], "name": BEN["name"]}}
    await teams.say(tag, entities=[mention])
    async with teams.runtime.sessions() as session:
        answer = await session.scalar(sa.select(Answer).where(Answer.question_id == "signoff"))
    assert answer.value == {"id": BEN["id"], "name": BEN["name"]}


async def test_a_button_of_a_question_no_longer_open_changes_nothing(teams):
    await teams.say("new Churn model")
    await answer_until(teams, "prediction_mode")
    card = teams.last_question()
    data = card.card["actions"][0]["data"]
    await teams.press(card, data)
    async with teams.runtime.sessions() as session:
        before = await session.scalar(sa.select(sa.func.count()).select_from(Answer))
    await teams.press(card, data)  # the same button again: the question moved on
    async with teams.runtime.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Answer)) == before
    assert "no longer the open question" in teams.fake.sent()[-1].text


async def test_a_delivery_the_connector_repeats_is_handled_once(teams):
    await teams.say("new Churn model")
    body = await teams.say("Customers leave")
    assert (await teams.post(body)).status == 200
    await teams.settle()
    async with teams.runtime.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 1


async def test_with_the_database_down_the_person_is_told_and_nothing_is_lost_silently(teams):
    await teams.say("new Churn model")
    await teams.runtime.engine.dispose()
    real = teams.runtime.conversations.sessions

    def down():
        raise OSError("connection refused")

    teams.runtime.conversations.sessions = down
    try:
        response = await teams.post(teams.activity(text="Customers leave"))
        assert response.status == 200
        await teams.settle()
    finally:
        teams.runtime.conversations.sessions = real
    assert "cannot reach its database" in teams.fake.sent()[-1].text


async def test_editing_an_answer_in_teams_makes_a_new_version_once(teams):
    await teams.say("new Churn model")
    first = await teams.say("Churn is high")
    edit = teams.activity(
        type="messageUpdate",
        id=first["id"],
        text="Churn is very high",
        channelData={"tenant": {"id": "tenant-1"}, "eventType": "editMessage"},
    )
    for _ in range(2):  # Teams may deliver the same edit twice: one new version, one notice
        assert (await teams.post(edit)).status == 200
        await teams.settle()
    async with teams.runtime.sessions() as session:
        rows = (
            await session.execute(
                sa.select(Answer.question_id, Answer.value, Answer.version).order_by(Answer.id)
            )
        ).all()
    assert rows == [("problem", "Churn is high", 1), ("problem", "Churn is very high", 2)]
    notices = [s.text for s in teams.fake.sent() if "Updated" in (s.text or "")]
    assert notices == ["Updated “Problem statement” to Churn is very high."]
    assert teams.last_question().value["mlplan_question"]["question_id"] == "target_users"


async def test_an_edit_of_a_message_that_answered_nothing_changes_nothing(teams):
    body = teams.activity(type="messageUpdate", id="not-an-answer", text="hello")
    assert (await teams.post(body)).status == 200
    await teams.settle()
    async with teams.runtime.sessions() as session:
        assert (await session.scalar(sa.select(sa.func.count()).select_from(Answer))) == 0
    assert teams.fake.sent() == []
