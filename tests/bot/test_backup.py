"""`mlplan export --all` and `mlplan import` as an operator runs them: subprocesses on the test database."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from datetime import date, timedelta

import sqlalchemy as sa

from storage import assignments, digests, open_questions, people, references, tracked, workspaces
from storage import projects as store
from storage.models import (
    Answer,
    Assignment,
    ConversationReference,
    DocItem,
    Milestone,
    OpenQuestion,
    Project,
)
from tests.bot.backup_files import Planned, project_line
from tests.bot.test_chat_cli import MLPLAN, run_mlplan
from tests.conftest import NOW, empty_tables

ANA = {"id": "U1", "name": "ana"}
BOB = {"id": "U2", "name": "bob"}


async def seed(sessions, flow) -> None:
    """Store three projects in two workspaces the way the bot does: versions, items, actions."""
    async with sessions() as session:
        for platform, team, names in (
            ("slack", "T1", ["Churn", "Fraud"]),
            ("msteams", "t-9", ["Churn"]),
        ):
            ws = await workspaces.get_or_create(
                session=session, platform=platform, external_id=team, now=NOW
            )
            for n, name in enumerate(names):
                project = await store.create_project(
                    session=session,
                    workspace_id=ws.id,
                    name=name,
                    owner=ANA,
                    sections=[s.id for s in flow.sections],
                    current="problem",
                    now=NOW,
                    channel_id="C1",
                    thread_id=f"17000000{n}.0001",
                )
                for turn, (answer, skipped) in enumerate(
                    [("First try", False), ("Churn rises", False)]
                ):
                    await store.save_turn(
                        session=session,
                        project=project,
                        expected_turn=turn,
                        current="target_users",
                        recorded=[("problem", answer, answer, skipped)],
                        author=BOB if turn else ANA,
                        now=NOW + timedelta(minutes=turn),
                        source_id=f"17000001{turn}.0002",
                    )
                await store.save_turn(
                    session=session,
                    project=project,
                    expected_turn=2,
                    current="why_it_matters",
                    walking="intake",
                    recorded=[
                        ("target_users", None, "skip", True),
                        ("heuristic_enough", False, "no", False),
                    ],
                    author=ANA,
                    now=NOW + timedelta(minutes=5),
                )
                await tracked.sync(
                    session=session,
                    project_id=project.id,
                    kind="milestone",
                    items=[
                        {"key": "baseline", "title": "Baseline", "owner": BOB, "due": "2026-12-01"},
                        {"key": "deployment", "title": "Deployment", "owner": None, "due": None},
                    ],
                    now=NOW,
                )
                docs = await tracked.sync(
                    session=session,
                    project_id=project.id,
                    kind="doc",
                    items=[
                        {
                            "key": "model_card",
                            "title": "Model card",
                            "owner": {"email": "bo@example.com"},
                            "due": "2026-12-10",
                        }
                    ],
                    now=NOW,
                )
                added = await tracked.add(
                    session=session,
                    project_id=project.id,
                    kind="milestone",
                    title="Review",
                    owner=BOB,
                    due=date(2026, 11, 30),
                    by=ANA,
                    now=NOW,
                )
                await tracked.snooze(
                    session=session,
                    kind="milestone",
                    item_id=added.id,
                    until=date(2026, 11, 29),
                    by=BOB,
                    now=NOW,
                )
                await tracked.mark_done(
                    session=session,
                    kind="doc",
                    item_id=docs[0].id,
                    by=BOB,
                    now=NOW,
                    link="https://wiki/x",
                )
                await owe(session, project.id)
        await session.commit()


async def owe(session, project_id: int) -> None:
    """Give a project an open question reminded already, one not yet, and a section owed."""
    for question_id, revisit in (("target_users", date(2026, 11, 20)), ("value_proposition", None)):
        await open_questions.leave(
            session=session,
            project_id=project_id,
            question_id=question_id,
            owner=ANA,
            revisit_on=revisit or date(2026, 12, 2),
            now=NOW,
        )
    reminded = await session.scalar(
        sa.select(OpenQuestion.id).where(
            OpenQuestion.project_id == project_id, OpenQuestion.question_id == "target_users"
        )
    )
    await open_questions.reminded(session=session, marks=[(reminded, date(2026, 11, 20))], now=NOW)
    await assignments.assign(
        session=session,
        project_id=project_id,
        section_id="metrics_detail",
        assignee=BOB,
        assigned_by=ANA,
        current="baseline_kind",
        now=NOW - timedelta(days=4),
    )
    await session.execute(
        sa.update(Assignment)
        .where(Assignment.project_id == project_id)
        .values(reminded=1, reminded_at=NOW - timedelta(days=1), remind_at=NOW + timedelta(days=6))
    )


def without_ids(lines: list[str]) -> list[dict]:
    documents = [json.loads(line) for line in lines]
    for document in documents:
        document["project"].pop("id")
    return documents


async def counts(engine) -> tuple[int, ...]:
    async with engine.connect() as connection:
        return tuple(
            [
                await connection.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (Project, Answer, Milestone, DocItem, OpenQuestion, Assignment)
            ]
        )


async def test_export_all_then_import_into_an_empty_database_round_trips(
    engine, sessions, flow, database_url, tmp_path
):
    await seed(sessions, flow)
    first = run_mlplan(database_url, "export", "--all", "--format", "jsonl")
    assert first.returncode == 0 and first.stderr == "", first.stderr  # no progress off a terminal
    lines = first.stdout.splitlines()
    assert len(lines) == 3
    # Each line is the document `export PROJECT --format json` prints.
    one = run_mlplan(database_url, "export", "Fraud", "--format", "json")
    assert json.loads(one.stdout) in [json.loads(line) for line in lines]
    churn = json.loads(lines[0])
    assert churn["project"]["conversation"] == {"channel": "C1", "thread": "170000000.0001"}
    assert churn["project"]["current_question"] == "why_it_matters"
    assert churn["project"]["walking_section"] == "intake"
    review = next(m for m in churn["milestones"] if m["title"] == "Review")
    assert review["key"] is None and review["snoozed_until"] == "2026-11-29"
    assert [(q["question"], q["reminded_at"] is not None) for q in churn["open_questions"]] == [
        ("target_users", True),
        ("value_proposition", False),
    ]
    [owed] = churn["assignments"]
    assert (owed["section"], owed["reminded"], owed["remind_at"]) == (
        "metrics_detail",
        1,
        (NOW + timedelta(days=6)).isoformat(),
    )
    [card] = churn["documentation"]
    assert card["status"] == "done" and card["done_by"] == BOB and card["link"] == "https://wiki/x"
    problem = next(q for s in churn["sections"] for q in s["questions"] if q["id"] == "problem")
    assert [(v["value"], v["author"]["id"], v["source"]) for v in problem["history"]] == [
        ("First try", "U1", "170000010.0002"),
        ("Churn rises", "U2", "170000011.0002"),
    ]
    only_slack = run_mlplan(database_url, "export", "--all", "--workspace", "slack:T1")
    assert only_slack.stdout.splitlines() == lines[:2]

    file = tmp_path / "backup.jsonl"
    file.write_text(first.stdout)
    before = await counts(engine)
    await empty_tables(engine)
    restored = run_mlplan(database_url, "import", str(file))
    assert restored.returncode == 0 and restored.stderr == "", restored.stderr
    assert restored.stdout.startswith("Imported 3 projects into slack:T1, msteams:t-9:")
    assert await counts(engine) == before
    again = run_mlplan(database_url, "export", "--all", "--format", "jsonl")
    assert without_ids(again.stdout.splitlines()) == without_ids(lines)
    assert {json.loads(x)["project"]["id"] for x in again.stdout.splitlines()} == {1, 2, 3}


async def test_a_malformed_line_stops_the_import_with_its_number_and_imports_nothing(
    engine, flow, database_url, tmp_path, mlplan_here
):
    good = [
        project_line(flow, number=n, workspace="slack:T1", now=NOW, owner=ANA) for n in range(3)
    ]
    cases = {
        '{"project": {"name": "x",': "line 2: not JSON (",
        json.dumps({"sections": []}): "line 2: project: Field required",
        good[1].replace('"version": 1', '"version": 2', 1): "line 2: sections.",
        good[1]
        .replace('"status": "open"', '"status": "sort of"')
        .replace(
            '"milestones": []',
            '"milestones": [{"title": "Baseline", "status": "later", "due": "2026-12-01"}]',
        ): "line 2: milestones.0.status: Input should be 'open' or 'done'",
        good[1].replace(
            '"workspace": "slack:T1"', '"workspace": "irc:T1"'
        ): "line 2: project.workspace:",
        good[0]: "line 2: the project 'Project 00000' of slack:T1 is also on line 1",
        good[1].replace(
            '"open_questions": []',
            '"open_questions": [{"question": "nope", "owner": {"id": "U1"}, "revisit_on": "2026-12-01"}]',
        ): "line 2: open_questions: mlplan has no question 'nope'",
        good[1].replace(
            '"assignments": []', '"assignments": [{"section": "data", "assignee": {"id": "U2"}}]'
        ): "line 2: assignments.0.assigned_at: Field required",
        good[1].replace(
            '"assignments": []',
            '"assignments": [{"section": "data", "assignee": {"id": "U2"},'
            ' "current_question": "problem", "assigned_at": "2026-11-20T09:00:00+00:00"}]',
        ): "line 2: assignments: the question 'problem' is not of the section 'data'",
        good[1].replace(
            '"digest": null',
            '"digest": null, "workspace": {"digests": [{"target_kind": "everyone",'
            ' "target_id": "U1", "created_at": "2026-11-20T09:00:00+00:00"}]}',
        ): "line 2: workspace.digests.0.target_kind: Input should be 'user' or 'channel'",
    }
    for n, (bad, said) in enumerate(cases.items()):
        file = tmp_path / "bad.jsonl"
        file.write_text("\n".join([good[0], bad, good[2]]) + "\n")
        if n == 0:  # the installed command once, then its `main` here (a second saved a case)
            result = run_mlplan(database_url, "import", str(file))
        else:
            result = await mlplan_here("import", str(file))
        assert result.returncode == 1, (said, result.stdout)
        [line] = result.stderr.splitlines()
        assert line.startswith(f"mlplan: {file}: {said}") and line.endswith(
            "nothing was imported"
        ), line
        assert await counts(engine) == (0, 0, 0, 0, 0, 0)


async def test_a_taken_name_is_refused_naming_it_unless_replace(
    engine, flow, database_url, tmp_path
):
    file = tmp_path / "one.jsonl"
    file.write_text(
        project_line(
            flow,
            number=1,
            workspace="slack:T1",
            now=NOW,
            owner=ANA,
            items=[Planned("milestone", "Baseline", date(2026, 12, 1), BOB)],
        )
        + "\n"
    )
    assert run_mlplan(database_url, "import", str(file)).returncode == 0
    stored = await counts(engine)

    both = tmp_path / "both.jsonl"
    both.write_text(
        project_line(flow, number=2, workspace="slack:T1", now=NOW, owner=ANA)
        + "\n"
        + project_line(flow, number=1, workspace="slack:T1", now=NOW, owner=BOB)
        + "\n"
    )
    refused = run_mlplan(database_url, "import", str(both))
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "mlplan: line 2: a project called 'Project 00001' already exists in slack:T1; pass"
        " --replace to replace it (nothing was imported)"
    ]
    assert await counts(engine) == stored

    replaced = run_mlplan(database_url, "import", str(both), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "Imported 2 projects into slack:T1 (1 replaced)" in replaced.stdout
    assert (await counts(engine))[0] == 2
    exported = without_ids(run_mlplan(database_url, "export", "--all").stdout.splitlines())
    assert [d["project"]["name"] for d in exported] == ["Project 00002", "Project 00001"]
    assert exported == without_ids(both.read_text().splitlines())


async def test_one_pretty_printed_document_imports_into_the_workspace_given(
    engine, flow, database_url, tmp_path
):
    line = project_line(flow, number=4, workspace="slack:T1", now=NOW, owner=ANA)
    file = tmp_path / "one.json"
    file.write_text(json.dumps(json.loads(line), indent=2) + "\n")
    result = run_mlplan(database_url, "import", str(file), "--workspace", "terminal:local")
    assert result.returncode == 0, result.stderr
    exported = run_mlplan(
        database_url, "export", "Project 00004", "--workspace", "terminal:local", "--format", "json"
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["sections"] == json.loads(line)["sections"]
    imported = await counts(engine)
    assert imported[0] == 1 and imported[1] > 0

    broken = tmp_path / "broken.json"
    text = file.read_text()
    broken.write_text(text.replace('"stage": "MVP",', '"stage": "MVP"', 1))
    after_stage = text[: text.index('"stage": "MVP",')].count("\n") + 2  # where JSON sees the gap
    result = run_mlplan(database_url, "import", str(broken))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"mlplan: {broken}: line {after_stage}: not JSON (Expecting ',' delimiter at column 5);"
        " nothing was imported"
    ]
    assert await counts(engine) == imported  # only the first import


async def test_refusals_of_the_command_line(engine, database_url, tmp_path, mlplan_here):
    for n, (args, said, code) in enumerate(
        (
            (
                ["export", "--all", "--format", "md"],
                "mlplan: export --all writes --format jsonl (one JSON document a line)",
                2,
            ),
            (["export"], "mlplan: export needs a project's name, or --all for every project", 2),
            (
                ["export", "--all", "--workspace", "slack:T404"],
                "mlplan: no workspace slack:T404 (known: none yet)",
                1,
            ),
            (
                ["export", "--all", "--workspace", "T404"],
                "mlplan: --workspace takes platform:id, such as slack:T024BE7LD, not 'T404'",
                1,
            ),
            (
                ["import", str(tmp_path / "nope.jsonl")],
                f"mlplan: cannot read {tmp_path / 'nope.jsonl'}: no such file",
                1,
            ),
        )
    ):
        # The installed command once, then its `main` here (a second saved a case).
        result = run_mlplan(database_url, *args) if n == 0 else await mlplan_here(*args)
        assert (result.returncode, result.stderr.strip()) == (code, said)


async def test_on_a_terminal_both_commands_draw_a_progress_bar(
    engine, flow, database_url, tmp_path
):
    file = tmp_path / "two.jsonl"
    file.write_text(
        "".join(
            project_line(flow, number=n, workspace="slack:T1", now=NOW, owner=ANA) + "\n"
            for n in range(2)
        )
    )
    env = {**os.environ, "DATABASE_URL": database_url, "MLPLAN_TIMEZONE": "UTC"}
    drawn = []
    for args in (["import", str(file)], ["export", "--all", "-o", str(tmp_path / "out.jsonl")]):
        leader, follower = pty.openpty()
        result = subprocess.run(
            [*MLPLAN, *args],
            stderr=follower,
            stdout=subprocess.PIPE,
            env=env,
            timeout=120,
            check=False,
        )
        os.close(follower)
        assert result.returncode == 0
        drawn.append(os.read(leader, 65536).decode())
        os.close(leader)
    assert "\rimport [##############################] 2/2 projects" in drawn[0]
    assert "\rexport [##############################] 2/2 projects" in drawn[1]
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2


async def keep_beside_projects(sessions) -> None:
    """Give the msteams workspace what digests and Teams keep: subscribers (one scoped to a
    tag, fortnightly) with what their last digest showed, people with zones, references."""
    async with sessions() as session:
        ws = await workspaces.get_or_create(
            session=session, platform="msteams", external_id="t-9", now=NOW
        )
        [project_id] = await session.scalars(
            sa.select(Project.id).where(Project.workspace_id == ws.id)
        )
        for person, zone in ((ANA, "Europe/Berlin"), (BOB | {"email": "bo@example.com"}, None)):
            await people.remember(
                session=session, workspace_id=ws.id, person=person, timezone=zone, now=NOW
            )
        for key in ("person:29:ana", f"project:{project_id}"):
            await references.remember(
                session=session,
                workspace_id=ws.id,
                key=key,
                reference={"conversation": {"id": key}, "serviceUrl": "https://smba.example/"},
                now=NOW,
            )
        await references.mark_broken(
            session=session, workspace_id=ws.id, key="person:29:ana", reason="gone", now=NOW
        )
        for target, scope in (("29:ana", (None, None, 1)), ("19:leads", ("tag", "finance", 2))):
            await digests.subscribe(
                session=session,
                workspace_id=ws.id,
                target_kind="user" if target.startswith("29:") else "channel",
                target_id=target,
                timezone="Europe/Berlin",
                by=ANA,
                now=NOW - timedelta(days=3),
                scope_kind=scope[0],
                scope_value=scope[1],
                every_weeks=scope[2],
            )
        await digests.set_tags(
            session=session, workspace_id=ws.id, project_id=project_id, tags=["finance"]
        )
        await digests.snooze(
            session=session,
            workspace_id=ws.id,
            project_id=project_id,
            until=date(2026, 11, 30),
            by=ANA,
        )
        shown = await digests.save_snapshot(
            session=session,
            workspace_id=ws.id,
            state={str(project_id): {"answered": 3, "done": ["baseline"]}},
            now=NOW,
        )
        first, _ = await digests.subscriptions(session=session, platforms=("msteams",))
        await digests.mark_sent(
            session=session, subscription_id=first.id, snapshot_id=shown, now=NOW
        )
        await session.commit()


def labelled(document: dict) -> dict:
    """A document without its project's id, its snapshot labels (ids) written the same way."""
    document = without_ids([json.dumps(document)])[0]
    shown = document["digest"]["shown"]
    document["digest"]["shown"] = {f"label {n}": facts for n, facts in enumerate(shown.values())}
    for subscriber in document["workspace"]["digests"]:
        if subscriber["last_shown"] is not None:
            subscriber["last_shown"] = f"label {list(shown).index(subscriber['last_shown'])}"
    return document


