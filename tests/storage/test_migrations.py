"""The migrations build exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage import db
from storage.models import Base


def _diff(connection):
    return compare_metadata(
        MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
    )


async def test_migrations_match_the_models(engine):
    async with engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


async def test_database_is_at_head_and_upgrade_is_idempotent(engine):
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    assert head == db.HEAD  # a new migration moves db.HEAD too
    await db.upgrade(engine)
    assert await db.is_current(engine)


async def test_a_fresh_database_is_not_current_until_upgraded(tmp_path):
    engine = db.create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert not await db.is_current(engine)
        await db.upgrade(engine)
        assert await db.is_current(engine)
    finally:
        await engine.dispose()


def test_plain_urls_map_to_async_drivers():
    assert db.async_url("sqlite:///./mlplan.db") == "sqlite+aiosqlite:///./mlplan.db"
    assert db.async_url("postgresql://u:p@h:5432/d") == "postgresql+asyncpg://u:p@h:5432/d"
    assert db.async_url("postgres://h/d") == "postgresql+asyncpg://h/d"
    assert db.async_url("postgresql+asyncpg://h/d") == "postgresql+asyncpg://h/d"


async def test_pending_messages_get_their_conversation_when_the_outbox_learns_of_them(tmp_path):
    """0007 names the conversation of what was still to be sent, and a Teams row's destination."""
    import json

    import sqlalchemy as sa
    from alembic import command

    engine = db.create_engine(f"sqlite:///{tmp_path / 'old.db'}")

    def to(revision):
        def run(connection):
            config = db.alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        return run

    async with engine.begin() as connection:
        await connection.run_sync(to("0006"))
        await connection.execute(
            sa.text(
                "INSERT INTO workspaces (id, platform, external_id, created_at)"
                " VALUES (1, 'msteams', 't1', '2026-12-01')"
            )
        )
        for status, project, platform, channel, payload in (
            ("pending", None, "msteams", None, {"to": "person:29:a", "activity": {}}),
            ("pending", None, "slack", "C1", {"text": "hi"}),
            ("sent", None, "slack", "C1", {"text": "old"}),
        ):
            await connection.execute(
                sa.text(
                    "INSERT INTO outbox (workspace_id, project_id, platform, method, channel,"
                    " in_thread, starts_thread, payload, status, attempts, next_attempt_at,"
                    " created_at) VALUES (1, :project, :platform, 'post', :channel, 0, 0,"
                    " :payload, :status, 0, '2026-12-01', '2026-12-01')"
                ),
                {
                    "project": project,
                    "platform": platform,
                    "channel": channel,
                    "payload": json.dumps(payload),
                    "status": status,
                },
            )
        await connection.run_sync(to("head"))
        found = (
            await connection.execute(
                sa.text("SELECT conversation, channel, tells_failure FROM outbox ORDER BY id")
            )
        ).all()
    await engine.dispose()
    assert [tuple(row) for row in found] == [
        ("to:person:29:a", "person:29:a", 1),
        ("to:C1", "C1", 1),
        ("", "C1", 1),
    ]


async def test_questions_left_for_later_become_open_questions_and_assignments_get_due_times(
    tmp_path,
):
    """0011 makes an open question of each question whose latest version says `later`."""
    import json

    import sqlalchemy as sa
    from alembic import command

    engine = db.create_engine(f"sqlite:///{tmp_path / 'old.db'}")

    def to(revision):
        def run(connection):
            config = db.alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        return run

    ada = json.dumps({"id": "U1", "name": "ada"})
    async with engine.begin() as connection:
        await connection.run_sync(to("0010"))
        await connection.execute(
            sa.text(
                "INSERT INTO workspaces (id, platform, external_id, created_at)"
                " VALUES (1, 'slack', 'T1', '2026-12-01 09:00:00');"
            )
        )
        await connection.execute(
            sa.text(
                "INSERT INTO projects (id, workspace_id, name, name_key, owner, sections, turn,"
                " created_at, updated_at) VALUES (1, 1, 'Churn', 'churn', :owner, '[]', 0,"
                " '2026-12-01 09:00:00', '2026-12-01 09:00:00')"
            ),
            {"owner": ada},
        )
        for question, version, raw, skipped in (
            ("problem", 1, "later", 1),  # left, then answered: not open
            ("problem", 2, "Churn", 0),
            ("target_users", 1, "later", 1),  # left for later: open
            ("value_proposition", 1, "skip", 1),  # skipped: does not apply
        ):
            await connection.execute(
                sa.text(
                    "INSERT INTO answers (project_id, question_id, version, value, raw, skipped,"
                    " author, created_at) VALUES (1, :q, :v, NULL, :raw, :skipped, :author,"
                    " '2026-12-01 09:00:00')"
                ),
                {"q": question, "v": version, "raw": raw, "skipped": skipped, "author": ada},
            )
        await connection.execute(
            sa.text(
                "INSERT INTO assignments (project_id, section_id, assignee_id, assignee,"
                " assigned_by, current_question_id, created_at, updated_at) VALUES (1, 'data',"
                " 'U2', :bob, :ada, 'data_availability', '2026-12-01 09:00:00',"
                " '2026-12-02 10:00:00')"
            ),
            {"bob": json.dumps({"id": "U2"}), "ada": ada},
        )
        await connection.run_sync(to("head"))
        left = (
            await connection.execute(
                sa.text("SELECT question_id, owner_id, revisit_on, remind_at FROM open_questions")
            )
        ).all()
        owed = (
            await connection.execute(
                sa.text("SELECT assigned_at, remind_at, reminded FROM assignments")
            )
        ).all()
    await engine.dispose()
    [(question, owner, revisit, remind_at)] = left
    assert (question, owner, str(revisit)) == ("target_users", "U1", "2026-12-08")
    assert remind_at is not None  # the first tick looks at it and sets its time
    [(assigned_at, due, reminded)] = owed
    assert str(assigned_at).startswith("2026-12-02 10:00:00") and due is not None and reminded == 0
