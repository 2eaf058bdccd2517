"""Measure the Monday digest of an organisation: S subscribers over N projects in one workspace.

It builds a workspace of N projects (answers from the eight-project portfolio of issue 13, in
turn, with their milestones and documentation items) and S digest subscribers, then times the
scheduler's digest step once at 09:00 on a Monday: every subscriber's digest read, built,
claimed and queued in the outbox (Slack's rendering included; nothing is sent). It prints the
time, the SQL statement count and the queued messages. Goal: 1,000 subscribers over 10,000
projects in under 60 s. Run it from the repo root:

    python -m bench.digests [--projects 10000] [--subscribers 1000] [--database-url URL]

With no URL it uses a fresh SQLite file in a temporary folder; a PostgreSQL URL must name an
empty database (the tables are created by the migrations).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.digests import Digests
from bot.notify import Notifier
from bot.scheduler import Scheduler
from bot.sender import OutboxSender
from bot.slack.delivery import SlackTransport
from bot.slack.placement import SlackDirections
from flows.model import default_flow
from storage import db, models
from tests.flows.portfolio import portfolio

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def build(sessions, flow, projects: int, subscribers: int) -> None:
    """Insert the workspace in bulk: projects, latest answers, items, subscriptions."""
    planned = portfolio(flow)
    async with sessions() as session:
        workspace = models.Workspace(platform="slack", external_id="TBENCH", created_at=MONDAY)
        session.add(workspace)
        await session.flush()
        ws = workspace.id
        rows, answers, milestones, docs = [], [], [], []
        for n in range(projects):
            p = planned[n % len(planned)]
            at = MONDAY - timedelta(days=p.idle_days)
            rows.append(
                {
                    "id": n + 1,
                    "workspace_id": ws,
                    "name": f"{p.name} {n}",
                    "name_key": f"{p.name.lower()} {n}",
                    "owner": p.owner,
                    "stage": p.answers.get("stage"),
                    "channel_id": f"C{n % 50:04d}",
                    "thread_id": f"1700000000.{n:06d}",
                    "sections": [],
                    "current_question_id": p.current_question,
                    "turn": 0,
                    "intake_done_at": at if p.intake_done else None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            for question_id, value in p.answers.items():
                answers.append(
                    {
                        "project_id": n + 1,
                        "question_id": question_id,
                        "version": 1,
                        "value": value,
                        "raw": "",
                        "skipped": value is None,
                        "author": p.owner,
                        "created_at": at,
                    }
                )
            for k in range(10):  # ten items a project, as issue 12 measures
                item = p.items[k % len(p.items)] if p.items else None
                due = MONDAY.date() + timedelta(days=(item.due_in if item else 30) + k)
                row = {
                    "project_id": n + 1,
                    "key": f"item{k}",
                    "title": item.title if item else f"Step {k}",
                    "owner": item.owner if item else p.owner,
                    "due": due,
                    "status": "done" if item and item.done else "open",
                    "created_at": at,
                    "updated_at": at,
                }
                (docs if k % 2 else milestones).append(row)
        await session.execute(sa.insert(models.Project), rows)
        for table, batch in ((models.Answer, answers), (models.Milestone, milestones)):
            for start in range(0, len(batch), 5000):
                await session.execute(sa.insert(table), batch[start : start + 5000])
        for start in range(0, len(docs), 5000):
            await session.execute(sa.insert(models.DocItem), docs[start : start + 5000])
        await session.execute(
            sa.insert(models.DigestSubscription),
            [
                {
                    "workspace_id": ws,
                    "target_kind": "user",
                    "target_id": f"ULEAD{s:05d}",
                    "timezone": "UTC",
                    "created_by": {"id": f"ULEAD{s:05d}"},
                    "created_at": MONDAY - timedelta(days=3),
                    # A few leads follow one channel's projects: their digests differ.
                    "scope_kind": "channel" if s % 10 == 0 else None,
                    "scope_value": f"C{s % 50:04d}" if s % 10 == 0 else None,
                    "every_weeks": 1,
                }
                for s in range(subscribers)
            ],
        )
        await session.commit()


async def run(database_url: str, projects: int, subscribers: int) -> dict:
    """Build the workspace and time one Monday digest tick; return the figures."""
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    sessions = db.sessionmaker(engine)
    flow = default_flow()
    started = time.perf_counter()
    await build(sessions, flow, projects, subscribers)
    built = time.perf_counter() - started
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    digests = Digests(sessions=sessions, flow=flow, default_timezone=ZoneInfo("UTC"))
    scheduler = Scheduler(
        sessions=sessions,
        default_timezone=ZoneInfo("UTC"),
        notifiers={"slack": Notifier(queue_only(sessions))},
        digests=digests,
        digest_cron="0 9 * * MON",
    )
    started = time.perf_counter()
    queued = await scheduler.due_digests.queue(MONDAY)
    elapsed = time.perf_counter() - started
    sa.event.remove(engine.sync_engine, "before_cursor_execute", count)
    async with sessions() as session:
        messages = await session.scalar(sa.select(sa.func.count()).select_from(models.Outgoing))
    await engine.dispose()
    return {
        "projects": projects,
        "subscribers": subscribers,
        "build_s": round(built, 2),
        "digest_s": round(elapsed, 2),
        "statements": statements,
        "digests": queued,
        "messages": messages,
    }


def queue_only(sessions) -> OutboxSender:
    """A Slack sender that only queues: the bench measures the digest, not the Web API."""

    async def no_client(team_id: str):
        raise RuntimeError("the bench sends nothing")

    return OutboxSender(
        sessions=sessions,
        clock=lambda: MONDAY,
        transport=SlackTransport(no_client),
        directions=SlackDirections(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        figures = asyncio.run(run(url, args.projects, args.subscribers))
    print(
        f"{figures['subscribers']} subscribers over {figures['projects']} projects:"
        f" {figures['digest_s']} s, {figures['statements']} statements,"
        f" {figures['digests']} digests in {figures['messages']} messages"
        f" (workspace built in {figures['build_s']} s)"
    )


if __name__ == "__main__":
    main()
