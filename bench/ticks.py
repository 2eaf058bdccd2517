"""Measure what one scheduler tick costs as a workspace grows: time and SQL statements.

For each size N this builds, in an empty database, one Slack workspace of N projects with ten
items each (five milestones, five documentation items, owners spread over 200 people, due dates
spread over two months), written with bulk inserts in the state a day of ticks leaves them in
(each item's next reminder time set, every owner told). It then calls the scheduler's `tick`
in-process, sending through a fake Slack Web API on 127.0.0.1, at two moments:

- a quiet minute (10:00, nothing new due), and
- the first tick of the next day (09:00 UTC), when the reminders of that day fall due.

Run it from the repository root (the database is emptied first: give it one of its own):

    python -m bench.ticks [--database-url URL] [--sizes 100,1000,10000] [--owed]

`--owed` gives each project two questions left for later and a section owed as well.

The default database is a SQLite file in a temporary folder; for PostgreSQL pass e.g.
`--database-url postgresql://postgres@127.0.0.1:5432/bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.reminders import Tracked, due_items, next_day
from storage import db
from storage.models import (
    Assignment,
    Base,
    DocItem,
    Milestone,
    OpenQuestion,
    Project,
    Workspace,
)
from storage.projects import name_key

UTC_ZONE = ZoneInfo("UTC")
MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
CHUNK = 2000
MILESTONE_KEYS = ("data_pipeline", "baseline", "deployment", "monitoring", "handover")
DOC_KEYS = ("data_lineage", "model_card", "api_docs", "runbook", "privacy_review")


async def populate(
    engine: AsyncEngine,
    *,
    projects: int,
    now: datetime = MORNING,
    tz: ZoneInfo = UTC_ZONE,
    team: str = "T1",
    owed: bool = False,
) -> None:
    """Add `projects` projects of ten items each to workspace `team`, as settled by earlier ticks.

    `owed`: each project also has two questions left for later (one reminded already, one to
    revisit in the weeks to come) and a section assigned, settled the same way.
    """
    today = now.astimezone(tz).date()
    async with engine.begin() as connection:
        workspace_id = await connection.scalar(
            sa.select(Workspace.id).where(
                Workspace.platform == "slack", Workspace.external_id == team
            )
        )
        if workspace_id is None:
            workspace_id = await connection.scalar(
                sa.insert(Workspace)
                .values(platform="slack", external_id=team, created_at=now)
                .returning(Workspace.id)
            )
        first = await connection.scalar(sa.select(sa.func.coalesce(sa.func.max(Project.id), 0)))
        rows = [
            {
                "workspace_id": workspace_id,
                "name": f"Bench project {first + i}",
                "name_key": name_key(f"Bench project {first + i}"),
                "owner": {"id": f"U{i % 200}", "name": f"person {i % 200}"},
                "sections": [],
                "turn": 0,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(projects)
        ]
        for start in range(0, len(rows), CHUNK):
            await connection.execute(sa.insert(Project), rows[start : start + CHUNK])
        ids = (
            await connection.scalars(
                sa.select(Project.id)
                .where(Project.workspace_id == workspace_id, Project.id > first)
                .order_by(Project.id)
            )
        ).all()
        milestones, docs = [], []
        for project_id in ids:
            items = []
            for kind, keys, into in (
                ("milestone", MILESTONE_KEYS, milestones),
                ("doc", DOC_KEYS, docs),
            ):
                for j, key in enumerate(keys):
                    due = today + timedelta(days=(project_id * 3 + j * 7) % 60 - 15)
                    status = "done" if kind == "milestone" and j == 0 and project_id % 3 else "open"
                    item = Tracked(
                        kind, len(items), key, key.replace("_", " ").title(), due, status
                    )
                    items.append(item)
                    into.append(
                        {
                            "project_id": project_id,
                            "key": key,
                            "title": item.title,
                            "owner": {"id": f"U{(project_id + j) % 200}"},
                            "due": due,
                            "status": status,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            # Each item is next looked at on its next occasion after today's (sent) reminders.
            sent = {d.occasion for d in due_items(items, today=today)}
            for item, row in zip(items, milestones[-5:] + docs[-5:], strict=True):
                day = next_day(items, item, start=today + timedelta(days=1), claimed=sent)
                row["remind_at"] = (
                    datetime.combine(day, clock_time(9), tzinfo=tz).astimezone(UTC)
                    if day is not None
                    else None
                )
        tables = [(Milestone, milestones), (DocItem, docs)]
        if owed:
            tables += _owed_rows(ids, now, tz)
        for model, rows in tables:
            for start in range(0, len(rows), CHUNK):
                await connection.execute(sa.insert(model), rows[start : start + CHUNK])


def _owed_rows(ids: list[int], now: datetime, tz: ZoneInfo) -> list[tuple[type, list[dict]]]:
    """Write each project's open questions and owed section as earlier ticks leave them."""
    today = now.astimezone(tz).date()
    questions, sections = [], []
    for project_id in ids:
        person = {"id": f"U{project_id % 200}"}
        ahead = today + timedelta(days=1 + project_id % 20)
        for question_id, revisit, reminded in (
            ("target_users", today - timedelta(days=2), now - timedelta(days=2)),
            ("value_proposition", ahead, None),
        ):
            questions.append(
                {
                    "project_id": project_id,
                    "question_id": question_id,
                    "owner": person,
                    "owner_id": person["id"],
                    "revisit_on": revisit,
                    "remind_at": None
                    if reminded
                    else datetime.combine(revisit, clock_time(9), tzinfo=tz).astimezone(UTC),
                    "reminded_at": reminded,
                    "created_at": now - timedelta(days=7),
                    "updated_at": now,
                }
            )
        assigned = now - timedelta(days=project_id % 6)
        first = assigned.astimezone(tz).date() + timedelta(days=3)
        next_day = first if first > today else today + timedelta(days=7)
        sections.append(
            {
                "project_id": project_id,
                "section_id": "data",
                "assignee_id": person["id"],
                "assignee": person,
                "assigned_by": person,
                "current_question_id": "data_availability",
                "created_at": assigned,
                "updated_at": assigned,
                "assigned_at": assigned,
                "remind_at": datetime.combine(next_day, clock_time(9), tzinfo=tz).astimezone(UTC),
                "reminded": 0 if first > today else 1,
                "reminded_at": None if first > today else now,
            }
        )
    return [(OpenQuestion, questions), (Assignment, sections)]


