"""Projects and answers: versions are kept, every query stays in its workspace, races are settled."""

import asyncio
from datetime import timedelta

import pytest

from storage import projects as store
from storage import tracked, workspaces
from tests.conftest import NOW

ALICE = {"id": "U1", "name": "alice"}
BOB = {"id": "U2", "name": "bob"}


async def _project(session, name="Churn model", workspace="T1", platform="slack"):
    ws = await workspaces.get_or_create(
        session=session, platform=platform, external_id=workspace, now=NOW
    )
    project = await store.create_project(
        session=session,
        workspace_id=ws.id,
        name=name,
        owner=ALICE,
        sections=["intake"],
        current="problem",
        now=NOW,
    )
    await session.commit()
    return ws, project


async def test_a_changed_answer_is_a_new_version_and_history_is_kept(sessions):
    async with sessions() as session:
        _, project = await _project(session)
        for turn, (value, author) in enumerate([("first", ALICE), ("second", BOB)]):
            stored = await store.save_turn(
                session=session,
                project=project,
                expected_turn=turn,
                current="problem",
                recorded=[("problem", value, value, False)],
                author=author,
                now=NOW + timedelta(minutes=turn),
            )
            assert stored
            await session.commit()
        history = await store.answer_history(
            session=session, project_id=project.id, question_id="problem"
        )
        latest = await store.latest_answers(session=session, project_id=project.id)
    assert [(a.version, a.value, a.author["id"]) for a in history] == [
        (1, "first", "U1"),
        (2, "second", "U2"),
    ]
    assert history[0].created_at < history[1].created_at
    assert latest == {"problem": "second"}


async def test_a_skip_reads_back_as_none(sessions):
    async with sessions() as session:
        _, project = await _project(session)
        await store.save_turn(
            session=session,
            project=project,
            expected_turn=0,
            current="target_users",
            recorded=[("problem", None, "skip", True)],
            author=ALICE,
            now=NOW,
        )
        await session.commit()
        assert await store.latest_answers(session=session, project_id=project.id) == {
            "problem": None
        }


async def test_a_turn_reads_the_same_answers_with_its_project_as_apart(sessions):
    """What a turn starts from, read in the project's statement: versions, skips, left for later."""
    from storage.turns import open_turn

    turns = [
        [("problem", "first", "first", False), ("budget", 12000.5, "$12,000.50", False)],
        [("problem", "second & <b>", "second & <b>", False), ("users", None, "later", True)],
        [("budget", None, "skip", True), ("tags", ["a", {"b": 2}], "a, b", False)],
        [("users", 0.1, "0.1", False), ("stage", None, "later", True), ("budget", 0, "0", False)],
    ]
    async with sessions() as session:
        ws, project = await _project(session)
        for turn, recorded in enumerate(turns):
            assert await store.save_turn(
                session=session,
                project=project,
                expected_turn=turn,
                current="problem",
                recorded=recorded,
                author=ALICE,
                now=NOW + timedelta(minutes=turn),
            )
            await session.commit()
        apart = await store.latest_answers(session=session, project_id=project.id)

        def turn_on(project_id: int):
            return open_turn(
                session=session,
                platform="slack",
                workspace="T1",
                now=NOW,
                project_id=project_id,
                with_answers=True,
            )

        opened = await turn_on(project.id)
        _, empty = await _project(session, "Fraud model")
        none_yet = await turn_on(empty.id)
    assert apart == {
        "problem": "second & <b>",
        "budget": 0,
        "users": 0.1,
        "tags": ["a", {"b": 2}],
        "stage": None,
    }
    assert apart.later == {"stage"}
    assert opened.answers == apart and opened.answers.later == apart.later
    assert opened.project.id == project.id and opened.workspace_id == ws.id
    assert none_yet.answers == {} and none_yet.answers.later == frozenset()


async def test_names_are_unique_per_workspace_ignoring_case_and_spaces(sessions):
    async with sessions() as session:
        ws, _ = await _project(session, "Churn model")
        again = await store.create_project(
            session=session,
            workspace_id=ws.id,
            name="  churn   MODEL ",
            owner=BOB,
            sections=[],
            current=None,
            now=NOW,
        )
        assert again is None
        found = await store.find_project(session=session, workspace_id=ws.id, name="CHURN model")
        assert found is not None and found.name == "Churn model"


async def test_two_workspaces_never_see_each_others_projects(sessions):
    async with sessions() as session:
        ws1, p1 = await _project(session, "Churn model", workspace="T1")
        ws2, p2 = await _project(session, "Churn model", workspace="T2")
        assert p1.id != p2.id
        assert (
            await store.find_project(session=session, workspace_id=ws1.id, name="churn model")
        ).id == p1.id
        assert (
            await store.find_project(session=session, workspace_id=ws2.id, name="churn model")
        ).id == p2.id
        assert (
            await store.get_project(session=session, workspace_id=ws1.id, project_id=p2.id) is None
        )
        assert [p.id for p in await store.list_projects(session=session, workspace_id=ws2.id)] == [
            p2.id
        ]
        other, _ = await _project(session, "Fraud", workspace="T3")
        assert await store.similar_names(session=session, workspace_id=other.id, name="churn") == []
        assert await store.similar_names(
            session=session, workspace_id=ws1.id, name="churn modle"
        ) == ["Churn model"]


