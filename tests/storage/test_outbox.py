"""The outbox: queued messages read back as values, the latest version of a sent message, a parent's id."""

import dataclasses
from datetime import timedelta

import pytest

from storage import outbox, projects, workspaces
from tests.conftest import NOW


async def _workspace(session, platform="slack", external_id="T1"):
    return await workspaces.get_or_create(
        session=session, platform=platform, external_id=external_id, now=NOW
    )


async def _sent(session, *, workspace_id, platform, payload, sent_id, **options):
    """Queue a message and record it as sent under a platform message id."""
    outbox.enqueue(
        session=session,
        workspace_id=workspace_id,
        platform=platform,
        payload=payload,
        now=NOW,
        conversation=f"to:{options.get('channel')}",
        **options,
    )
    [row] = [
        r
        for r in await outbox.heads(session=session, platform=platform, now=NOW)
        if r.payload == payload
    ]
    await outbox.finish(session=session, outgoing_id=row.id, now=NOW, sent_id=sent_id)
    return row


async def test_due_messages_are_frozen_values_in_queue_order(sessions):
    async with sessions() as session:
        ws = await _workspace(session)
        for n in range(2):
            outbox.enqueue(
                session=session,
                workspace_id=ws.id,
                platform="slack",
                payload={"text": f"m{n}"},
                now=NOW,
                channel=f"C{n}",
                conversation=f"to:C{n}",
            )
        await session.commit()
        due = await outbox.heads(session=session, platform="slack", now=NOW)
    assert [(m.payload["text"], m.channel, m.method, m.attempts) for m in due] == [
        ("m0", "C0", "post", 0),
        ("m1", "C1", "post", 0),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        due[0].channel = "C2"


async def test_only_the_oldest_pending_message_of_a_conversation_is_due_even_while_it_waits(
    sessions,
):
    """A message in backoff or claimed by another process holds back the rest of its conversation."""
    async with sessions() as session:
        ws = await _workspace(session)
        for text, conversation in (("a1", "to:A"), ("a2", "to:A"), ("b1", "to:B"), ("b2", "to:B")):
            outbox.enqueue(
                session=session,
                workspace_id=ws.id,
                platform="slack",
                payload={"text": text},
                now=NOW,
                channel=conversation.removeprefix("to:"),
                conversation=conversation,
            )
        await session.commit()

        async def heads(at=NOW):
            return [
                m.payload["text"]
                for m in await outbox.heads(session=session, platform="slack", now=at)
            ]

        assert await heads() == ["a1", "b1"]
        a1, b1 = await outbox.heads(session=session, platform="slack", now=NOW)
        later = NOW + timedelta(minutes=5)
        await outbox.finish(
            session=session, outgoing_id=a1.id, now=NOW, error="500", retry_at=later
        )
        assert await outbox.claim_many(session=session, ids=[b1.id], now=NOW) == {b1.id}
        await session.commit()
        assert await heads() == []  # a1 waits for its retry, b1 is being sent elsewhere
        await outbox.finish(session=session, outgoing_id=b1.id, now=NOW, sent_id="1.1")
        await session.commit()
        assert await heads() == ["b2"]
        assert await heads(later) == ["a1", "b2"]
        await outbox.finish(session=session, outgoing_id=a1.id, now=later, error="gone")
        await session.commit()
        assert await heads(later) == ["a2", "b2"]  # a message given up lets its conversation go on


async def test_latest_payload_is_the_newest_version_of_a_message_in_its_workspace_and_platform(
    sessions,
):
    async with sessions() as session:
        slack = await _workspace(session)
        teams = await _workspace(session, platform="msteams")
        other = await _workspace(session, external_id="T2")
        await _sent(
            session,
            workspace_id=slack.id,
            platform="slack",
            payload={"blocks": ["first"]},
            sent_id="111.1",
            channel="C1",
        )
        outbox.enqueue(
            session=session,
            workspace_id=slack.id,
            platform="slack",
            payload={"blocks": ["second"]},
            now=NOW,
            method="update",
            channel="C1",
            target_id="111.1",
            conversation="to:C1",
        )
        # The same id elsewhere: another channel, workspace or platform is another message.
        for workspace_id, platform, channel in (
            (slack.id, "slack", "C2"),
            (other.id, "slack", "C1"),
            (teams.id, "msteams", None),
        ):
            outbox.enqueue(
                session=session,
                workspace_id=workspace_id,
                platform=platform,
                payload={"blocks": ["not this one"]},
                now=NOW,
                method="update",
                channel=channel,
                target_id="111.1",
                conversation=f"to:{channel}",
            )
        await session.commit()
        latest = await outbox.latest_payload(
            session=session,
            workspace_id=slack.id,
            platform="slack",
            message_id="111.1",
            channel="C1",
        )
        teams_latest = await outbox.latest_payload(
            session=session, workspace_id=teams.id, platform="msteams", message_id="111.1"
        )
        none = await outbox.latest_payload(
            session=session, workspace_id=slack.id, platform="slack", message_id="999.9"
        )
    assert latest == {"blocks": ["second"]}
    assert teams_latest == {"blocks": ["not this one"]}
    assert none is None


async def test_a_projects_parent_id_is_known_once_its_first_message_is_sent(sessions):
    async with sessions() as session:
        ws = await _workspace(session, platform="msteams")
        project = await projects.create_project(
            session=session,
            workspace_id=ws.id,
            name="Churn",
            owner={"id": "29:a"},
            sections=[],
            current=None,
            now=NOW,
        )
        outbox.enqueue(
            session=session,
            workspace_id=ws.id,
            platform="msteams",
            payload={"to": "project:1"},
            now=NOW,
            project_id=project.id,
            starts_thread=True,
            conversation=f"project:{project.id}",
        )
        await session.commit()
        assert await outbox.parent_id(session=session, project_id=project.id) is None
        [row] = await outbox.heads(session=session, platform="msteams", now=NOW)
        await outbox.finish(session=session, outgoing_id=row.id, now=NOW, sent_id="act-1")
        await session.commit()
        assert await outbox.parent_id(session=session, project_id=project.id) == "act-1"


async def test_an_event_id_is_kept_only_with_what_its_transaction_stores(sessions):
    """A rolled-back (or killed) transaction keeps no event id: its retry is handled, not dropped.

    On SQLite the driver opened no transaction before a SAVEPOINT, so releasing the savepoint
    around the event id committed it on its own.
    """
    async with sessions() as session:
        assert await outbox.first_time(session=session, platform="slack", event_id="Ev1", now=NOW)
        await session.rollback()  # what a process killed before its commit amounts to
    async with sessions() as session:
        assert await outbox.first_time(session=session, platform="slack", event_id="Ev1", now=NOW)
        await session.commit()
    async with sessions() as session:
        assert not await outbox.first_time(
            session=session, platform="slack", event_id="Ev1", now=NOW
        )
