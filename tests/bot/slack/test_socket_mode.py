"""`mlplan socket`: the same listeners over Socket Mode, through a real WebSocket to the fake."""

import asyncio

from bot.app import build_runtime, run_socket_mode
from bot.cli import main
from bot.settings import load_settings


async def test_a_slash_command_over_socket_mode_starts_an_intake(engine, database_url, fake, clock):
    settings = load_settings(
        database_url=database_url,
        slack_bot_token="xoxb-T1-token",
        slack_app_token="xapp-1-token",
        slack_api_url=fake.api_url,
    )
    runtime = await build_runtime(settings, migrate=False, clock=clock)
    stop = asyncio.Event()
    serving = asyncio.create_task(run_socket_mode(runtime, stop=stop, flush_every=0))
    try:
        command = {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "user_name": "u1",
            "command": "/mlplan",
            "text": "new Churn model",
            "response_url": fake.response_url(),
        }
        ack = await fake.push("slash_commands", command)
        assert ack["envelope_id"].startswith("env-")
        parent, question = await fake.wait_for("chat.postMessage", count=2)
        assert parent.args["text"].startswith("Planning Churn model")
        assert question.args["thread_ts"] == parent.response["ts"]
        assert question.args["metadata"]["event_payload"]["question_id"] == "problem"
        help_ack = await fake.push("slash_commands", {**command, "text": "help"})
        assert "/mlplan new" in help_ack["payload"]["text"]
    finally:
        stop.set()
        adapter = await asyncio.wait_for(serving, 10)
        await runtime.close()
    assert adapter.delivery is not None
    assert any(
        c.method == "apps.connections.open" and c.token == "xapp-1-token" for c in fake.calls
    )


def test_socket_without_an_app_token_says_what_it_needs(monkeypatch, capsys):
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    assert main(["socket"]) == 2
    assert "needs SLACK_APP_TOKEN" in capsys.readouterr().err
