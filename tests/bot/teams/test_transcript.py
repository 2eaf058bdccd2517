"""One team's plan in Teams, as its people live it: the core in Ada's chat, a deep dive started
from the offer with a question left for later, `ask` with `keep`, `edit` and an edited message,
a section filled in as a card form (a refused field, then a good one), a section assigned to
Ben and answered in his own chat, and the question left for later reminded on its revisit day.

Every step goes through the Bot Framework endpoint and reads what mlplan sent to the connector.
"""

from datetime import timedelta

import sqlalchemy as sa

from storage import projects as store
from storage.models import Answer, Project
from tests.bot.teams.conftest import BEN, PERSONAL
from tests.bot.teams.test_deep_dives import BEN_CHAT, offer
from tests.bot.teams.test_forms import form_inputs, open_form, save_data, typed
from tests.bot.teams.test_owed_reminders import actions, tick, waiting
from tests.bot.teams.test_whole_intake import teams_form
from tests.conftest import NOW
from tests.transcript import PROJECT, Script


def _question_id(sent) -> str:
    return sent.value["mlplan_question"]["question_id"]


async def _versions(teams) -> dict[str, list[tuple[object, dict]]]:
    async with teams.runtime.sessions() as session:
        rows = await session.execute(
            sa.select(Answer.question_id, Answer.value, Answer.author).order_by(Answer.id)
        )
    versions: dict[str, list[tuple[object, dict]]] = {}
    for question, value, author in rows:
        versions.setdefault(question, []).append((value, author))
    return versions


def _ended(teams, event: str, section_id: str | None = None) -> list:
    sent = teams.fake.sent(lambda s: event in s.value)
    if section_id is None:
        return sent
    return [s for s in sent if s.value[event]["section_id"] == section_id]


