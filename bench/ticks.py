"""Measure what one scheduler tick costs as a workspace grows: time and SQL statements.

For each size N this writes, in an empty database, one Slack workspace of N projects: a backup
file of N whole plans with ten items each (five milestones, five documentation items, owners
spread over 200 people, due dates spread over two months, projects over 50 channels), imported
with `mlplan import`'s code on a Sunday at 10:00 UTC, so that what was due until then counts as
sent, with N/10 digest subscribers (the file's first document carries them). It calls
the scheduler's `tick` in-process, sending through a fake Slack Web API on 127.0.0.1, at:

- the first tick after the import (it works out when each item is next due; nothing is sent),
- a quiet minute (nothing new due),
- the Monday digest (09:00 UTC on Monday: every subscriber's digest read, built, queued and
  sent, with the reminders due that day), and
- the first tick of the next day (09:00 UTC on Tuesday), when that day's reminders fall due.

Run it from the repository root (the database is emptied first: give it one of its own):

    python -m bench.ticks [--database-url URL] [--sizes 100,1000,10000] [--owed]

`--owed` gives each project two questions left for later and a section owed as well (written
directly, as `populate` writes them). `populate` builds the same projects directly, in the state
a day of ticks leaves them in (for `bench.serve` and the tick cost tests).

The default database is a SQLite file in a temporary folder; for PostgreSQL pass e.g.
`--database-url postgresql://postgres@127.0.0.1:5432/bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import processes
from bench.workspaces import carrying, channel, import_file, leads
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
from tests.bot.backup_files import Planned, project_line

UTC_ZONE = ZoneInfo("UTC")
MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
TEAM = "T1"  # the fake Slack's team
IMPORTED = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # a Sunday: the workspace is imported then
# The moments the tick is timed at, in order, from the import on.
MOMENTS = (
    ("first tick after the import", IMPORTED + timedelta(minutes=1)),
    ("quiet minute", IMPORTED + timedelta(minutes=2)),
    ("Monday digest", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
    ("first tick of the day", datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),
)
QUIET_AFTER = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # nothing due: `mlplan tick` runs then
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
            planned = items_of(project_id, today)
            items = [
                Tracked(p.kind, n, p.key, p.title, p.due, p.status) for n, p in enumerate(planned)
            ]
            # Each item is next looked at on its next occasion after today's (sent) reminders.
            sent = {d.occasion for d in due_items(items, today=today)}
            for p, item in zip(planned, items, strict=True):
                day = next_day(items, item, start=today + timedelta(days=1), claimed=sent)
                (milestones if p.kind == "milestone" else docs).append(
                    {
                        "project_id": project_id,
                        "key": p.key,
                        "title": p.title,
                        "owner": p.owner,
                        "due": p.due,
                        "status": p.status,
                        "created_at": now,
                        "updated_at": now,
                        "remind_at": datetime.combine(day, clock_time(9), tzinfo=tz).astimezone(UTC)
                        if day is not None
                        else None,
                    }
                )
        tables = [(Milestone, milestones), (DocItem, docs)]
        if owed:
            tables += _owed_rows(ids, now, tz)
        await _insert(connection, tables)


async def _insert(connection, tables: list[tuple[type, list[dict]]]) -> None:
    """Insert each model's rows in bulk, CHUNK rows a statement."""
    for model, rows in tables:
        for start in range(0, len(rows), CHUNK):
            await connection.execute(sa.insert(model), rows[start : start + CHUNK])


def items_of(project_id: int, today: date) -> list[Planned]:
    """Lay out a project's ten items: five milestones and five documentation items, owners
    spread over 200 people, due dates over two months, the first milestone done in two
    projects of three."""
    return [
        Planned(
            kind,
            key.replace("_", " ").title(),
            today + timedelta(days=(project_id * 3 + j * 7) % 60 - 15),
            {"id": f"U{(project_id + j) % 200}"},
            status="done" if kind == "milestone" and j == 0 and project_id % 3 else "open",
            key=key,
        )
        for kind, keys in (("milestone", MILESTONE_KEYS), ("doc", DOC_KEYS))
        for j, key in enumerate(keys)
    ]


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


async def build(runtime, projects: int, folder: Path, *, owed: bool = False) -> dict:
    """Build the workspace of `projects` projects through `mlplan import`; say what it took.

    The file holds whole plans with `items_of`'s ten items each, imported at IMPORTED (what was
    due until then counts as sent). A tenth as many leads as projects subscribe to the digest
    then (the file's first document carries them). The open questions and owed sections of
    `owed` are added directly, as `populate` writes them, so that the two builds share one
    layout of them.
    """
    path = folder / f"ticks-{projects}.jsonl"
    subscribers = projects // 10
    started = time.perf_counter()
    write_file(path, runtime.flow, projects, now=IMPORTED, subscribers=subscribers)
    written = time.perf_counter() - started
    imported = await import_file(
        runtime.sessions, runtime.flow, path, workspace=f"slack:{TEAM}", now=IMPORTED
    )
    if owed:
        async with runtime.engine.begin() as connection:
            ids = (await connection.scalars(sa.select(Project.id).order_by(Project.id))).all()
            await _insert(connection, _owed_rows(list(ids), IMPORTED, UTC_ZONE))
    return {
        "file_seconds": round(written, 1),
        "import_seconds": round(imported.seconds, 1),
        "subscribers": subscribers,
    }


