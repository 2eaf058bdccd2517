"""Open the database: URL mapping, async engine and sessions, migrations, health check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable
from importlib import resources
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

# On PostgreSQL, asyncpg: an answer cost 17 % less of the process's time than with psycopg 3
# (its protocol is compiled; psycopg's async wait re-armed the event loop's reader each time).
ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
# The same default as mlplan's settings: a SQLite file in the working directory.
DEFAULT_FILE = "mlplan.db"
DEFAULT_URL = f"sqlite:///./{DEFAULT_FILE}"
# Any constant works: it only has to be the same for every mlplan process on one database.
MIGRATION_LOCK = 0x6D6C706C
# The newest migration, which a database at head records in `alembic_version`: every command
# starts by comparing the two, and only loads Alembic (a quarter of a second) when they differ.
# tests/storage/test_migrations.py checks it against Alembic's own reading of the scripts.
HEAD = "0011"
# How long to wait for a connection to PostgreSQL, new or from the pool: a request must fail
# fast enough to be answered within Slack's three seconds (and retried by Slack).
CONNECT_TIMEOUT = 2
# How long closing the connections may wait for the server to say goodbye (asyncpg waits for
# it): a database gone silent must not hold a stopping server.
CLOSE_WITHIN = 5
# Connections kept open to PostgreSQL (and up to ten more while busy). Twenty turns at once
# hold some fifteen: with SQLAlchemy's default of five, every busy moment opened and closed
# connections (a server process each), half of PostgreSQL's work per answer.
POOL_SIZE = 20
# A pooled PostgreSQL connection idle longer than this is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE = 1.0
_IDLE_SINCE = "mlplan_idle_since"
# How long SQLite waits for another connection's write lock, in milliseconds.
SQLITE_BUSY_TIMEOUT = 10000


def async_url(url: str) -> str:
    """Map a plain `sqlite:///…` or `postgresql://…` URL to its async driver."""
    parsed = make_url(url)
    if parsed.drivername in ASYNC_DRIVERS:
        parsed = parsed.set(drivername=ASYNC_DRIVERS[parsed.drivername])
    elif parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
        )
    return parsed.render_as_string(hide_password=False)


def url_from_environment(env_file: str = ".env") -> str:
    """Read DATABASE_URL from the environment, else from a `.env` file, else use the default."""
    for name in ("DATABASE_URL", "database_url"):
        if os.environ.get(name):
            return os.environ[name]
    from dotenv import dotenv_values  # pydantic-settings' own reader of `.env` files

    values = {k.upper(): v for k, v in dotenv_values(env_file).items()}
    return values.get("DATABASE_URL") or DEFAULT_URL


def create_engine(url: str, **kwargs) -> AsyncEngine:
    """Create the async engine; on SQLite, one connection with foreign keys, WAL, a busy timeout."""
    url = async_url(url)
    if not url.startswith("sqlite"):
        kwargs.setdefault("pool_timeout", CONNECT_TIMEOUT)
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("connect_args", {"timeout": CONNECT_TIMEOUT})
    elif _is_file(url) and "poolclass" not in kwargs:
        # One connection: a process's transactions queue for it in order (SQLAlchemy's pool),
        # not in SQLite's busy handler, which sleeps up to 100 ms between tries and so lets
        # newcomers overtake a waiter: under 20 turns at once some waited past the 2 s bound
        # (a 500) while the lock was free more than half of the time. So no task may hold
        # two sessions at once here; another process (or engine) still waits in SQLite.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT / 1000)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine.sync_engine, "savepoint", _sqlite_savepoint)
    elif not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _is_file(url: str) -> bool:
    database = make_url(url).database
    return bool(database) and database != ":memory:" and "mode=memory" not in url


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use if it sat idle, and replace it if it is dead.

    What `pool_pre_ping` does, minus a round trip for every checkout: a connection given
    back a moment ago (under load, every one) is not asked again. One that died while idle
    (a restarted server, a dropped link) is replaced before a turn can fail on it.
    """
    sync = engine.sync_engine

    @sa.event.listens_for(sync, "connect")
    def _new(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(sync, "checkin")
    def _back(_dbapi_connection, record) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(sync, "checkout")
    def _out(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            sync.dialect.do_ping(dbapi_connection)
        except sync.dialect.loaded_dbapi.Error as err:  # the pool connects afresh
            raise sa.exc.DisconnectionError("the pooled connection is gone") from err


def _sqlite_savepoint(connection: sa.Connection, _name: str) -> None:
    """Open the transaction before a SAVEPOINT when the driver has not opened one yet.

    The driver opens a transaction only before a write; a SAVEPOINT outside one starts its
    own, and SQLite takes the RELEASE of that savepoint for a COMMIT. So `outbox.first_time`
    (a savepoint around the event id) was committed alone, before the answer it guards, and a
    process killed in between lost the answer for good: its retry was taken for a duplicate.
    """
    driver = connection.connection.dbapi_connection
    raw = getattr(driver, "_connection", driver)  # aiosqlite's connection under the adapter
    if not raw.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT}")
    cursor.execute("PRAGMA database_list")
    if cursor.fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's connections, dropping them if the server does not answer in time."""
    with contextlib.suppress(TimeoutError):  # the cancellation aborts those still open
        await asyncio.wait_for(engine.dispose(), CLOSE_WITHIN)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Make the session factory: one session and one commit per turn."""
    return async_sessionmaker(engine, expire_on_commit=False)


def single_statements(sessions: async_sessionmaker) -> async_sessionmaker:
    """Make sessions for work that is one statement: each commits by itself (autocommit).

    On PostgreSQL a transaction costs a BEGIN and a COMMIT, a round trip each, on top of its
    statements; a single statement is atomic without them.
    """
    engine: AsyncEngine = sessions.kw["bind"]
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


def alembic_config() -> Config:
    """Build Alembic's configuration from the migrations packaged beside the models."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    return config


def _upgrade(connection: sa.Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Migrate the database to head; several processes starting at once migrate it once."""
    if await is_current(engine):
        return
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade)


async def is_current(engine: AsyncEngine) -> bool:
    """Tell whether the database is migrated to head: one query, without loading Alembic."""
    async with engine.connect() as connection:
        try:
            result = await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        except sa.exc.DBAPIError:  # no such table: never migrated
            return False
        return result.scalars().all() == [HEAD]


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    async with engine.connect() as connection:
        await connection.execute(sa.text("SELECT 1"))


async def bounded(work: Awaitable[T], seconds: float) -> T:
    """Await database work for at most `seconds`, then raise TimeoutError without waiting longer.

    `asyncio.wait_for` waits for the cancelled work to finish, and a driver cancelling a query on
    a frozen connection waits ten seconds more for the server; here the cancelled work cleans up
    in the background (rolling back what it had not committed) while the caller answers at once.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        task.add_done_callback(_quietly)
        raise TimeoutError(f"the database did not answer within {seconds:g} s")
    return task.result()


def _quietly(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so that asyncio does not log it as never retrieved