@dataclass
class Counter:
    """Count the SQL statements an engine executes while it is attached."""

    engine: AsyncEngine
    count: int = 0

    def _seen(self, *_args) -> None:
        self.count += 1

    def __enter__(self) -> Counter:
        sa.event.listen(self.engine.sync_engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc) -> None:
        sa.event.remove(self.engine.sync_engine, "before_cursor_execute", self._seen)


def timed_sends(scheduler) -> list[float]:
    """Time each notifier's sending within a tick (the outbox's work, apart from deciding)."""
    spent: list[float] = []
    for notifier in scheduler.notifiers.values():
        send = notifier.send

        async def timed(now, send=send):
            started = time.perf_counter()
            try:
                return await send(now)
            finally:
                spent.append(time.perf_counter() - started)

        notifier.send = timed
    return spent


async def analyze(engine: AsyncEngine) -> None:
    """Refresh the planner's statistics after a bulk load, as autovacuum would soon do."""
    async with engine.connect() as connection:
        await connection.execute(sa.text("ANALYZE"))
        await connection.commit()


async def reset(engine: AsyncEngine) -> None:
    """Drop every table and migrate the database again to head."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    await db.upgrade(engine)


async def measure(database_url: str, sizes: list[int], *, owed: bool = False) -> list[dict]:
    """Build each size afresh and time a quiet tick and the first tick of the next day.

    `owed`: each project also has two open questions and a section owed (see `populate`).
    """
    from bot.app import build_platforms, build_runtime
    from bot.settings import load_settings
    from tests.bot.slack.conftest import SECRET, TOKEN, Clock
    from tests.fakes.slack_api import fake_slack

    results = []
    async with fake_slack() as fake:
        settings = load_settings(
            database_url=database_url,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
        )
        for size in sizes:
            clock = Clock(MORNING)
            runtime = await build_runtime(settings, migrate=False, clock=clock)
            try:
                await reset(runtime.engine)
                built = time.perf_counter()
                await populate(runtime.engine, projects=size, owed=owed)
                await analyze(runtime.engine)
                built = time.perf_counter() - built
                scheduler = build_platforms(runtime, socket_mode=False).scheduler
                sending = timed_sends(scheduler)
                for moment, at in (
                    ("quiet minute", MORNING),
                    ("first tick of the day", MORNING.replace(hour=9) + timedelta(days=1)),
                ):
                    clock.now = at
                    sending.clear()
                    with Counter(runtime.engine) as counter:
                        started = time.perf_counter()
                        report = await scheduler.tick(at)
                        seconds = time.perf_counter() - started
                    results.append(
                        {
                            "projects": size,
                            "moment": moment,
                            "seconds": round(seconds, 3),
                            "sending_seconds": round(sum(sending), 3),
                            "statements": counter.count,
                            "reminders": report.reminders,
                            "sent": report.sent,
                            "build_seconds": round(built, 1),
                        }
                    )
            finally:
                await runtime.close()
    return results


def table(results: list[dict]) -> str:
    """Lay the results out as a Markdown table."""
    lines = [
        "| projects | moment | tick | of which sending | statements | reminders queued | sent |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['projects']:,} | {r['moment']} | {r['seconds']:.3f} s | {r['sending_seconds']:.3f} s"
        f" | {r['statements']:,} | {r['reminders']:,} | {r['sent']:,} |"
        for r in results
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    )
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument(
        "--owed", action="store_true", help="give each project open questions and a section owed"
    )
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    print(table(asyncio.run(measure(options.database_url, sizes, owed=options.owed))))
