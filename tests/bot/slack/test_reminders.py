"""Reminders over weeks of simulated time, through the fake Slack server: once, on time, batched."""

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.app import build_scheduler
from bot.slack.app import build
from storage import projects as store
from storage import tracked, workspaces
from storage.models import Delivery, DocItem, Milestone
from tests.fakes.slack_api import Failure

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def plan(slack, *items, owner="U2"):
    """Start an intake and give it milestones (title, due, kind) owned by `owner`."""
    await slack.start()
    async with slack.runtime.sessions() as session:
        ws = await workspaces.get_or_create(
            session=session, platform="slack", external_id="T1", now=MONDAY
        )
        project = await store.find_project(session=session, workspace_id=ws.id, name="Churn model")
        for kind in (Milestone, DocItem):
            rows = [
                {
                    "key": title.lower().replace(" ", "_"),
                    "title": title,
                    "owner": {"id": owner} if owner else None,
                    "due": due,
                }
                for title, due, k in items
                if k is kind
            ]
            await tracked.sync(
                session=session,
                project_id=project.id,
                kind="milestone" if kind is Milestone else "doc",
                items=rows,
                now=MONDAY,
            )
        await session.commit()
    return project


def reminder_calls(slack, person="U2"):
    return [
        c
        for c in slack.fake.sent("chat.postMessage")
        if c.args["channel"] == person and c.args["text"].startswith("Reminder for")
    ]


def dms(slack, person="U2") -> list[dict]:
    return [c.args for c in reminder_calls(slack, person)]


async def tick(slack, at: datetime, scheduler=None):
    slack.clock.now = at
    scheduler = scheduler or build_scheduler(slack.runtime, slack_adapter=slack.adapter)
    return await scheduler.tick(at)


