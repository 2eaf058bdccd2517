"""Teams sends under faults: a refused activity fails at once, a passing fault waits its turn."""

from __future__ import annotations

import sqlalchemy as sa

from storage.models import Outgoing
from tests.fakes.bot_connector import Failure


async def rows(teams, status: str) -> list[Outgoing]:
    async with teams.runtime.sessions() as session:
        query = sa.select(Outgoing).where(Outgoing.status == status).order_by(Outgoing.id)
        return list(await session.scalars(query))


async def test_an_activity_the_connector_refuses_fails_at_once_and_is_told_in_the_chat(teams):
    await teams.say("new Churn model")
    teams.fake.fail(Failure(400, code="BadArgument"))
    await teams.say("Customers leave after the first bill")
    [failed] = await rows(teams, "failed")
    assert failed.attempts == 1 and failed.last_error == "refused: 400"
    told = [s for s in teams.fake.sent() if "could not be delivered" in s.text]
    assert len(told) == 1 and "refused: 400" in told[0].text
    await teams.say("Account managers")  # the conversation goes on past the refused message
    assert len(teams.fake.questions()) == 2
    assert await rows(teams, "pending") == []


async def test_a_passing_fault_keeps_the_activity_and_what_follows_it_waits(teams):
    await teams.say("new Churn model")
    teams.fake.fail(Failure(503, code="ServiceUnavailable"))
    await teams.say("Customers leave after the first bill")
    await teams.say("Account managers")
    pending = await rows(teams, "pending")
    assert [row.attempts for row in pending] == [1, 0]  # the second waits behind the first
    assert len(teams.fake.questions()) == 1
    teams.clock.advance(minutes=1)
    assert await teams.adapter.delivery.deliver() == 2
    assert len(teams.fake.questions()) == 3
