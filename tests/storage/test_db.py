"""The database URL: read from the environment or `.env` without the bot's settings, migrated by hand."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage import db, outbox
from storage.models import ProcessedEvent
from tests.conftest import NOW

REPO = Path(__file__).resolve().parents[2]


def test_the_url_comes_from_the_environment_then_dotenv_then_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("database_url", raising=False)
    missing = tmp_path / "none.env"
    assert db.url_from_environment(str(missing)) == db.DEFAULT_URL == "sqlite:///./mlplan.db"
    dotenv = tmp_path / ".env"
    dotenv.write_text("DATABASE_URL=postgresql://h/from_file\n")
    assert db.url_from_environment(str(dotenv)) == "postgresql://h/from_file"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from_env.db")
    assert db.url_from_environment(str(dotenv)) == "sqlite:///from_env.db"


def test_alembic_by_hand_migrates_database_url_without_importing_the_bot(tmp_path):
    target = tmp_path / "by-hand.db"
    script = (
        "import sys\n"
        "from alembic import command\n"
        "from storage import db\n"
        "command.upgrade(db.alembic_config(), 'head')\n"
        "assert not [m for m in sys.modules if m == 'bot' or m.startswith('bot.')], 'imported bot'\n"
    )
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{target}"}
    env.pop("database_url", None)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(f"sqlite:///{target}")
    tables = sa.inspect(engine).get_table_names()
    engine.dispose()
    assert {"projects", "outbox", "slack_installations", "alembic_version"} <= set(tables)


async def _backend_pid(engine) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(sa.text("SELECT pg_backend_pid()"))


async def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(
    database_url, monkeypatch
):
    """PostgreSQL only: the idle ping replaces a dead connection; a busy pool pings nothing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("pooled server connections are PostgreSQL's")
    engine, killer = db.create_engine(database_url), db.create_engine(database_url)
    pings = []
    monkeypatch.setattr(engine.sync_engine.dialect, "do_ping", _counting(pings, engine))
    try:
        first = await _backend_pid(engine)
        assert await _backend_pid(engine) == first and pings == []  # reused at once: no ping
        async with killer.connect() as connection:
            await connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # as if it had sat idle for long
        replaced = await _backend_pid(engine)
        # The dead one, then its replacement (with no idle time allowed, every checkout pings).
        assert replaced != first and len(pings) == 2
    finally:
        await engine.dispose()
        await killer.dispose()


def _counting(pings: list, engine):
    ping = engine.sync_engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(1)
        return ping(dbapi_connection)

    return counted


async def _first_time(sessions, event_id: str) -> None:
    async with sessions() as session:
        assert await outbox.first_time(
            session=session, platform="slack", event_id=event_id, now=NOW
        )
        await session.commit()


async def _event_ids(sessions) -> list[str]:
    async with sessions() as session:
        query = sa.select(ProcessedEvent.event_id).order_by(ProcessedEvent.id)
        return list(await session.scalars(query))


async def test_on_sqlite_a_process_s_writers_take_turns_in_the_order_they_came(engine, sessions):
    """SQLite: transactions waiting for another's write queue in order, none is overtaken.

    SQLite's busy handler retries a locked write after sleeps of up to 100 ms, and a newcomer
    that tries in between goes first: under 20 intakes at once some turns waited past the 2 s
    bound (a 500) although the lock was free most of the time. One connection per engine makes
    a process's transactions queue in SQLAlchemy's pool instead, first come, first served.
    """
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's one writer")
    async with sessions() as holder:
        await outbox.first_time(session=holder, platform="slack", event_id="E0", now=NOW)
        waiting = []
        for n in range(1, 6):
            waiting.append(asyncio.create_task(_first_time(sessions, f"E{n}")))
            await asyncio.sleep(0.05)  # it waits before the next one comes
        assert not any(task.done() for task in waiting)
        await holder.commit()
    await asyncio.gather(*waiting)
    assert await _event_ids(sessions) == ["E0", "E1", "E2", "E3", "E4", "E5"]


async def test_a_transaction_that_read_before_another_process_wrote_still_writes(
    sessions, other_sessions
):
    """A write after a read does not fail at once because another process committed between.

    With a BEGIN before the read (sqlite3's legacy mode sends none before a SELECT), SQLite
    would refuse the write with "database is locked" (a stale snapshot) without waiting.
    """
    async with sessions() as first:
        await first.scalar(sa.select(sa.func.count()).select_from(ProcessedEvent))
        await _first_time(other_sessions, "E1")
        assert await outbox.first_time(session=first, platform="slack", event_id="E2", now=NOW)
        await first.commit()
    assert await _event_ids(sessions) == ["E1", "E2"]
