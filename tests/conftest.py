"""One harness for every test: a real database, migrated once, emptied between tests.

The database is SQLite in a temporary folder unless MLPLAN_TEST_DATABASE_URL names another
(CI runs the suite once more with PostgreSQL). A database that cannot be reached fails the run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bench.processes import compiled
from bot.cli import main
from bot.conversation import Conversations
from flows.model import default_flow
from storage import db
from storage.models import Base

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


def pytest_sessionstart(session) -> None:
    """Compile mlplan's modules once, before the tests start `mlplan` processes.

    Where PYTHONDONTWRITEBYTECODE is set (this machine sets it), every such process would
    otherwise compile them anew from source: some 0.15 s of each start. (`pip install .`
    compiles them at install.)
    """
    compiled()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """Return the URL of the database the suite runs against."""
    url = os.environ.get("MLPLAN_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'mlplan-test.db'}"


@pytest.fixture(scope="session")
async def migrated_engine(database_url):
    """Open the test database, drop what an earlier run left, and migrate it to head."""
    engine = db.create_engine(database_url)
    try:
        await db.ping(engine)
    except Exception as err:
        pytest.fail(
            f"the test database {database_url.split('@')[-1]} cannot be reached: {err}",
            pytrace=False,
        )
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    await db.upgrade(engine)
    yield engine
    await engine.dispose()


async def empty_tables(engine) -> None:
    """Delete every row, children first, so each test starts from an empty database."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(table.delete())


@pytest.fixture
async def engine(migrated_engine):
    """Give a test the migrated engine over empty tables."""
    await empty_tables(migrated_engine)
    return migrated_engine


@pytest.fixture
def sessions(engine):
    """Give a test the session factory."""
    return db.sessionmaker(engine)


@pytest.fixture
async def other_sessions(engine, database_url):
    """Give a test the sessions of a second engine on the same database, as a second process.

    On SQLite one engine has one connection (see `db.create_engine`): transactions that race
    each other come from two processes there, never from one.
    """
    other = db.create_engine(database_url)
    yield db.sessionmaker(other)
    await other.dispose()


@pytest.fixture
def flow():
    """Give a test the packaged flow."""
    return default_flow()


@pytest.fixture
def conversations(sessions, flow):
    """Give a test the conversation service on the test database."""
    return Conversations(sessions=sessions, flow=flow, default_timezone=ZoneInfo("UTC"))


@pytest.fixture
def mlplan_here(database_url, monkeypatch, capsys):
    """Run `mlplan ARGS` in this process (its own thread and loop), as `tests.bot.test_chat_cli.run_mlplan` runs it.

    The same `main` and environment without the second's start of a process: for tests that run
    many refusals, once a subprocess has shown that the installed command says the same.
    """

    async def run(*args: str) -> subprocess.CompletedProcess:
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.setenv("MLPLAN_TIMEZONE", "UTC")
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        said = capsys.readouterr()
        return subprocess.CompletedProcess(["mlplan", *args], code, said.out, said.err)

    return run