async def test_a_workspace_keeps_its_digests_people_and_teams_references_through_a_move(
    engine, sessions, flow, database_url, tmp_path
):
    await seed(sessions, flow)
    await keep_beside_projects(sessions)
    first = run_mlplan(database_url, "export", "--all", "--workspace", "msteams:t-9")
    [document] = [json.loads(line) for line in first.stdout.splitlines()]
    kept = document["workspace"]
    assert [(d["target_id"], d["scope_value"], d["every_weeks"]) for d in kept["digests"]] == [
        ("29:ana", None, 1),
        ("19:leads", "finance", 2),
    ]
    assert [d["last_sent_at"] is not None for d in kept["digests"]] == [True, False]
    assert [(p["id"], p["email"], p["timezone"]) for p in kept["people"]] == [
        ("U1", None, "Europe/Berlin"),
        ("U2", "bo@example.com", None),
    ]
    [ana] = kept["conversations"]
    assert (ana["key"], ana["broken_reason"]) == ("person:29:ana", "gone")
    assert document["project"]["conversation"]["teams"]["reference"]["serviceUrl"]
    label = kept["digests"][0]["last_shown"]
    assert document["digest"] == {
        "tags": ["finance"],
        "snoozed_until": "2026-11-30",
        "snoozed_by": ANA,
        "link": None,
        "shown": {label: {"answered": 3, "done": ["baseline"]}},
    }
    # The same document `export PROJECT --format json` prints; a later project carries none.
    one = run_mlplan(
        database_url, "export", "Churn", "--workspace", "msteams:t-9", "--format", "json"
    )
    assert json.loads(one.stdout) == document
    everything = [
        json.loads(line) for line in run_mlplan(database_url, "export", "--all").stdout.splitlines()
    ]
    assert ["workspace" in d for d in everything] == [False, False, True]

    file = tmp_path / "teams.jsonl"
    file.write_text(first.stdout)
    await empty_tables(engine)
    restored = run_mlplan(database_url, "import", str(file))
    assert restored.returncode == 0, restored.stderr
    assert "2 digest subscriptions;" in restored.stdout
    again = run_mlplan(database_url, "export", "--all")
    [moved] = [json.loads(line) for line in again.stdout.splitlines()]
    assert labelled(moved) == labelled(document)
    async with engine.connect() as connection:
        keys = set(await connection.scalars(sa.select(ConversationReference.key)))
    assert keys == {"person:29:ana", f"project:{moved['project']['id']}"}
