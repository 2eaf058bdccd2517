"""The web app's own routes, and `mlplan serve` started as an operator starts it."""

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_runtime, build_web_app, connection_hint
from bot.settings import load_settings


@pytest.fixture
async def client(engine, database_url):
    runtime = await build_runtime(load_settings(database_url=database_url), migrate=False)
    async with TestClient(TestServer(build_web_app(runtime))) as client:
        yield client
    await runtime.close()


async def test_healthz_answers_ok_while_the_database_answers(client):
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["slack"] is False


async def test_healthz_answers_503_when_the_database_is_down(tmp_path):
    unreachable = "postgresql://mlplan:hunter2@127.0.0.1:1/nothing"
    runtime = await build_runtime(load_settings(database_url=unreachable), migrate=False)
    async with TestClient(TestServer(build_web_app(runtime))) as client:
        response = await client.get("/healthz")
        body = await response.json()
    await runtime.close()
    assert response.status == 503
    assert body["status"] == "unavailable" and "nothing" not in str(body)
    assert "hunter2" not in str(body)


async def test_unknown_routes_are_404(client):
    assert (await client.get("/nope")).status == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_starts_without_credentials_and_says_how_to_connect(tmp_path):
    port = _free_port()
    script = Path(sys.executable).with_name("mlplan")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_", "MLPLAN_TEAMS_"))
    }
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        *command,
        "serve",
        "--host",
        "127.0.0.1",
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        lines = [(await asyncio.wait_for(process.stdout.readline(), 60)).decode() for _ in range(3)]
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
    finally:
        process.terminate()
        await process.wait()
    assert f"http://127.0.0.1:{port}" in lines[0]
    assert "Slack is not connected: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in lines[1]
    assert "Teams is not connected" in lines[2] and "MLPLAN_TEAMS_ANONYMOUS=true" in lines[2]
    assert (tmp_path / "fresh.db").exists()


@pytest.mark.parametrize(
    ("overrides", "needles"),
    [
        ({}, ["Teams is not connected", "refuses every request (401)", "MICROSOFT_APP_ID"]),
        ({"mlplan_teams_anonymous": True}, ["anonymous local mode", "MICROSOFT_APP_ID"]),
        (
            {
                "microsoft_app_id": "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
                "microsoft_app_password": "pw",
            },
            ["tokens verified"],
        ),
    ],
)
def test_the_start_up_hint_says_which_mode_teams_is_in(overrides, needles):
    settings = load_settings(
        **{"database_url": "sqlite:///unused.db", "mlplan_teams_anonymous": False, **overrides}
    )
    [slack_line, teams_line] = connection_hint(settings).splitlines()
    assert slack_line.startswith("Slack")
    for needle in needles:
        assert needle in teams_line


def test_serve_on_a_port_in_use_says_so_in_one_line_naming_port(tmp_path):
    script = Path(sys.executable).with_name("mlplan")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
            "PORT": str(port),
        }
        result = subprocess.run(
            [*command, "serve", "--host", "127.0.0.1"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert result.stderr.startswith("mlplan: PORT:") and result.stderr.count("\n") == 1
    assert f"port {port}" in result.stderr and "in use" in result.stderr
    assert not (tmp_path / "fresh.db").exists()  # stopped before it touched the database
