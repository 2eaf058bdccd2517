"""Deep dives and assigned sections through Teams: Start now, Assign…, Later, `assign`."""

import sqlalchemy as sa

from storage import projects as store
from storage.models import Answer, Project
from tests.bot.teams.conftest import BEN, PERSONAL
from tests.bot.teams.test_whole_intake import teams_form
from tests.transcript import Script

BEN_CHAT = f"a:personal-{BEN['id']}"


async def finish_core(teams, flow) -> None:
    """Start a project in Ada's personal chat and answer its core with good answers."""
    await teams.say("new Churn model")
    script = Script()
    for _ in range(40):
        if teams.fake.sent(lambda s: "mlplan_intake_complete" in s.value):
            return
        question = flow.questions[teams.last_question().value["mlplan_question"]["question_id"]]
        await teams.say(**teams_form(script.good_answer(question)))
    raise AssertionError("the core did not complete")


def offer(teams):
    """Return the last deep-dive offer and its buttons' data by section and action."""
    sent = [s for s in teams.fake.sent() if "mlplan_deep" in str(s.card)][-1]
    buttons = {
        (a["data"]["mlplan_deep"]["section_id"], a["data"]["mlplan_deep"]["action"]): a["data"]
        for element in sent.card["body"]
        if element["type"] == "ActionSet"
        for a in element["actions"]
    }
    return sent, buttons


async def test_start_now_walks_a_deep_dive_in_the_chat(teams, flow):
    await finish_core(teams, flow)
    sent, buttons = offer(teams)
    await teams.press(sent, buttons[("costs_detail", "start")])
    first = teams.last_question()
    assert first.conversation == PERSONAL
    assert first.value["mlplan_question"]["question_id"] == "domain_expert_cost"
    for _ in range(5):
        await teams.say("$5k")
    done = teams.fake.sent(lambda s: "mlplan_section_complete" in s.value)[-1]
    assert done.value["mlplan_section_complete"]["section_id"] == "costs_detail"
    assert len(teams.fake.sent(lambda s: "mlplan_intake_complete" in s.value)) == 1
    _, again = offer(teams)
    assert ("costs_detail", "start") not in again and ("data", "start") in again


async def test_later_and_assign_buttons_say_what_to_type(teams, flow):
    await finish_core(teams, flow)
    sent, buttons = offer(teams)
    await teams.press(sent, buttons[("data", "later")])
    assert "“Data landscape” waits for later: `ask Churn model data`" in teams.fake.sent()[-1].text
    await teams.press(sent, buttons[("data", "assign")])
    said = teams.fake.sent()[-1].text
    assert "To hand “Data landscape” to someone" in said
    assert "`assign Churn model data @person`" in said


async def test_an_assigned_section_is_answered_in_the_persons_own_chat(teams, flow):
    await teams.say("new Churn model")
    await teams.say("Customers leave")  # the intake stays at its second question
    tag = f"<at>{BEN['name']}</at>"
    mention = {"type": "mention", "text": tag, "mentioned": {"id": BEN["id"], "name": BEN["name"]}}
    await teams.say(f"/assign Churn model metrics_detail {tag}", entities=[mention])
    owes = [s for s in teams.fake.sent() if "owes" in s.text][-1]
    assert owes.conversation == PERSONAL
    assert "@Ben Okafor owes “Metrics in detail” (4 questions), assigned by @Ada Lovelace" in (
        owes.text
    )
    # Ben never chatted with mlplan: a personal chat is opened for him.
    assert teams.fake.created and teams.fake.created[-1]["members"] == [{"id": BEN["id"]}]
    to_ben = [s for s in teams.fake.sent() if s.conversation == BEN_CHAT]
    hello, first = to_ben
    assert "asked you to answer “Metrics in detail”" in hello.text
    assert first.value["mlplan_question"]["question_id"] == "baseline_kind"

    await teams.say("Heuristic", conversation=BEN_CHAT, user=BEN)
    second = teams.last_question()
    assert second.conversation == BEN_CHAT
    assert second.value["mlplan_question"]["question_id"] == "error_costs"
    await teams.say("Misses cost more", conversation=BEN_CHAT, user=BEN)
    explain = teams.last_question()
    yes = next(
        a["data"]
        for a in explain.card.get("actions", [])
        if a["data"].get("mlplan_answer", {}).get("answer") == "yes"
    )
    await teams.press(explain, yes, user=BEN)  # a button in his chat answers too
    await teams.say("ben@example.com", conversation=BEN_CHAT, user=BEN)
    in_ben = [s for s in teams.fake.sent() if s.conversation == BEN_CHAT and s.method != "update"]
    assert "last question of “Metrics in detail”" in in_ben[-1].text
    in_ada = [s for s in teams.fake.sent() if s.conversation == PERSONAL and s.method != "update"]
    assert in_ada[-2].text == "@Ben Okafor answered “Metrics in detail”."
    assert in_ada[-1].value["mlplan_section_complete"]["section_id"] == "metrics_detail"

    async with teams.runtime.sessions() as session:
        project = await session.scalar(sa.select(Project))
        answers = await store.latest_answers(session=session, project_id=project.id)
        authors = dict((await session.execute(sa.select(Answer.question_id, Answer.author))).all())
    assert answers["explainability"] is True and answers["signoff"] == {"email": "ben@example.com"}
    assert authors["baseline_kind"]["id"] == BEN["id"] and authors["problem"]["id"] != BEN["id"]
    # Ada's intake is where she left it: her next reply answers its open question.
    assert project.current_question_id == "target_users"
    await teams.say("Retention team")
    assert teams.last_question().value["mlplan_question"]["question_id"] == "value_proposition"


async def test_answer_later_in_teams_is_an_open_question_that_status_lists(teams):
    await teams.say("new Churn model")
    card = teams.last_question()
    later = next(a["data"] for a in card.card["actions"] if a["title"] == "Answer later")
    assert later["mlplan_answer"]["answer"] == "later"
    await teams.press(card, later)
    assert "“Problem statement” is an open question now" in str(teams.fake.sent()[-2].card)
    await teams.say("/status Churn model")
    status = str(teams.fake.sent()[-1].card)
    assert "Answer later: Problem statement" in status and "1 for later" in status
    assert "1 skipped" not in status
