"""Keep what platforms say of people: name, email and time zone (dates are read in it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.context import Place, Speaker, workspace_id_of
from storage import people


class People:
    """What mlplan remembers of the people it talks to, one workspace at a time."""

    def __init__(self, *, sessions: async_sessionmaker):
        self.sessions = sessions

    async def knows_timezone(self, *, place: Place, person_id: str, now: datetime) -> bool:
        """Tell whether mlplan already knows this person's time zone."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            known = await people.timezone(
                session=session, workspace_id=workspace_id, person_id=person_id
            )
            await session.commit()
        return known is not None

    async def remember(self, *, place: Place, speaker: Speaker, now: datetime) -> None:
        """Store what a platform says of a person: name, email, time zone."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            await people.remember(
                session=session,
                workspace_id=workspace_id,
                person=speaker.person(),
                now=now,
                timezone=speaker.timezone,
            )
            await session.commit()
