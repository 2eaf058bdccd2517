"""People: what a platform says of a person is kept, a missing detail never erases a known one."""

from storage import people, workspaces
from tests.conftest import NOW


async def test_a_person_is_remembered_and_refreshed_without_losing_what_is_known(sessions):
    async with sessions() as session:
        ws = await workspaces.get_or_create(
            session=session, platform="slack", external_id="T1", now=NOW
        )
        first = await people.remember(
            session=session,
            workspace_id=ws.id,
            person={"id": "U1", "name": "alice", "email": "a@x.org"},
            now=NOW,
            timezone="Europe/Berlin",
        )
        again = await people.remember(
            session=session, workspace_id=ws.id, person={"id": "U1"}, now=NOW
        )
        await session.commit()
        found = await people.find(session=session, workspace_id=ws.id, person_id="U1")
        zones = await people.timezones(session=session, workspace_ids={ws.id})
        nobody = await people.find(session=session, workspace_id=ws.id, person_id="U2")
    assert first == again == found
    assert (found.name, found.email, found.timezone) == ("alice", "a@x.org", "Europe/Berlin")
    assert zones == {(ws.id, "U1"): "Europe/Berlin"}
    assert nobody is None
