"""The database URL: read from the environment or `.env` without the bot's settings, migrated by hand."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage import db

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
