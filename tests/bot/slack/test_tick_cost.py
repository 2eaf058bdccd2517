"""What a tick costs: its SQL statements follow what is due, not how many projects exist."""

from datetime import date, timedelta

import sqlalchemy as sa

from bench.ticks import MORNING, Counter, populate
from bot.app import build_scheduler
from bot.scheduler import TickReport
from storage import assignments, open_questions, projects, tracked, workspaces
from storage.models import Assignment, Milestone, OpenQuestion
from tests.conftest import empty_tables

ADA = {"id": "U7", "name": "ada"}
# due, items, zones; notice: lookup, claim, queue, clear; reminder: lookup, claim, queue, next
# time; digests; the outbox: both messages go to one person, so one after the other, each a
# head of its conversation (a claim that reads where it goes, the outcome); the second has
# nothing behind it, so no pass looks again.
DUE_TICK = 17
# Besides: the open questions and owed sections due (one read each); their reminder, one
# message: a claim, the queue, each kind's reminder recorded; and the outbox's third message
# (a claim that reads where it goes, the outcome).
OWED_TICK = DUE_TICK + 2 + 4 + 2


async def add_due_item(sessions, *, owed: bool = False) -> None:
    """Add a project whose one milestone is due the day after `MORNING`, owned by Ada.

    `owed`: Ada also left a question for later to revisit on `MORNING`'s day, and was handed a
    section three days before it.
    """
    async with sessions() as session:
        ws = await workspaces.get_or_create(
            session=session, platform="slack", external_id="T1", now=MORNING
        )
        project = await projects.create_project(
            session=session,
            workspace_id=ws.id,
            name="Churn model",
            owner=ADA,
            sections=[],
            current=None,
            now=MORNING,
        )
        await tracked.add(
            session=session,
            project_id=project.id,
            kind="milestone",
            title="Baseline",
            owner=ADA,
            due=MORNING.date() + timedelta(days=1),
            by=ADA,
            now=MORNING,
        )
        if owed:
            await open_questions.leave(
                session=session,
                project_id=project.id,
                question_id="target_users",
                owner=ADA,
                revisit_on=MORNING.date(),
                now=MORNING - timedelta(days=7),
            )
            await assignments.assign(
                session=session,
                project_id=project.id,
                section_id="data",
                assignee=ADA,
                assigned_by=ADA,
                current="data_availability",
                now=MORNING - timedelta(days=3),
            )
        await session.commit()


async def costs(slack, size: int, *, owed: bool = False) -> tuple[int, int, int]:
    """Count the statements of a quiet tick, a tick with one item due, and the quiet one after.

    `owed`: every project has open questions and an owed section too, settled, and the one due
    has one of each due besides its item.
    """
    engine = slack.runtime.engine
    await empty_tables(engine)
    await populate(engine, projects=size, owed=owed)
    scheduler = build_scheduler(slack.runtime, slack_adapter=slack.adapter)

    async def tick(minutes: int) -> tuple[TickReport, int]:
        at = MORNING + timedelta(minutes=minutes)
        slack.clock.now = at
        with Counter(engine) as counter:
            report = await scheduler.tick(at)
        return report, counter.count

    quiet, quiet_count = await tick(0)
    await add_due_item(slack.runtime.sessions, owed=owed)
    due, due_count = await tick(1)
    after, after_count = await tick(2)
    assert quiet == after == TickReport()
    if owed:  # the item's reminder, and one message for the question and the section
        assert due == TickReport(reminders=2, assignments=1, sent=3)
    else:
        assert due == TickReport(reminders=1, assignments=1, sent=2)
    return quiet_count, due_count, after_count


async def test_a_tick_costs_the_same_statements_at_10_and_at_200_projects(slack):
    small, large = await costs(slack, 10), await costs(slack, 200)
    assert small == large
    quiet, due, after = large
    # A quiet minute: what is due (one query), digest subscriptions, the outbox.
    assert quiet == after == 3
    # One reminder and one owner notice, decided, queued and sent: a fixed handful.
    assert due == DUE_TICK
    async with slack.runtime.sessions() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(Milestone))
        waiting = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Milestone)
            .where(Milestone.remind_at <= MORNING + timedelta(minutes=2))
        )
    assert count == 200 * 5 + 1 and waiting == 0
    assert MORNING.date() == date(2026, 11, 23)


async def test_open_questions_and_owed_sections_keep_the_tick_the_same_at_10_and_200(slack):
    small, large = await costs(slack, 10, owed=True), await costs(slack, 200, owed=True)
    assert small == large
    quiet, due, after = large
    assert quiet == after == 3  # the same one statement finds what is due, of every kind
    assert due == OWED_TICK
    async with slack.runtime.sessions() as session:
        waiting = [
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(model)
                .where(model.remind_at <= MORNING + timedelta(minutes=2))
            )
            for model in (OpenQuestion, Assignment)
        ]
        counts = [
            await session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (OpenQuestion, Assignment)
        ]
    assert waiting == [0, 0] and counts == [200 * 2 + 1, 200 + 1]
    messages = [
        c.args
        for c in slack.fake.sent("chat.postMessage")
        if c.args["text"].startswith("Waiting for you in")
    ]
    assert len(messages) == 2  # one at each size, none on the quiet tick after
    assert messages[-1]["channel"] == "U7" and "Target users" in messages[-1]["text"]