async def test_the_same_team_id_on_two_platforms_is_two_workspaces(sessions):
    async with sessions() as session:
        slack, _ = await _project(session, workspace="X", platform="slack")
        teams = await workspaces.get_or_create(
            session=session, platform="msteams", external_id="X", now=NOW
        )
        assert slack.id != teams.id
        assert (
            await store.find_project(session=session, workspace_id=teams.id, name="Churn model")
            is None
        )


async def test_a_stale_turn_is_refused_and_stores_nothing(sessions, other_sessions):
    async with sessions() as first, other_sessions() as second:
        _, project = await _project(first)
        stale = await store.get_project(
            session=second, workspace_id=project.workspace_id, project_id=project.id
        )
        assert await store.save_turn(
            session=first,
            project=project,
            expected_turn=0,
            current="target_users",
            recorded=[("problem", "alice's", "alice's", False)],
            author=ALICE,
            now=NOW,
        )
        await first.commit()
        assert not await store.save_turn(
            session=second,
            project=stale,
            expected_turn=0,
            current="target_users",
            recorded=[("problem", "bob's", "bob's", False)],
            author=BOB,
            now=NOW,
        )
        await second.rollback()
    async with sessions() as session:
        history = await store.answer_history(session=session, project_id=project.id)
    assert [(a.value, a.version) for a in history] == [("alice's", 1)]


async def test_racing_writers_one_wins_while_the_other_waits_for_the_lock(sessions, other_sessions):
    """The loser blocks on the winner's open transaction, then sees the new turn and backs off."""
    async with sessions() as setup:
        _, project = await _project(setup)
    async with sessions() as first, other_sessions() as second:
        mine = await store.get_project(
            session=first, workspace_id=project.workspace_id, project_id=project.id
        )
        theirs = await store.get_project(
            session=second, workspace_id=project.workspace_id, project_id=project.id
        )
        assert await store.save_turn(
            session=first,
            project=mine,
            expected_turn=0,
            current="target_users",
            recorded=[("problem", "a", "a", False)],
            author=ALICE,
            now=NOW,
        )
        racing = asyncio.create_task(
            store.save_turn(
                session=second,
                project=theirs,
                expected_turn=0,
                current="target_users",
                recorded=[("problem", "b", "b", False)],
                author=BOB,
                now=NOW,
            )
        )
        await asyncio.sleep(0.2)
        assert not racing.done(), "the second writer should wait for the first transaction"
        await first.commit()
        assert await asyncio.wait_for(racing, timeout=15) is False
        await second.rollback()
    async with sessions() as session:
        assert await store.latest_answers(session=session, project_id=project.id) == {
            "problem": "a"
        }


async def test_tracked_items_are_upserted_by_key(sessions):
    async with sessions() as session:
        _, project = await _project(session)
        item = {
            "key": "baseline",
            "title": "Baseline model trained",
            "owner": BOB,
            "due": "2026-12-18",
        }
        changed = await tracked.sync(
            session=session, project_id=project.id, kind="milestone", items=[item], now=NOW
        )
        assert len(changed) == 1
        unchanged = await tracked.sync(
            session=session, project_id=project.id, kind="milestone", items=[item], now=NOW
        )
        assert unchanged == []
        moved = await tracked.sync(
            session=session,
            project_id=project.id,
            kind="milestone",
            items=[{**item, "due": "2027-01-08"}],
            now=NOW,
        )
        await session.commit()
        rows = await tracked.items(session=session, project_id=project.id, kind="milestone")
    assert len(moved) == 1
    assert [(r.key, r.owner, r.due.isoformat(), r.status) for r in rows] == [
        ("baseline", BOB, "2027-01-08", "open")
    ]


@pytest.mark.parametrize("person", ["U1", "U2"])
async def test_last_open_project_is_found_by_owner_or_answer_author(sessions, person):
    async with sessions() as session:
        ws, project = await _project(session)
        await store.save_turn(
            session=session,
            project=project,
            expected_turn=0,
            current="target_users",
            recorded=[("problem", "x", "x", False)],
            author=BOB,
            now=NOW,
        )
        await session.commit()
        found = await store.last_open_project(session=session, workspace_id=ws.id, person_id=person)
        nobody = await store.last_open_project(session=session, workspace_id=ws.id, person_id="U3")
    assert found is not None and found.id == project.id
    assert nobody is None


async def test_a_project_read_again_in_the_same_session_shows_what_was_stored(sessions):
    """Projects are values: changes go through storage's functions, and a new read sees them."""
    async with sessions() as session:
        ws, project = await _project(session)
        assert await store.save_turn(
            session=session,
            project=project,
            expected_turn=project.turn,
            current="target_users",
            recorded=[("stage", "pilot", "pilot", False)],
            author=ALICE,
            now=NOW + timedelta(minutes=1),
            done=True,
        )
        await store.set_stage(session=session, project_id=project.id, stage="pilot")
        await store.set_thread(
            session=session, project_id=project.id, channel_id="C1", thread_id="111.1"
        )
        await session.commit()
        again = await store.get_project(session=session, workspace_id=ws.id, project_id=project.id)
        here = await store.project_in_thread(
            session=session, workspace_id=ws.id, channel_id="C1", thread_id="111.1"
        )
    assert (project.turn, project.stage, project.thread_id) == (0, None, None)
    assert again == here
    assert (again.turn, again.current_question_id, again.stage) == (1, "target_users", "pilot")
    assert (again.channel_id, again.thread_id) == ("C1", "111.1")
    assert again.intake_done_at == NOW + timedelta(minutes=1)
