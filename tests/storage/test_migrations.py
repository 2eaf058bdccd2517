"""The migrations build exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage import db
from storage.models import Base


def _diff(connection):
    return compare_metadata(
        MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
    )


async def test_migrations_match_the_models(engine):
    async with engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


async def test_database_is_at_head_and_upgrade_is_idempotent(engine):
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    assert head is not None
    await db.upgrade(engine)
    assert await db.is_current(engine)


def test_plain_urls_map_to_async_drivers():
    assert db.async_url("sqlite:///./mlplan.db") == "sqlite+aiosqlite:///./mlplan.db"
    assert db.async_url("postgresql://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert db.async_url("postgres://h/d") == "postgresql+psycopg://h/d"
    assert db.async_url("postgresql+asyncpg://h/d") == "postgresql+asyncpg://h/d"
