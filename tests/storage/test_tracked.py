"""Milestones and documentation items: acts change them and are recorded, within one workspace."""

from datetime import date, timedelta

import sqlalchemy as sa

from storage import projects, tracked, workspaces
from storage.models import ItemAction
from tests.conftest import NOW

ALICE = {"id": "U1", "name": "alice"}


async def _project(session, workspace="T1"):
    ws = await workspaces.get_or_create(
        session=session, platform="slack", external_id=workspace, now=NOW
    )
    return await projects.create_project(
        session=session,
        workspace_id=ws.id,
        name="Churn",
        owner=ALICE,
        sections=[],
        current=None,
        now=NOW,
    )


async def test_acts_change_the_item_and_each_is_recorded_with_who_and_when(sessions):
    later = NOW + timedelta(hours=1)
    async with sessions() as session:
        project = await _project(session)
        doc = await tracked.add(
            session=session,
            project_id=project.id,
            kind="doc",
            title="Model card",
            owner=ALICE,
            due=date(2026, 12, 1),
            by=ALICE,
            now=NOW,
        )
        act = {"session": session, "kind": "doc", "item_id": doc.id, "by": ALICE, "now": later}
        snoozed = await tracked.snooze(**act, until=date(2026, 12, 2))
        moved = await tracked.reschedule(**act, due=date(2026, 12, 9))
        done = await tracked.mark_done(**act, link="https://wiki/card")
        await session.commit()
        actions = (
            await session.execute(
                sa.select(ItemAction.action, ItemAction.value).order_by(ItemAction.id)
            )
        ).all()
        [listed] = await tracked.items(session=session, project_id=project.id, kind="doc")
    assert (doc.kind, doc.status, doc.link, doc.key) == ("doc", "open", None, None)
    assert snoozed.snoozed_until == date(2026, 12, 2)
    assert (moved.due, moved.snoozed_until, moved.status) == (date(2026, 12, 9), None, "open")
    assert (done.status, done.done_by, done.done_at, done.link) == (
        "done",
        ALICE,
        later,
        "https://wiki/card",
    )
    assert listed == done
    assert actions == [
        ("add", "2026-12-01"),
        ("snooze", "2026-12-02"),
        ("due", "2026-12-09"),
        ("done", "https://wiki/card"),
    ]


async def test_an_item_is_found_only_in_its_own_workspace_and_projects_carry_their_items(
    sessions,
):
    async with sessions() as session:
        project = await _project(session)
        mine = await tracked.add(
            session=session,
            project_id=project.id,
            kind="milestone",
            title="Baseline",
            owner=None,
            due=date(2026, 12, 1),
            by=ALICE,
            now=NOW,
        )
        other = await workspaces.get_or_create(
            session=session, platform="slack", external_id="T2", now=NOW
        )
        await session.commit()
        found = await tracked.find(
            session=session, workspace_id=project.workspace_id, kind="milestone", item_id=mine.id
        )
        elsewhere = await tracked.find(
            session=session, workspace_id=other.id, kind="milestone", item_id=mine.id
        )
        wrong_kind = await tracked.find(
            session=session, workspace_id=project.workspace_id, kind="doc", item_id=mine.id
        )
        [entry] = await tracked.by_project(session=session, platforms=("slack",))
        assert await tracked.by_project(session=session, platforms=("msteams",)) == []
    assert found == mine and elsewhere is None and wrong_kind is None
    assert (entry.project.id, entry.platform, entry.milestones, entry.docs) == (
        project.id,
        "slack",
        (mine,),
        (),
    )


async def test_a_new_time_zone_has_the_next_tick_look_again_at_that_persons_items(sessions):
    from storage import people
    from storage.models import Milestone

    later, much_later = NOW + timedelta(hours=1), NOW + timedelta(days=5)
    async with sessions() as session:
        project = await _project(session)
        for title, owner in (("Mine", {"id": "U2"}), ("Unowned", None), ("Theirs", {"id": "U3"})):
            await tracked.add(
                session=session,
                project_id=project.id,
                kind="milestone",
                title=title,
                owner=owner,
                due=date(2026, 12, 20),
                by=ALICE,
                now=NOW,
            )
        await session.execute(sa.update(Milestone).values(remind_at=much_later))
        await people.remember(
            session=session, workspace_id=project.workspace_id, person={"id": "U2"}, now=NOW
        )
        await people.remember(
            session=session,
            workspace_id=project.workspace_id,
            person={"id": "U2"},
            timezone="Asia/Tokyo",
            now=later,
        )
        # The project's owner (U1) is reminded of the unowned item.
        await people.remember(
            session=session,
            workspace_id=project.workspace_id,
            person=ALICE,
            timezone="Europe/Paris",
            now=later + timedelta(minutes=1),
        )
        await session.commit()
        times = dict((await session.execute(sa.select(Milestone.title, Milestone.remind_at))).all())
    assert times == {
        "Mine": later,
        "Unowned": later + timedelta(minutes=1),
        "Theirs": much_later,
    }


async def test_a_new_time_zone_has_the_next_tick_look_again_at_what_that_person_owes(sessions):
    """Open questions and owed sections are reminded at nine in their person's zone too."""
    from storage import assignments, open_questions, people
    from storage.models import Assignment, OpenQuestion

    later, much_later = NOW + timedelta(hours=1), NOW + timedelta(days=5)
    async with sessions() as session:
        project = await _project(session)
        other = await _project(session, workspace="T2")
        for where in (project, other):
            for who in ({"id": "U2"}, {"id": "U3"}):
                await open_questions.leave(
                    session=session,
                    project_id=where.id,
                    question_id=f"q-{who['id']}",
                    owner=who,
                    revisit_on=date(2026, 12, 1),
                    now=NOW,
                )
                await assignments.assign(
                    session=session,
                    project_id=where.id,
                    section_id=f"s-{who['id']}",
                    assignee=who,
                    assigned_by=ALICE,
                    current="first",
                    now=NOW,
                )
        await session.execute(sa.update(OpenQuestion).values(remind_at=much_later))
        await session.execute(sa.update(Assignment).values(remind_at=much_later))
        await people.remember(
            session=session, workspace_id=project.workspace_id, person={"id": "U2"}, now=NOW
        )
        await people.remember(
            session=session,
            workspace_id=project.workspace_id,
            person={"id": "U2"},
            timezone="Asia/Tokyo",
            now=later,
        )
        await session.commit()
        for model, person in (
            (OpenQuestion, OpenQuestion.owner_id),
            (Assignment, Assignment.assignee_id),
        ):
            rows = (
                await session.execute(sa.select(model.project_id, person, model.remind_at))
            ).all()
            brought = {
                (p, who)
                for p, who, at in rows
                if at.replace(tzinfo=None) == later.replace(tzinfo=None)
            }
            # Only U2's, and only in the workspace whose person changed zone.
            assert brought == {(project.id, "U2")}, model.__name__
