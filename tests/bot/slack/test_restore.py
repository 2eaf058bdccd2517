"""An import is a restore: a tick right after it tells nobody again what was due before it."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.ticks import Counter
from bot.app import build_scheduler
from storage import people, workspaces
from storage.assignments import Assignment
from storage.models import Delivery, DocItem, Milestone
from storage.models import OpenQuestion as OpenQuestionRow
from storage.open_questions import OpenQuestion
from tests.bot.backup_files import Planned, project_line, restore_here
from tests.bot.test_chat_cli import run_mlplan
from tests.conftest import NOW

OWNER = {"id": "U1", "name": "ana"}
BOB = {"id": "U2", "name": "bob"}


def items(today):
    return [
        Planned("milestone", "Long overdue", today - timedelta(days=10), BOB),
        Planned("milestone", "Due today", today, BOB),
        Planned("doc", "Due soon", today + timedelta(days=2), BOB),
        Planned("milestone", "Due later", today + timedelta(days=10), BOB),
        Planned("milestone", "Snoozed", today - timedelta(days=3), BOB, snoozed_until=today),
        Planned("doc", "Nobody's", today - timedelta(days=1), None),
        Planned("milestone", "Finished stage", today - timedelta(days=5), BOB, status="done"),
    ]


def owed(today):
    """What each project owes Bob: a question reminded before the backup, one to revisit after
    it, and a section reminded once, next due five days after the backup."""
    asked = NOW - timedelta(days=10)
    return {
        "open_questions": [
            OpenQuestion(
                0,
                0,
                "target_users",
                BOB,
                today - timedelta(days=3),
                None,
                NOW - timedelta(days=3),
                asked,
            ),
            OpenQuestion(
                0,
                0,
                "value_proposition",
                BOB,
                today + timedelta(days=2),
                NOW + timedelta(days=2),
                None,
                asked,
            ),
        ],
        "assignments": [
            Assignment(
                0,
                0,
                "data",
                BOB,
                OWNER,
                "data_availability",
                NOW - timedelta(days=5),
                NOW - timedelta(days=2),
                None,
                assigned_at=NOW - timedelta(days=5),
                remind_at=NOW + timedelta(days=5),
                reminded=1,
                reminded_at=NOW - timedelta(days=2),
            )
        ],
    }


def waiting(slack, person):
    return [
        c.args
        for c in slack.fake.sent("chat.postMessage")
        if c.args["channel"] == person and c.args["text"].startswith("Waiting for you in")
    ]


def dms(slack, person):
    return [
        c.args
        for c in slack.fake.sent("chat.postMessage")
        if c.args["channel"] == person and c.args["text"].startswith("Reminder for")
    ]


async def test_a_restored_workspace_is_not_reminded_again_of_what_was_due_before(
    slack, database_url, flow, tmp_path
):
    file = tmp_path / "backup.jsonl"
    file.write_text(
        "".join(
            project_line(
                flow,
                number=n,
                workspace="slack:T1",
                now=NOW,
                owner=OWNER,
                items=items(NOW.date()),
                **owed(NOW.date()),
            )
            + "\n"
            for n in range(50)
        )
    )
    result = run_mlplan(database_url, "import", str(file), "--now", NOW.isoformat())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Imported 50 projects into slack:T1")
    assert "150 open questions and sections owed" in result.stdout

    scheduler = build_scheduler(slack.runtime, slack_adapter=slack.adapter)
    slack.clock.now = NOW + timedelta(minutes=1)
    report = await scheduler.tick(slack.clock.now)
    assert (report.assignments, report.reminders, report.sent) == (0, 0, 0)
    assert slack.fake.sent("chat.postMessage") == []

    # A week later what fell due after the import is reminded, once a project and person.
    slack.clock.now = NOW + timedelta(days=7, minutes=1)
    report = await scheduler.tick(slack.clock.now)
    assert report.assignments == 0
    to_bob, to_owner = dms(slack, "U2"), dms(slack, "U1")
    assert len(to_bob) == 50 and len(to_owner) == 50
    for message in to_bob:
        text = str(message["blocks"])
        assert "Due later" in text and "due in 3 days" in text  # its day-before occasion
        assert "Long overdue" in text and "17 days overdue" in text  # a new overdue week
        assert "Due today" in text and "7 days overdue" in text
        assert "Snoozed" in text and "Due soon" in text
        assert "Finished stage" not in text
    assert all("8 days overdue" in str(m["blocks"]) for m in to_owner)
    # What Bob owes goes on where it stood: the question to revisit after the backup and the
    # section's next weekly reminder, once; the question reminded before it, not again.
    owes = waiting(slack, "U2")
    assert len(owes) == 50
    for message in owes:
        assert message["text"].startswith("Waiting for you in Project ")
        assert "Value proposition" in message["text"] and "Data landscape" in message["text"]
        assert "Target users" not in message["text"]
    report = await scheduler.tick(slack.clock.now + timedelta(minutes=1))
    assert report.reminders == 0 and len(waiting(slack, "U2")) == 50
    # The carried sent time is what keeps the first question quiet: without it, Bob is asked.
    async with slack.runtime.sessions() as session:
        await session.execute(
            sa.update(OpenQuestionRow)
            .where(OpenQuestionRow.question_id == "target_users")
            .values(reminded_at=None, remind_at=slack.clock.now)
        )
        await session.commit()
    report = await scheduler.tick(slack.clock.now + timedelta(minutes=2))
    assert report.reminders == 50
    assert all("Target users" in m["text"] for m in waiting(slack, "U2")[50:])

    # The carried-over state is what kept the first tick quiet: without it, owners are told.
    async with slack.runtime.sessions() as session:
        await session.execute(sa.delete(Delivery).where(Delivery.status == "restored"))
        for model in (Milestone, DocItem):
            await session.execute(sa.update(model).values(owner_notice_at=slack.clock.now))
        await session.commit()
    report = await scheduler.tick(slack.clock.now + timedelta(minutes=1))
    assert report.assignments == 50


async def test_a_restore_sets_each_items_first_look_so_its_first_tick_works_out_nothing(
    slack, flow, tmp_path
):
    """Nine on the day of the next occasion, in the earliest zone (UTC+14): then, not before,
    each recipient's own nine o'clock is worked out, and each is reminded at it."""
    today = NOW.date()  # 2026-11-23, as reminders are reckoned at the import (MLPLAN_TIMEZONE)
    early, late = {"id": "U7", "name": "kiri"}, {"id": "U8", "name": "hono"}
    async with slack.runtime.sessions() as session:
        ws = await workspaces.get_or_create(
            session=session, platform="slack", external_id="T1", now=NOW
        )
        for person, tz in ((early, "Pacific/Kiritimati"), (late, "Pacific/Honolulu")):
            await people.remember(
                session=session, workspace_id=ws.id, person=person, now=NOW, timezone=tz
            )
        await session.commit()
    due = today + timedelta(days=4)  # its first occasion: three days before, 2026-11-24
    file = tmp_path / "backup.jsonl"
    file.write_text(
        project_line(
            flow,
            number=1,
            workspace="slack:T1",
            now=NOW,
            owner=OWNER,
            items=[
                Planned("milestone", "Ahead", due, early),
                Planned("milestone", "Behind", due, late),
                Planned("milestone", "Done", due, early, status="done"),
            ],
        )
        + "\n"
    )
    await restore_here(slack.runtime.sessions, flow, file, NOW)
    async with slack.runtime.sessions() as session:
        looks = dict((await session.execute(sa.select(Milestone.title, Milestone.remind_at))).all())
    first = datetime(2026, 11, 23, 19, tzinfo=UTC)  # 2026-11-24 09:00 at UTC+14
    aware = {
        t: at and (at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC))
        for t, at in looks.items()
    }
    assert aware == {
        "Ahead": first,
        "Behind": first,
        "Done": None,
    }

    scheduler = build_scheduler(slack.runtime, slack_adapter=slack.adapter)
    with Counter(slack.runtime.engine) as right_after:
        report = await scheduler.tick(NOW + timedelta(minutes=1))
    with Counter(slack.runtime.engine) as quiet:
        await scheduler.tick(NOW + timedelta(minutes=2))
    assert (report.reminders, right_after.count) == (0, quiet.count)  # as a quiet minute
    assert (await scheduler.tick(first - timedelta(minutes=1))).reminders == 0
    assert (await scheduler.tick(first)).reminders == 1  # nine at Kiritimati
    assert [m["text"] for m in dms(slack, "U7")] == ["Reminder for Project 00001: Ahead"]
    honolulu_nine = datetime(2026, 11, 24, 19, tzinfo=UTC)
    assert (await scheduler.tick(honolulu_nine - timedelta(minutes=1))).reminders == 0
    assert (await scheduler.tick(honolulu_nine)).reminders == 1
    assert len(dms(slack, "U8")) == 1 and len(dms(slack, "U7")) == 1
