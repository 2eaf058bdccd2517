"""Keep outgoing messages until they are sent: enqueue with the change, claim, mark the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outgoing, ProcessedEvent

CLAIM_FOR = timedelta(seconds=60)


@dataclass(frozen=True)
class Message:
    """A queued message as its sender needs it: where it goes, what it says, how often it was tried.

    `method` is post, update or ephemeral; `in_thread`: in the project's thread, known once its
    parent message is sent; `starts_thread`: this is that parent message; `target_id`: for an
    update, the message to change (None with `in_thread` means the parent message).
    """

    id: int
    workspace_id: int
    project_id: int | None
    platform: str
    conversation: str
    method: str
    channel: str | None
    in_thread: bool
    starts_thread: bool
    target_id: str | None
    user_id: str | None
    payload: dict[str, Any]
    response_url: str | None
    attempts: int
    tells_failure: bool

    @classmethod
    def of(cls, row: Outgoing) -> Message:
        """Copy an outbox row into a value."""
        return cls(
            id=row.id,
            workspace_id=row.workspace_id,
            project_id=row.project_id,
            platform=row.platform,
            conversation=row.conversation,
            method=row.method,
            channel=row.channel,
            in_thread=row.in_thread,
            starts_thread=row.starts_thread,
            target_id=row.target_id,
            user_id=row.user_id,
            payload=row.payload,
            response_url=row.response_url,
            attempts=row.attempts,
            tells_failure=row.tells_failure,
        )


async def first_time(*, session: AsyncSession, platform: str, event_id: str, now: datetime) -> bool:
    """Record an event id; tell whether it is new. Commit it with what the event changed.

    One statement (`INSERT … ON CONFLICT DO NOTHING`): a retry's row is simply not inserted.
    Where another transaction holds the same id uncommitted, the database waits for it.
    """
    values = {"platform": platform, "event_id": event_id, "received_at": now}
    inserted = await session.scalar(_FIRST_TIME[session.bind.dialect.name], values)
    return inserted is not None


_EVENTS = ProcessedEvent.__table__
# Both PostgreSQL and SQLite say ON CONFLICT; built once per dialect, values bound.
_FIRST_TIME = {
    name: insert(_EVENTS).on_conflict_do_nothing().returning(_EVENTS.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def enqueue(
    *,
    session: AsyncSession,
    workspace_id: int,
    platform: str,
    payload: dict[str, Any],
    now: datetime,
    conversation: str,
    project_id: int | None = None,
    tells_failure: bool = True,
    method: str = "post",
    channel: str | None = None,
    in_thread: bool = False,
    starts_thread: bool = False,
    target_id: str | None = None,
    user_id: str | None = None,
    response_url: str | None = None,
) -> None:
    """Add a message to send; it goes out after the surrounding transaction commits.

    `conversation` names what it keeps its order in: it waits for every earlier message of it.
    """
    session.add(
        Outgoing(
            workspace_id=workspace_id,
            project_id=project_id,
            platform=platform,
            conversation=conversation,
            tells_failure=tells_failure,
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
    )


async def enqueue_all(
    *,
    session: AsyncSession,
    platform: str,
    now: datetime,
    messages: list[tuple[int, dict[str, Any]]],
) -> None:
    """Add many messages at once: (workspace id, `enqueue`'s keyword arguments) each, in order.

    One statement executed for every row, without reading their ids back: the driver sends
    it once for them all, where ORM objects (`enqueue`) cost a flush with a VALUES list.
    """
    if not messages:
        return
    defaults = {
        "project_id": None,
        "tells_failure": True,
        "method": "post",
        "channel": None,
        "in_thread": False,
        "starts_thread": False,
        "target_id": None,
        "user_id": None,
        "response_url": None,
    }
    rows = [
        defaults
        | options
        | {
            "workspace_id": workspace_id,
            "platform": platform,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for workspace_id, options in messages
    ]
    await session.execute(_ENQUEUE, rows[0] if len(rows) == 1 else rows)


_ENQUEUE = sa.insert(Outgoing.__table__)  # built once: building costs more than running it


HEADS = 200  # the most messages a pass of the sender takes


def _heads(platform: str | sa.BindParameter, now: datetime | sa.BindParameter) -> sa.Select:
    # The oldest pending message of each conversation, found by grouping, not by asking of each
    # row whether an earlier one waits: that anti-join is quadratic in the pending messages
    # whenever the planner's statistics predate a large enqueue (the first tick of a day).
    oldest = (
        sa.select(sa.func.min(Outgoing.id).label("id"))
        .where(Outgoing.platform == platform, Outgoing.status == "pending")
        .group_by(Outgoing.conversation)
        .subquery()
    )
    return (
        sa.select(Outgoing)
        .join(oldest, oldest.c.id == Outgoing.id)
        .where(Outgoing.next_attempt_at <= now, *_claimable(now)[1:])
        .order_by(Outgoing.id)
    )


async def heads(
    *, session: AsyncSession, platform: str, now: datetime, limit: int = HEADS
) -> list[Message]:
    """List the messages to send now: the oldest pending one of each conversation, if it is due.

    A conversation whose oldest pending message waits (a retry later, a claim by another
    process) has nothing to send: its later messages never overtake it, across passes,
    processes and restarts.
    """
    rows = await session.scalars(_heads(platform, now).limit(limit))
    return [Message.of(row) for row in rows]


@dataclass(frozen=True)
class Claimed:
    """A message claimed to be sent now, with what its sender needs to know of where it goes.

    `workspace`: the platform's id of its workspace; `behind`: another pending message of its
    conversation waits behind it (so the sender knows to look again once this one is sent);
    `project`: its project still exists, with its conversation's `channel` and `thread`.
    """

    message: Message
    workspace: str | None
    behind: bool
    project: bool = False
    channel: str | None = None
    thread: str | None = None


async def claim_heads(
    *, session: AsyncSession, platform: str, now: datetime, limit: int = HEADS
) -> list[Claimed]:
    """Claim the messages `heads` lists, in one statement; return them in queue order.

    A row another process claimed in the meantime is not claimed again: the claim rechecks it.
    """
    values = {"b_platform": platform, "b_now": now, "b_until": now + CLAIM_FOR, "b_limit": limit}
    rows = await session.execute(_CLAIM_HEADS, values)
    claimed = [
        Claimed(
            Message.of(row),
            workspace=row.workspace,
            behind=bool(row.behind),
            project=bool(row.project_found),
            channel=row.project_channel,
            thread=row.project_thread,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda c: c.message.id)


# What the sender needs of each claimed row, read by the claim itself. Written out: SQLAlchemy
# renders RETURNING's columns unqualified on SQLite, which would make a correlated subquery
# compare the inner row's columns with themselves.
_PROJECT = (
    "FROM projects WHERE projects.id = outbox.project_id"
    " AND projects.workspace_id = outbox.workspace_id"
)
_WHERE = tuple(
    sa.literal_column(sql, type_).label(name)
    for name, sql, type_ in (
        (
            "workspace",
            "(SELECT workspaces.external_id FROM workspaces"
            " WHERE workspaces.id = outbox.workspace_id)",
            sa.String,
        ),
        (
            "behind",
            "EXISTS (SELECT 1 FROM outbox AS later WHERE later.platform = outbox.platform"
            " AND later.conversation = outbox.conversation AND later.status = 'pending'"
            " AND later.id > outbox.id)",
            sa.Boolean,
        ),
        ("project_found", f"EXISTS (SELECT 1 {_PROJECT})", sa.Boolean),
        ("project_channel", f"(SELECT projects.channel_id {_PROJECT})", sa.String),
        ("project_thread", f"(SELECT projects.thread_id {_PROJECT})", sa.String),
    )
)


def _claimable(now: datetime | sa.BindParameter) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        Outgoing.status == "pending",
        sa.or_(Outgoing.claimed_until.is_(None), Outgoing.claimed_until < now),
    )


def _claim_heads() -> sa.Update:
    """Build the claim once (building it costs more than running it); values are bound."""
    now = sa.bindparam("b_now")
    due = (
        _heads(sa.bindparam("b_platform"), now)
        .with_only_columns(Outgoing.id)
        .limit(sa.bindparam("b_limit", type_=sa.Integer))
    )
    table = Outgoing.__table__
    return (
        sa.update(table)
        .where(table.c.id.in_(due.scalar_subquery()), *_claimable(now))
        .values(claimed_until=sa.bindparam("b_until"))
        .returning(*table.c, *_WHERE)
    )


_CLAIM_HEADS = _claim_heads()


async def claim_many(*, session: AsyncSession, ids: list[int], now: datetime) -> set[int]:
    """Take pending messages for this process in one statement; return the ids it got."""
    if not ids:
        return set()
    rows = await session.scalars(
        sa.update(Outgoing)
        .where(
            Outgoing.id.in_(sorted(ids)),
            Outgoing.status == "pending",
            sa.or_(Outgoing.claimed_until.is_(None), Outgoing.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM_FOR)
        .returning(Outgoing.id)
        .execution_options(synchronize_session=False)
    )
    return set(rows)


async def release(*, session: AsyncSession, ids: list[int]) -> None:
    """Give back claims this process will not send after all (the next pass takes them)."""
    if ids:
        await session.execute(
            sa.update(Outgoing)
            .where(Outgoing.id.in_(sorted(ids)), Outgoing.status == "pending")
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )


async def finish_sent(
    *, session: AsyncSession, sent: list[tuple[int, str | None]], now: datetime
) -> None:
    """Record several sends at once: (outbox id, the platform's message id) each."""
    if not sent:
        return
    rows = [{"b_id": i, "b_sent_id": sent_id, "b_now": now} for i, sent_id in sent]
    await session.execute(_FINISH_SENT, rows[0] if len(rows) == 1 else rows)


_OUTBOX = Outgoing.__table__
_FINISH_SENT = (
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("b_id"))
    .values(
        status="sent",
        sent_id=sa.bindparam("b_sent_id"),
        sent_at=sa.bindparam("b_now"),
        last_error=None,
        claimed_until=None,
        attempts=_OUTBOX.c.attempts + 1,
    )
)


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


async def fail_pending(
    *,
    session: AsyncSession,
    error: str,
    project_id: int | None = None,
    workspace_id: int | None = None,
    platform: str | None = None,
    channel: str | None = None,
) -> int:
    """Give up every pending message of a project (its thread could not be started), or of one
    workspace's channel (mlplan can no longer write there); return how many."""
    query = sa.update(Outgoing).where(Outgoing.status == "pending")
    if project_id is not None:
        query = query.where(Outgoing.project_id == project_id)
    else:
        query = query.where(
            Outgoing.workspace_id == workspace_id,
            Outgoing.platform == platform,
            Outgoing.channel == channel,
        )
    result = await session.execute(
        query.values(status="failed", last_error=error, claimed_until=None).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount


async def latest_payload(
    *,
    session: AsyncSession,
    workspace_id: int,
    platform: str,
    message_id: str,
    channel: str | None = None,
) -> dict[str, Any] | None:
    """Return the payload of the latest version mlplan queued of a message it sent (post or update).

    `message_id` is the platform's id of the sent message; `channel` narrows the search where
    that id is unique only within a channel.
    """
    query = sa.select(Outgoing.payload).where(
        Outgoing.workspace_id == workspace_id,
        Outgoing.platform == platform,
        sa.or_(
            Outgoing.sent_id == message_id,
            sa.and_(Outgoing.method == "update", Outgoing.target_id == message_id),
        ),
    )
    if channel is not None:
        query = query.where(Outgoing.channel == channel)
    return await session.scalar(query.order_by(Outgoing.id.desc()).limit(1))


async def parent_id(*, session: AsyncSession, project_id: int) -> str | None:
    """Return the platform's id of a project's parent message, once it is sent."""
    return await session.scalar(
        sa.select(Outgoing.sent_id).where(
            Outgoing.project_id == project_id,
            Outgoing.starts_thread.is_(True),
            Outgoing.status == "sent",
        )
    )