def write_file(path: Path, flow, projects: int, *, now: datetime, subscribers: int = 0) -> None:
    """Write a backup file of `projects` whole plans with `items_of`'s items, one line each;
    the first carries `subscribers` digest subscribers, subscribed at `now`."""
    today = now.date()
    with path.open("w", encoding="utf-8") as out:
        for n in range(projects):
            person = {"id": f"U{n % 200}", "name": f"person {n % 200}"}
            line = project_line(
                flow,
                number=n,
                workspace=f"slack:{TEAM}",
                now=now,
                owner=person,
                items=items_of(n + 1, today),
                name=f"Bench project {n}",
                channel=channel(n),
            )
            if n == 0 and subscribers:
                line = carrying(line, leads(subscribers, at=now))
            out.write(line + "\n")


async def measure(
    database_url: str, sizes: list[int], *, owed: bool = False, process: bool = False
) -> tuple[list[dict], dict | None]:
    """Build each size afresh through `mlplan import` and time the scheduler's tick at MOMENTS.

    `owed`: each project also has two open questions and a section owed (see `populate`).
    `process`: also time `mlplan tick` as a process at a quiet minute on the largest size.
    Returns a row per size and moment, and the process's figures (None without `process`).
    """
    from bot.app import build_platforms, build_runtime
    from bot.settings import load_settings
    from tests.bot.slack.conftest import SECRET, TOKEN, Clock
    from tests.fakes.slack_api import fake_slack

    results, ran = [], None
    async with fake_slack() as fake:
        settings = load_settings(
            database_url=database_url,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
        )
        for size in sizes:
            clock = Clock(IMPORTED)
            runtime = await build_runtime(settings, migrate=False, clock=clock)
            try:
                await reset(runtime.engine)
                with tempfile.TemporaryDirectory() as folder:
                    built = await build(runtime, size, Path(folder), owed=owed)
                await analyze(runtime.engine)
                scheduler = build_platforms(runtime, socket_mode=False).scheduler
                sending = timed_sends(scheduler)
                for moment, at in MOMENTS:
                    clock.now = at
                    sending.clear()
                    row = await _tick(runtime.engine, scheduler, at, sending)
                    results.append({"projects": size, "moment": moment} | row | built)
                if process and size == max(sizes):
                    ran = {"projects": size} | await tick_process(database_url, fake.api_url)
            finally:
                await runtime.close()
    return results, ran


async def _tick(engine: AsyncEngine, scheduler, at: datetime, sending: list[float]) -> dict:
    """Run one tick at `at`; return its time, its sending time, statements and what it did."""
    with Counter(engine) as counter:
        started = time.perf_counter()
        report = await scheduler.tick(at)
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "sending_seconds": round(sum(sending), 3),
        "statements": counter.count,
        "reminders": report.reminders,
        "digests": report.digests,
        "sent": report.sent,
    }


async def tick_process(database_url: str, api_url: str, at: datetime = QUIET_AFTER) -> dict:
    """Run `mlplan tick --now` as a whole process (a quiet minute): wall time, peak memory.

    It runs in a thread: the fake Slack Web API it is pointed at answers on this event loop.
    """
    from tests.bot.slack.conftest import SECRET, TOKEN

    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url}
    seconds, peak_mb, said = await asyncio.to_thread(
        processes.run, database_url, "tick", "--now", at.isoformat(), env=env
    )
    return {
        "moment": at.isoformat(),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "said": said.strip(),
    }


def table(results: list[dict]) -> str:
    """Lay the results out as a Markdown table, with a line on how each size was built."""
    lines = [
        "| projects | moment | tick | of which sending | statements | reminders queued"
        " | digests queued | sent |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['projects']:,} | {r['moment']} | {r['seconds']:.3f} s | {r['sending_seconds']:.3f} s"
        f" | {r['statements']:,} | {r['reminders']:,} | {r['digests']:,} | {r['sent']:,} |"
        for r in results
    ]
    built = {r["projects"]: r for r in results}.values()
    lines += [""] + [
        f"{r['projects']:,} projects: file written in {r['file_seconds']} s, imported in"
        f" {r['import_seconds']} s; {r['subscribers']:,} digest subscribers."
        for r in built
    ]
    return "\n".join(lines)


def process_table(result: dict) -> str:
    """Lay the `mlplan tick` process's figures out as a Markdown table."""
    r = result
    return "\n".join(
        [
            "| projects | `mlplan tick --now` | wall time | peak RSS | said |",
            "|---|---|---|---|---|",
            f"| {r['projects']:,} | {r['moment']} | {r['seconds']:.2f} s"
            f" | {r['peak_rss_mb']} MB | {r['said']} |",
        ]
    )


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
    rows, _ = asyncio.run(measure(options.database_url, sizes, owed=options.owed))
    print(table(rows))