async def test_a_team_plans_in_teams_then_keeps_the_plan_up_to_date(teams, flow):
    # The core in Ada's personal chat, as a careful person answers it.
    await teams.say(f"new {PROJECT}")
    script, asked, typed_in = Script(), set(), 0
    for _ in range(80):
        if _ended(teams, "mlplan_intake_complete"):
            break
        question = flow.questions[_question_id(teams.last_question())]
        asked.add(question.id)
        for text in script.inputs_for(question):
            await teams.say(**teams_form(text))
            typed_in += 1
    assert _ended(teams, "mlplan_intake_complete") and len(asked) <= 30
    first = teams.fake.questions()[0]
    assert PROJECT in str(first.card)  # a question card names its project

    # A deep dive from the offer; one of its questions left for later.
    sent, buttons = offer(teams)
    await teams.press(sent, buttons[("canvas", "start")])
    await teams.say("Labels from the tills, the next day")
    question = teams.last_question()
    later_id = _question_id(question)
    later = next(a["data"] for a in question.card["actions"] if a["title"] == "Answer later")
    await teams.press(question, later)
    for _ in range(5):
        if _ended(teams, "mlplan_section_complete", "canvas"):
            break
        await teams.say("Compare with last week's sales, per store")
    (canvas,) = _ended(teams, "mlplan_section_complete", "canvas")
    assert "open question: answer later" in str(canvas.card)
    await teams.say(f"/status {PROJECT}")
    status = str(teams.fake.sent()[-1].card)
    assert "1 for later" in status and "Answer later:" in status

    # `ask` walks a section with its current answers; `keep` stores nothing new.
    before = await _versions(teams)
    await teams.say(f"/ask {PROJECT} costs")
    walked = []
    for _ in range(20):
        current = teams.last_question()
        qid = _question_id(current)
        if qid in walked or flow.section_of[qid].id != "costs":
            break
        walked.append(qid)
        assert "Current answer" in str(current.card), qid
        await teams.say("keep" if len(walked) != 2 else "4")
    after = await _versions(teams)
    assert {q for q in after if after[q] != before.get(q)} == {walked[1]}

    # `edit <question>` asks one again, with no question open in the chat; editing that reply
    # in Teams makes one more version.
    await teams.say("edit problem")
    assert _question_id(teams.last_question()) == "problem"
    reply = await teams.say("Customers leave without warning")
    edit = teams.activity(
        type="messageUpdate",
        id=reply["id"],
        text="Customers leave without warning, and we learn it too late",
        channelData={"tenant": {"id": "tenant-1"}, "eventType": "editMessage"},
    )
    assert (await teams.post(edit)).status == 200
    await teams.settle()
    problem = (await _versions(teams))["problem"]
    assert [v for v, _ in problem[-2:]] == [
        "Customers leave without warning",
        "Customers leave without warning, and we learn it too late",
    ]

    # A deep dive as a card form: a refused field comes back under it, then the form saves.
    await teams.say(f"/ask {PROJECT} costs_detail")
    form = await open_form(teams, teams.last_question())
    fields = [flow.questions[q] for q in form_inputs(form.card)]
    values = {f"q:{q.id}": typed(q) for q in fields}
    await teams.press(form, {**save_data(form.card), **values, f"q:{fields[0].id}": "lots"})
    again = teams.fake.sent(lambda s: "mlplan_form" in s.value)[-1]
    assert "errorMessage" in form_inputs(again.card)[fields[0].id]
    sent_before = len(teams.fake.sent())
    await teams.press(again, {**save_data(again.card), **values})
    after_form = teams.fake.sent()[sent_before:]
    assert any("answers saved from a form" in (s.text or "") for s in after_form)
    assert not any("mlplan_intake_complete" in s.value for s in after_form)
    versions = await _versions(teams)
    assert all(versions[q.id][-1][1]["id"] == "29:1ada" for q in fields)

    # A section assigned to Ben, answered in his own chat, as his.
    tag = f"<at>{BEN['name']}</at>"
    mention = {"type": "mention", "text": tag, "mentioned": {"id": BEN["id"], "name": BEN["name"]}}
    await teams.say(f"/assign {PROJECT} metrics_detail {tag}", entities=[mention])
    assert any("owes “Metrics in detail”" in (s.text or "") for s in teams.fake.sent()[-4:])
    for _ in range(10):
        last = [s for s in teams.fake.sent() if s.conversation == BEN_CHAT][-1]
        if "mlplan_question" not in last.value:
            break
        question = flow.questions[_question_id(last)]
        await teams.say(
            **teams_form(Script().good_answer(question)), conversation=BEN_CHAT, user=BEN
        )
    in_ada = [s.text for s in teams.fake.sent() if s.conversation == PERSONAL]
    assert "@Ben Okafor answered “Metrics in detail”." in in_ada
    versions = await _versions(teams)
    owed = [q.id for q in flow.section("metrics_detail").questions if q.id in versions]
    assert owed and all(versions[q][-1][1]["id"] == BEN["id"] for q in owed)

    async with teams.runtime.sessions() as session:
        project = await session.scalar(sa.select(Project))
        answers = await store.latest_answers(session=session, project_id=project.id)
    assert later_id in answers.later and answers[later_id] is None

    # The question left for later is reminded in Ada's chat on its revisit day, once, and
    # answered from the reminder.
    revisit = NOW + timedelta(days=7)
    assert (await tick(teams, revisit)).reminders == 1
    assert (await tick(teams, revisit + timedelta(minutes=1))).reminders == 0
    [reminder] = waiting(teams, PERSONAL)
    assert flow.questions[later_id].label in reminder.text
    await teams.press(reminder, actions(reminder)["Answer now"], conversation=PERSONAL)
    assert _question_id(teams.last_question()) == later_id
    await teams.say("Sales of the last four weeks, promotions, weather")
    await teams.say(f"/status {PROJECT}")
    assert "Answer later" not in str(teams.fake.sent()[-1].card)
    assert (await tick(teams, revisit + timedelta(days=14))).reminders == 0
    print(f"core: {len(asked)} questions, {typed_in} inputs; plan: {len(answers)} answers")