async def test_a_milestone_is_reminded_before_on_and_after_its_due_date_once_each(slack):
    await plan(slack, ("Baseline", "2026-12-01", Milestone))
    sent_on = {}
    for day in range(0, 22):
        for hour in (8, 9, 15):
            at = MONDAY.replace(hour=hour) + timedelta(days=day)
            report = await tick(slack, at)
            if report.reminders:
                sent_on[at.date().isoformat()] = dms(slack)[-1]["text"]
    assert list(sent_on) == ["2026-11-28", "2026-12-01", "2026-12-02", "2026-12-09"]
    assert "due in 3 days" in str(dms(slack)[0]["blocks"])
    assert "due today" in str(dms(slack)[1]["blocks"])
    assert "1 day overdue" in str(dms(slack)[2]["blocks"]) and "8 days overdue" in str(
        dms(slack)[3]["blocks"]
    )
    assert len(dms(slack)) == 4
    actions = [
        e["action_id"]
        for b in dms(slack)[0]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert [a.split(":")[1] for a in actions] == ["done", "snooze1", "snooze7", "date"]


async def test_one_message_a_day_per_person_and_project_batches_the_due_items(slack):
    await plan(
        slack,
        ("Baseline", "2026-11-26", Milestone),
        ("Pipelines", "2026-11-26", Milestone),
        ("Model card", "2026-11-25", DocItem),
    )
    await tick(slack, MONDAY)
    assert len(dms(slack)) == 1
    text = str(dms(slack)[0]["blocks"])
    assert "Baseline" in text and "Pipelines" in text and "Model card" in text
    await tick(slack, MONDAY + timedelta(hours=3))
    assert len(dms(slack)) == 1


async def test_after_downtime_a_missed_reminder_is_sent_once_not_a_flood(slack):
    await plan(slack, ("Baseline", "2026-11-26", Milestone))
    await tick(
        slack, MONDAY + timedelta(days=10)
    )  # the scheduler was down from before the due date
    await tick(slack, MONDAY + timedelta(days=10, minutes=1))
    assert len(dms(slack)) == 1
    assert "7 days overdue" in str(dms(slack)[0]["blocks"])


async def test_reminders_wait_for_nine_in_the_recipients_time_zone(slack):
    slack.fake.users["U2"]["tz"] = "America/New_York"
    await plan(slack, ("Baseline", "2026-11-26", Milestone))
    await slack.say(
        "x", thread=slack.fake.sent("chat.postMessage")[0].response["ts"]
    )  # mlplan learns U2's zone
    await slack.settle()
    await tick(slack, datetime(2026, 11, 23, 13, 59, tzinfo=UTC))  # 08:59 in New York
    assert dms(slack) == []
    await tick(slack, datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    assert len(dms(slack)) == 1


async def test_an_owner_mlplan_cannot_message_is_covered_by_the_project_owner(slack):
    await plan(slack, ("Baseline", "2026-11-26", Milestone), owner=None)
    await tick(slack, MONDAY)
    assert dms(slack, "U2") == []
    [message] = dms(slack, "U1")
    assert "Nobody owns these items yet" in str(message["blocks"])


async def test_two_schedulers_ticking_at_once_send_each_reminder_once(slack):
    await plan(slack, ("Baseline", "2026-11-26", Milestone), ("Pipelines", "2026-11-27", Milestone))
    schedulers = [
        build_scheduler(slack.runtime, slack_adapter=build(slack.runtime, retry_backoff=0.01))
        for _ in range(2)
    ]
    slack.clock.now = MONDAY
    reports = await asyncio.gather(*(s.tick(MONDAY) for s in schedulers))
    assert sum(r.reminders for r in reports) == 1
    # A row one scheduler queued while the other was sending that person's earlier message
    # waits for the next pass (the flush loop's): run it, as the loop would.
    await slack.adapter.delivery.deliver(MONDAY)
    notices = [
        c.args
        for c in slack.fake.sent("chat.postMessage")
        if c.args["text"].startswith("You own new items")
    ]
    told = [
        e["action_id"]
        for n in notices
        for b in n["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("remind:done")
    ]
    assert sorted(told) == sorted(set(told)) and len(told) == 2  # each item's owner is told once
    assert len(dms(slack)) == 1
    async with slack.runtime.sessions() as session:
        keys = (
            await session.scalars(sa.select(Delivery.key).where(Delivery.kind == "reminder"))
        ).all()
    assert len(keys) == 1


async def test_a_reminder_that_fails_to_send_is_sent_by_a_later_tick_once(slack):
    await plan(slack, ("Baseline", "2026-11-26", Milestone))
    slack.fake.fail("chat.postMessage", *[Failure(status=503)] * 3)
    first = await tick(slack, MONDAY)
    assert first.reminders == 1 and first.sent == 0 and dms(slack) == []
    later = await tick(slack, MONDAY + timedelta(minutes=5))
    assert later.reminders == 0 and later.sent == 2  # the new-owner notice, then the reminder
    await tick(slack, MONDAY + timedelta(minutes=10))
    assert len(dms(slack)) == 1


async def run_tick(slack, database_url: str, moment: str) -> str:
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("mlplan")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env |= {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-T1-cli",
        "SLACK_SIGNING_SECRET": "cli-secret",
        "SLACK_API_URL": slack.fake.api_url,
    }
    process = await asyncio.create_subprocess_exec(
        *command, "tick", "--now", moment, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def test_mlplan_tick_twice_for_the_same_moment_sends_nothing_twice(slack, database_url):
    await plan(slack, ("Baseline", "2026-11-26", Milestone))
    assert (
        await run_tick(slack, database_url, "2026-11-23T09:30:00+00:00")
        == "1 reminder, 0 digests and 1 new-owner notice queued; 2 messages sent."
    )
    assert (
        await run_tick(slack, database_url, "2026-11-23T09:30:00+00:00")
        == "0 reminders, 0 digests and 0 new-owner notices queued; 0 messages sent."
    )
    assert [c.token for c in reminder_calls(slack)] == ["xoxb-T1-cli"]


async def press_reminder(slack, message_call, verb: str, ref: str, *, user="U2"):
    import json
    from urllib.parse import urlencode

    message = {**message_call.response["message"], "blocks": message_call.args["blocks"]}
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user, "username": user.lower()},
        "channel": {"id": message_call.args["channel"]},
        "message": message,
        "trigger_id": "trigger-1",
        "response_url": slack.fake.response_url("reminder"),
        "actions": [
            {"action_id": f"remind:{verb}:{ref}", "value": ref, "type": "button", "block_id": "b"}
        ],
    }
    response = await slack.post(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )
    assert response.status == 200
    await slack.settle()


async def item_state(slack, model, title):
    async with slack.runtime.sessions() as session:
        return await session.scalar(sa.select(model).where(model.title == title))


async def test_done_and_snooze_buttons_act_store_who_and_when_and_update_the_reminder(slack):
    from storage.models import ItemAction

    await plan(slack, ("Baseline", "2026-11-26", Milestone), ("Pipelines", "2026-11-26", Milestone))
    await tick(slack, MONDAY)
    [call] = reminder_calls(slack)
    baseline = await item_state(slack, Milestone, "Baseline")
    pipelines = await item_state(slack, Milestone, "Pipelines")
    slack.clock.now = MONDAY + timedelta(hours=1)
    await press_reminder(slack, call, "done", f"milestone:{baseline.id}")
    update = slack.fake.sent("chat.update")[-1].args
    assert update["ts"] == call.response["ts"] and update["channel"] == "U2"
    kinds = [b["type"] for b in update["blocks"]]
    assert kinds.count("actions") == 1  # Pipelines keeps its buttons
    assert "Baseline: done (&lt;@U2&gt;)" not in str(
        update["blocks"]
    ) and "Baseline: done (<@U2>)" in str(update["blocks"])
    await press_reminder(slack, call, "snooze7", f"milestone:{pipelines.id}")
    assert (await item_state(slack, Milestone, "Baseline")).status == "done"
    assert (
        await item_state(slack, Milestone, "Pipelines")
    ).snoozed_until.isoformat() == "2026-11-30"
    async with slack.runtime.sessions() as session:
        actions = [
            (a.action, a.by["id"], a.at)
            for a in await session.scalars(sa.select(ItemAction).order_by(ItemAction.id))
        ]
    assert actions == [
        ("done", "U2", MONDAY + timedelta(hours=1)),
        ("snooze", "U2", MONDAY + timedelta(hours=1)),
    ]
    for day in range(1, 7):  # snoozed until Monday 30 Nov: silence, then one reminder, overdue
        await tick(slack, MONDAY + timedelta(days=day))
    assert len(dms(slack)) == 1
    await tick(slack, MONDAY + timedelta(days=7))
    assert (
        len(dms(slack)) == 2
        and "Pipelines" in str(dms(slack)[1]["blocks"])
        and "Baseline" not in str(dms(slack)[1]["blocks"])
    )


async def submit_new_date(slack, view: dict, day: str):
    """Submit the New date modal with this day picked, as Slack posts it."""
    import json
    from urllib.parse import urlencode

    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U2", "username": "u2"},
        "view": {
            **view,
            "id": "V1",
            "state": {"values": {"due": {"date": {"type": "datepicker", "selected_date": day}}}},
        },
    }
    return await slack.post(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )


async def test_new_date_opens_a_modal_and_its_submission_moves_the_due_date(slack):
    await plan(slack, ("Baseline", "2026-11-26", Milestone))
    await tick(slack, MONDAY)
    [call] = reminder_calls(slack)
    baseline = await item_state(slack, Milestone, "Baseline")
    await press_reminder(slack, call, "date", f"milestone:{baseline.id}")
    view = slack.fake.sent("views.open")[-1].args["view"]
    assert view["callback_id"] == "mlplan_new_date" and "Baseline" in str(view["blocks"])
    past = await submit_new_date(slack, view, "2026-11-01")
    assert past.status == 200 and (await past.json())["response_action"] == "errors"
    assert (await item_state(slack, Milestone, "Baseline")).due.isoformat() == "2026-11-26"
    ok = await submit_new_date(slack, view, "2026-12-18")
    assert ok.status == 200 and await ok.text() == ""
    await slack.settle()
    assert (await item_state(slack, Milestone, "Baseline")).due.isoformat() == "2026-12-18"
    assert "new date Fri 18 Dec 2026" in str(slack.fake.sent("chat.update")[-1].args["blocks"])


async def test_a_date_moved_by_hand_stays_while_other_milestones_are_answered(slack):
    thread = await slack.start()
    await slack.command("ask Churn model milestones")
    await slack.settle()
    for reply in ("<@U2>", "2026-11-26"):  # the data pipelines' owner and due date
        await slack.say(reply, thread=thread)
        await slack.settle()
    await tick(slack, MONDAY)
    [call] = reminder_calls(slack)
    pipelines = await item_state(slack, Milestone, "Data pipelines built")
    await press_reminder(slack, call, "date", f"milestone:{pipelines.id}")
    moved = await submit_new_date(
        slack, slack.fake.sent("views.open")[-1].args["view"], "2026-12-18"
    )
    assert moved.status == 200
    await slack.settle()
    for reply in ("<@U3>", "2026-12-04"):  # the baseline's owner and due date
        await slack.say(reply, thread=thread)
        await slack.settle()
    pipelines = await item_state(slack, Milestone, "Data pipelines built")
    baseline = await item_state(slack, Milestone, "Baseline model trained")
    assert pipelines.due.isoformat() == "2026-12-18" and pipelines.owner["id"] == "U2"
    assert baseline.due.isoformat() == "2026-12-04" and baseline.owner["id"] == "U3"


async def test_mlplan_worker_ticks_by_itself_and_stops_cleanly_on_sigterm(slack, database_url):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    await plan(slack, ("Baseline", "2027-06-01", Milestone))
    script = Path(sys.executable).with_name("mlplan")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env |= {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-T1-w",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.fake.api_url,
    }
    process = await asyncio.create_subprocess_exec(
        *command, "worker", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        calls = await slack.fake.wait_for(
            "chat.postMessage", count=3, timeout=60
        )  # parent, question, notice
        assert calls[-1].args["channel"] == "U2" and calls[-1].args["text"].startswith(
            "You own new items"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert "mlplan worker is running" in out.decode()


async def test_reminders_are_sent_before_the_mondays_digests_are_built(slack):
    """Building a thousand digests takes seconds: the day's reminders do not wait for them."""
    await plan(slack, ("Baseline", MONDAY.date().isoformat(), Milestone))
    slack.clock.now = MONDAY - timedelta(days=3)
    await slack.command("digest subscribe", user="U1")
    await slack.settle()
    scheduler = build_scheduler(slack.runtime, slack_adapter=slack.adapter)
    queue, seen = scheduler.due_digests.queue, []

    async def queue_watched(now):
        seen.append(len(reminder_calls(slack)))
        return await queue(now)

    scheduler.due_digests.queue = queue_watched
    report = await tick(slack, MONDAY, scheduler)
    assert seen == [1] and report.digests == 1
    assert [c.args["channel"] for c in slack.fake.sent("chat.postMessage")[-2:]] == ["U2", "U1"]
