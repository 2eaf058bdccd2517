"""Keep the people mlplan talks to: display name, email and time zone, per workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import assignments, models, open_questions, tracked


@dataclass(frozen=True)
class Person:
    """What mlplan knows of a person of a workspace; `id` is the platform's id for them."""

    workspace_id: int
    id: str
    name: str | None
    email: str | None
    timezone: str | None

    @classmethod
    def of(cls, row: models.Person) -> Person:
        """Copy a person row into a value."""
        return cls(
            workspace_id=row.workspace_id,
            id=row.external_id,
            name=row.name,
            email=row.email,
            timezone=row.timezone,
        )


def _query(workspace_id: int, person_id: str) -> sa.Select:
    return sa.select(models.Person).where(
        models.Person.workspace_id == workspace_id, models.Person.external_id == person_id
    )


async def remember(
    *,
    session: AsyncSession,
    workspace_id: int,
    person: dict[str, Any],
    now: datetime,
    timezone: str | None = None,
    known: Person | None = None,
) -> Person:
    """Record or refresh what mlplan knows of a person (name, email, time zone).

    Nothing is written when nothing changed. `known`: the person as just read in this
    transaction (`storage.turns.open_turn`), so that it is not read again.
    """
    if known is None:
        return await _remember(session, workspace_id, person, now, timezone)
    name = person.get("name") or known.name
    email = person.get("email") or known.email
    zone = timezone if timezone is not None else known.timezone
    if (name, email, zone) == (known.name, known.email, known.timezone):
        return known
    await session.execute(
        sa.update(models.Person)
        .where(models.Person.workspace_id == workspace_id, models.Person.external_id == known.id)
        .values(name=name, email=email, timezone=zone, updated_at=now)
    )
    if zone != known.timezone:
        await _zone_changed(session, workspace_id, known.id, now)
    return Person(workspace_id=workspace_id, id=known.id, name=name, email=email, timezone=zone)


async def _remember(
    session: AsyncSession,
    workspace_id: int,
    person: dict[str, Any],
    now: datetime,
    timezone: str | None,
) -> Person:
    query = _query(workspace_id, person["id"])
    found = await session.scalar(query)
    if found is None:
        try:
            async with session.begin_nested():
                found = models.Person(
                    workspace_id=workspace_id, external_id=person["id"], updated_at=now
                )
                session.add(found)
        except IntegrityError:
            found = await session.scalar(query)
    before = (found.name, found.email, found.timezone)
    found.name = person.get("name") or found.name
    found.email = person.get("email") or found.email
    if timezone is not None and timezone != found.timezone:
        found.timezone = timezone
        await _zone_changed(session, workspace_id, person["id"], now)
    if (found.name, found.email, found.timezone) != before:
        found.updated_at = now
    return Person.of(found)


async def _zone_changed(
    session: AsyncSession, workspace_id: int, person_id: str, now: datetime
) -> None:
    # Reminders come at nine in the person's zone: the times of what they own or owe are redone.
    for kept in (tracked, open_questions, assignments):
        await kept.look_again_for(
            session=session, workspace_id=workspace_id, person_id=person_id, now=now
        )


async def find(*, session: AsyncSession, workspace_id: int, person_id: str) -> Person | None:
    """Return what mlplan knows of a person of this workspace, if anything."""
    found = await session.scalar(_query(workspace_id, person_id))
    return Person.of(found) if found is not None else None


async def timezone(*, session: AsyncSession, workspace_id: int, person_id: str) -> str | None:
    """Return the time zone mlplan knows for a person, if any."""
    return await session.scalar(
        sa.select(models.Person.timezone).where(
            models.Person.workspace_id == workspace_id, models.Person.external_id == person_id
        )
    )


async def timezones(
    *, session: AsyncSession, workspace_ids: set[int], person_ids: set[str] | None = None
) -> dict[tuple[int, str], str]:
    """Map (workspace id, person id) to the time zone mlplan knows for that person.

    Of everyone in those workspaces, or only of `person_ids` (the people a tick reminds).
    """
    if not workspace_ids or person_ids == set():
        return {}
    query = sa.select(
        models.Person.workspace_id, models.Person.external_id, models.Person.timezone
    ).where(models.Person.workspace_id.in_(workspace_ids), models.Person.timezone.is_not(None))
    if person_ids is not None:
        query = query.where(models.Person.external_id.in_(sorted(person_ids)))
    rows = await session.execute(query)
    return {(w, p): tz for w, p, tz in rows}
