"""Keep outgoing messages until they are sent: enqueue with the change, claim, mark the outcome."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outgoing, ProcessedEvent

CLAIM_FOR = timedelta(seconds=60)


async def first_time(*, session: AsyncSession, platform: str, event_id: str, now: datetime) -> bool:
    """Record an event id; tell whether it is new. Commit it with what the event changed."""
    try:
        async with session.begin_nested():
            session.add(ProcessedEvent(platform=platform, event_id=event_id, received_at=now))
    except IntegrityError:
        return False
    return True


def enqueue(
    *,
    session: AsyncSession,
    workspace_id: int,
    platform: str,
    payload: dict[str, Any],
    now: datetime,
    project_id: int | None = None,
    method: str = "post",
    channel: str | None = None,
    in_thread: bool = False,
    starts_thread: bool = False,
    target_id: str | None = None,
    user_id: str | None = None,
    response_url: str | None = None,
) -> Outgoing:
    """Add a message to send; it goes out after the surrounding transaction commits."""
    row = Outgoing(
        workspace_id=workspace_id,
        project_id=project_id,
        platform=platform,
        method=method,
        channel=channel,
        in_thread=in_thread,
        starts_thread=starts_thread,
        target_id=target_id,
        user_id=user_id,
        payload=payload,
        response_url=response_url,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


async def due(
    *,
    session: AsyncSession,
    platform: str,
    now: datetime,
    project_id: int | None = None,
    limit: int = 200,
) -> list[Outgoing]:
    """List pending messages whose time has come, oldest first (the order they must arrive in)."""
    query = sa.select(Outgoing).where(
        Outgoing.platform == platform,
        Outgoing.status == "pending",
        Outgoing.next_attempt_at <= now,
        sa.or_(Outgoing.claimed_until.is_(None), Outgoing.claimed_until < now),
    )
    if project_id is not None:
        query = query.where(Outgoing.project_id == project_id)
    return list(await session.scalars(query.order_by(Outgoing.id).limit(limit)))


async def claim(*, session: AsyncSession, outgoing_id: int, now: datetime) -> bool:
    """Take a pending message for this process, so that two processes never both send it."""
    result = await session.execute(
        sa.update(Outgoing)
        .where(
            Outgoing.id == outgoing_id,
            Outgoing.status == "pending",
            sa.or_(Outgoing.claimed_until.is_(None), Outgoing.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM_FOR)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def finish(
    *,
    session: AsyncSession,
    outgoing_id: int,
    now: datetime,
    sent_id: str | None = None,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Record a send: sent (with the platform's message id), to retry at a time, or failed for good."""
    values: dict[str, Any] = {"claimed_until": None, "attempts": Outgoing.attempts + 1}
    if error is None:
        values |= {"status": "sent", "sent_id": sent_id, "sent_at": now, "last_error": None}
    elif retry_at is not None:
        values |= {"next_attempt_at": retry_at, "last_error": error}
    else:
        values |= {"status": "failed", "last_error": error}
    await session.execute(
        sa.update(Outgoing)
        .where(Outgoing.id == outgoing_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def fail_pending(*, session: AsyncSession, project_id: int, error: str) -> None:
    """Give up every pending message of a project (its thread could not be started)."""
    await session.execute(
        sa.update(Outgoing)
        .where(Outgoing.project_id == project_id, Outgoing.status == "pending")
        .values(status="failed", last_error=error, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


async def latest_blocks(*, session: AsyncSession, channel: str, ts: str) -> list[dict[str, Any]]:
    """Return the blocks of the latest version mlplan queued of a message it sent (post or update)."""
    row = await session.scalar(
        sa.select(Outgoing)
        .where(
            Outgoing.channel == channel,
            sa.or_(
                Outgoing.sent_id == ts,
                sa.and_(Outgoing.method == "update", Outgoing.target_id == ts),
            ),
        )
        .order_by(Outgoing.id.desc())
        .limit(1)
    )
    return list(row.payload.get("blocks", [])) if row is not None else []


async def latest_payload(
    *, session: AsyncSession, workspace_id: int, platform: str, message_id: str
) -> dict[str, Any] | None:
    """Return the payload of the latest version mlplan queued of a message it sent (post or update)."""
    row = await session.scalar(
        sa.select(Outgoing)
        .where(
            Outgoing.workspace_id == workspace_id,
            Outgoing.platform == platform,
            sa.or_(
                Outgoing.sent_id == message_id,
                sa.and_(Outgoing.method == "update", Outgoing.target_id == message_id),
            ),
        )
        .order_by(Outgoing.id.desc())
        .limit(1)
    )
    return dict(row.payload) if row is not None else None
