"""Run Alembic migrations on the connection mlplan hands over, or on DATABASE_URL."""

import asyncio

from alembic import context

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_environment() -> None:
    # Only for developers running the `alembic` command by hand (e.g. to autogenerate).
    from storage.db import create_engine, url_from_environment

    engine = create_engine(url_from_environment())
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_environment())
