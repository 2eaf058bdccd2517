"""Measure the Monday digest of an organisation: S subscribers over N projects in one workspace.

It builds a workspace of N projects (answers from the eight-project portfolio of issue 13, in
turn, with ten milestones and documentation items each) by importing a backup file of them with
`mlplan import`'s code (`bench.workspaces`; its first document carries S digest subscribers),
then times the scheduler's digest step once at 09:00 on a Monday: every subscriber's digest
read, built, claimed and queued in the outbox (Slack's rendering included; nothing is sent).
It prints the time, the SQL statement count and the queued messages. Goal: 1,000 subscribers over 10,000
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

from bench.ticks import Counter
from bench.workspaces import carrying, channel, import_file, leads
from bot.digests import Digests
from bot.notify import Notifier
from bot.scheduler import Scheduler
from bot.sender import OutboxSender
from bot.slack.delivery import SlackTransport
from bot.slack.placement import SlackDirections
from flows.model import Flow, default_flow
from storage import db, models
from storage.projects import Answer, Project
from tests.bot.backup_files import Planned as Item
from tests.bot.backup_files import document_line
from tests.flows.portfolio import Planned, portfolio

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SUBSCRIBED = MONDAY - timedelta(days=3)  # the workspace is imported and subscribed to then
WORKSPACE = "slack:TBENCH"


def write_file(path: Path, flow: Flow, projects: int, subscribers: int = 0) -> None:
    """Write the workspace's backup file: the portfolio's projects in turn, ten items each; the
    first carries `subscribers` digest subscribers, subscribed at SUBSCRIBED."""
    planned = portfolio(flow)
    with path.open("w", encoding="utf-8") as out:
        for n in range(projects):
            line = _line(flow, planned[n % len(planned)], n)
            if n == 0 and subscribers:
                line = carrying(line, leads(subscribers, at=SUBSCRIBED))
            out.write(line + "\n")


def _line(flow: Flow, p: Planned, n: int) -> str:
    """Write project number `n` (from 0) as a portfolio project, its answers in one version."""
    at = MONDAY - timedelta(days=p.idle_days)
    project = Project(
        id=n + 1,
        workspace_id=0,
        name=f"{p.name} {n}",
        owner=p.owner,
        stage=p.answers.get("stage"),
        channel_id=channel(n),
        thread_id=f"1700000000.{n:06d}",
        sections=(),
        current_question_id=p.current_question,
        walking_section=None,
        turn=0,
        intake_done_at=at if p.intake_done else None,
        created_at=at,
        updated_at=at,
    )
    answers = [
        Answer(n + 1, question_id, 1, value, "", value is None, p.owner, None, at)
        for question_id, value in sorted(p.answers.items())
    ]
    items = []
    for k in range(10):  # ten items a project, as issue 12 measures
        item = p.items[k % len(p.items)] if p.items else None
        items.append(
            Item(
                "doc" if k % 2 else "milestone",
                item.title if item else f"Step {k}",
                MONDAY.date() + timedelta(days=(item.due_in if item else 30) + k),
                item.owner if item else p.owner,
                status="done" if item and item.done else "open",
                key=f"item{k}",
            )
        )
    return document_line(flow, project=project, workspace=WORKSPACE, answers=answers, items=items)


async def run(database_url: str, projects: int, subscribers: int) -> dict:
    """Build the workspace through `mlplan import` and time one Monday digest step."""
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    sessions = db.sessionmaker(engine)
    flow = default_flow()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "portfolio.jsonl"
        started = time.perf_counter()
        write_file(path, flow, projects, subscribers)
        written = time.perf_counter() - started
        imported = await import_file(sessions, flow, path, workspace=WORKSPACE, now=SUBSCRIBED)
    digests = Digests(sessions=sessions, flow=flow, default_timezone=ZoneInfo("UTC"))
    scheduler = Scheduler(
        sessions=sessions,
        default_timezone=ZoneInfo("UTC"),
        notifiers={"slack": Notifier(queue_only(sessions))},
        digests=digests,
        digest_cron="0 9 * * MON",
    )
    with Counter(engine) as counter:
        started = time.perf_counter()
        queued = await scheduler.due_digests.queue(MONDAY)
        elapsed = time.perf_counter() - started
    async with sessions() as session:
        messages = await session.scalar(sa.select(sa.func.count()).select_from(models.Outgoing))
    await engine.dispose()
    return {
        "projects": projects,
        "subscribers": subscribers,
        "file_s": round(written, 2),
        "import_s": round(imported.seconds, 2),
        "digest_s": round(elapsed, 2),
        "statements": counter.count,
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


def table(figures: dict) -> str:
    """Lay the figures out as a Markdown table."""
    r = figures
    return (
        "| projects | subscribers | digest step | statements | digests | messages | imported in |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {r['projects']:,} | {r['subscribers']:,} | {r['digest_s']} s"
        f" | {r['statements']:,} | {r['digests']:,} | {r['messages']:,} | {r['import_s']} s |"
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
    print(table(figures))


if __name__ == "__main__":
    main()
