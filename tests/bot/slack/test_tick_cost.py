"""What a tick costs: its SQL statements follow what is due, not how many projects exist."""

from datetime import date, timedelta

import sqlalchemy as sa

from bench.ticks import MORNING, Counter, populate
from bot.app import build_scheduler
from bot.scheduler import TickReport
from storage import projects, tracked, workspaces
from storage.models import Milestone
from tests.conftest import empty_tables

ADA = {"id": "U7", "name": "ada"}
# due, items, zones; notice: lookup, claim, queue, clear; reminder: lookup, claim, queue, next
# time; digests; the outbox: both messages go to one person, so one after the other, each a
# head of its conversation (a claim that reads where it goes, the outcome); the second has
# nothing behind it, so no pass looks again.
DUE_TICK = 17


async def add_due_item(sessions) -> None:
    """Add a project whose one milestone is due the day after `MORNING`, owned by Ada."""
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
        await session.commit()


async def costs(slack, size: int) -> tuple[int, int, int]:
    """Count the statements of a quiet tick, a tick with one item due, and the quiet one after."""
    engine = slack.runtime.engine
    await empty_tables(engine)
    await populate(engine, projects=size)
    scheduler = build_scheduler(slack.runtime, slack_adapter=slack.adapter)

    async def tick(minutes: int) -> tuple[TickReport, int]:
        at = MORNING + timedelta(minutes=minutes)
        slack.clock.now = at
        with Counter(engine) as counter:
            report = await scheduler.tick(at)
        return report, counter.count

    quiet, quiet_count = await tick(0)
    await add_due_item(slack.runtime.sessions)
    due, due_count = await tick(1)
    after, after_count = await tick(2)
    assert quiet == after == TickReport()
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
