"""Claim reminders and digests under unique keys, so that each goes out once, whoever ticks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery


async def claim(
    *, session: AsyncSession, key: str, kind: str, workspace_id: int, target_id: str, now: datetime
) -> bool:
    """Claim a delivery key in the current transaction; tell whether this caller got it.

    On PostgreSQL a second claimant of the same key waits for the first transaction and then
    fails; on SQLite the write lock serialises them. Either way one claim wins.
    """
    try:
        async with session.begin_nested():
            session.add(
                Delivery(
                    key=key,
                    kind=kind,
                    workspace_id=workspace_id,
                    target_id=target_id,
                    status="queued",
                    attempts=0,
                    claimed_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


async def claim_all(
    *, session: AsyncSession, claims: dict[str, tuple[str, int, str]], now: datetime
) -> set[str]:
    """Claim delivery keys (key -> kind, workspace id, target) in one statement; return those won.

    A key claimed already, or by a concurrent transaction (PostgreSQL waits for it to end), is
    left out: nothing fails, so the caller's transaction goes on with what it won. Keys are
    inserted in order, so that two schedulers claiming overlapping sets never deadlock.
    """
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {
            "key": key,
            "kind": kind,
            "workspace_id": workspace_id,
            "target_id": target_id,
            "status": "queued",
            "attempts": 0,
            "claimed_at": now,
        }
        for key, (kind, workspace_id, target_id) in sorted(claims.items())
    ]
    if not rows:
        return set()
    table = Delivery.__table__
    if dialect == "postgresql":
        # The rows as four arrays that the server unnests: a short statement, where a VALUES
        # list of thousands of rows had the driver parse hundreds of kilobytes of placeholders.
        arrays = [
            sa.bindparam(name, [row[name] for row in rows], type_=ARRAY(kind))
            for name, kind in (
                ("key", sa.String),
                ("kind", sa.String),
                ("workspace_id", sa.Integer),
                ("target_id", sa.String),
            )
        ]
        source = sa.select(
            *(sa.func.unnest(array) for array in arrays),
            sa.literal("queued"),
            sa.literal(0),
            sa.literal(now, sa.DateTime(timezone=True)),
        )
        columns = ["key", "kind", "workspace_id", "target_id", "status", "attempts", "claimed_at"]
        statement = (
            insert(table)
            .from_select(columns, source)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.key)
        )
        return set(await session.scalars(statement))
    # One statement executed for many rows: SQLAlchemy sends them in pages within SQLite's
    # limit of parameters and compiles the statement once.
    statement = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    return set(await session.scalars(statement, rows))


async def release(*, session: AsyncSession, keys: set[str]) -> None:
    """Give back keys claimed in this transaction that will not be sent after all."""
    if keys:
        await session.execute(sa.delete(Delivery).where(Delivery.key.in_(sorted(keys))))


async def claimed(*, session: AsyncSession, keys: set[str]) -> set[str]:
    """Return which of these delivery keys are already claimed (a cheap filter before claiming)."""
    found: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):  # keep each IN list a sensible size
        chunk = ordered[start : start + 500]
        found.update(await session.scalars(sa.select(Delivery.key).where(Delivery.key.in_(chunk))))
    return found


async def last_claimed(*, session: AsyncSession, prefix: str, before: str) -> datetime | None:
    """Return when the latest delivery under a key prefix, other than `before`, was claimed."""
    return await session.scalar(
        sa.select(sa.func.max(Delivery.claimed_at)).where(
            Delivery.key.startswith(prefix), Delivery.key != before
        )
    )


def recipient(
    owner: dict[str, Any] | None, project_owner: dict[str, Any]
) -> tuple[str, str | None]:
    """Choose who gets an item's reminder: its owner when reachable, else the project's owner."""
    if owner and owner.get("id"):
        return owner["id"], None
    who = (owner or {}).get("email") or (owner or {}).get("name")
    note = (
        f"The owner ({who}) is not someone mlplan can message, so this comes to you."
        if who
        else None
    )
    return project_owner["id"], note or "Nobody owns these items yet, so this comes to you."
