"""Requests to /api/messages: tokens checked when an app id is set, refused without one unless
anonymous mode is asked for, malformed bodies refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.app import build_runtime, build_web_app
from bot.settings import load_settings
from bot.teams.app import TEAMS
from storage.models import ConversationReference, Project
from tests.bot.teams.conftest import TeamsHarness
from tests.fakes.bot_connector import ISSUER

APP_ID = "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"


@pytest.fixture
async def secured(engine, database_url, connector, clock):
    """mlplan with an app id, checking tokens against the fake connector's keys."""
    settings = load_settings(
        database_url=database_url,
        microsoft_app_id=APP_ID,
        microsoft_app_password="test-password",
    )
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    auth = {
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": connector.openid_url,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER,
    }
    web_app = build_web_app(runtime, teams_options={"flush_every": 0, "auth": auth})
    async with TestClient(TestServer(web_app)) as client:
        yield TeamsHarness(client, connector, web_app[TEAMS], runtime, clock)
    await runtime.close()


@pytest.fixture
async def closed(engine, database_url, connector, clock):
    """mlplan with no app id and MLPLAN_TEAMS_ANONYMOUS left false: Teams is not connected."""
    settings = load_settings(database_url=database_url, mlplan_teams_anonymous=False)
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    web_app = build_web_app(runtime, teams_options={"flush_every": 0})
    async with TestClient(TestServer(web_app)) as client:
        yield TeamsHarness(client, connector, web_app[TEAMS], runtime, clock)
    await runtime.close()


async def nothing_stored(harness) -> bool:
    async with harness.runtime.sessions() as session:
        projects = await session.scalar(sa.select(sa.func.count()).select_from(Project))
        references = await session.scalar(
            sa.select(sa.func.count()).select_from(ConversationReference)
        )
    return projects == 0 and references == 0


async def test_a_request_without_a_token_is_refused_and_changes_nothing(secured):
    response = await secured.post(secured.activity(text="new Churn model"))
    assert response.status == 401
    await secured.settle()
    assert await nothing_stored(secured)
    assert secured.fake.activities == []


@pytest.mark.parametrize("forgery", ["garbage", "other key", "other app", "expired"])
async def test_a_token_that_does_not_verify_is_refused_and_changes_nothing(secured, forgery):
    fake = secured.fake
    token = {
        "garbage": lambda: "not-a-jwt",
        "other key": lambda: fake.token(
            app_id=APP_ID, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
        "other app": lambda: fake.token(app_id="another-bot"),
        "expired": lambda: fake.token(app_id=APP_ID, exp=1_600_000_000),
    }[forgery]()
    response = await secured.post(
        secured.activity(text="new Churn model"), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 401
    await secured.settle()
    assert await nothing_stored(secured)


async def test_a_token_signed_by_the_bot_framework_is_accepted(secured):
    token = secured.fake.token(app_id=APP_ID)
    response = await secured.post(
        secured.activity(text="new Churn model"), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 200
    async with secured.runtime.sessions() as session:
        assert (await session.scalar(sa.select(Project.name))) == "Churn model"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("new Churn model", "text/plain", 415),
        ("{not json", "application/json", 400),
        ('["a list"]', "application/json", 400),
        ('{"text": "no type"}', "application/json", 400),
    ],
)
async def test_a_malformed_request_is_refused_with_a_clear_error(teams, body, content_type, status):
    response = await teams.client.post(
        "/api/messages", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == status
    assert (await response.json())["error"]
    assert await nothing_stored(teams)


async def test_a_request_without_content_type_is_refused_not_a_server_error(teams):
    response = await teams.client.post("/api/messages", data=b'{"type": "message"}')
    assert response.status == 415


async def test_without_an_app_id_or_anonymous_mode_a_well_formed_activity_is_refused(closed):
    response = await closed.post(closed.activity(text="new Churn model"))
    assert response.status == 401
    assert "MLPLAN_TEAMS_ANONYMOUS" in (await response.json())["error"]
    await closed.settle()
    assert await nothing_stored(closed)
    assert closed.fake.activities == []


async def test_without_an_app_id_or_anonymous_mode_even_a_token_is_refused(closed):
    token = closed.fake.token(app_id="9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b")
    response = await closed.post(
        closed.activity(text="new Churn model"), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 401
    assert await nothing_stored(closed)


async def test_in_anonymous_mode_an_unauthenticated_activity_starts_an_intake(teams):
    assert teams.runtime.settings.mlplan_teams_anonymous is True
    await teams.say("new Churn model")
    async with teams.runtime.sessions() as session:
        assert (await session.scalar(sa.select(Project.name))) == "Churn model"
    assert teams.last_question().value["mlplan_question"]["question_id"] == "problem"


async def test_a_verified_run_at_debug_logs_neither_the_app_password_nor_a_token(secured, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    token = secured.fake.token(app_id=APP_ID)
    for text in ("new Churn model", "Customers leave after the first bill"):
        response = await secured.post(
            secured.activity(text=text), headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status == 200
    await secured.post(secured.activity(text="status"), headers={"Authorization": "Bearer forged"})
    await secured.settle()
    formatter = logging.Formatter("%(name)s %(message)s")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert len(caplog.records) > 5
    for secret in ("test-password", token, token.split(".")[2]):
        assert secret not in logged
