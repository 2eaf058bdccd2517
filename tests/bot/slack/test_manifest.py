"""The Slack app manifest that `mlplan slack-manifest` writes matches what the code listens to and calls."""

import inspect

import pytest
import yaml
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from bot.cli import main
from bot.settings import Settings
from bot.slack.app import BOT_SCOPES
from bot.slack.manifest import manifest_yaml

BASE = "https://mlplan.example.com/team"


def urls(manifest: dict) -> dict[str, str]:
    [command] = manifest["features"]["slash_commands"]
    settings = manifest["settings"]
    return {
        "command": command["url"],
        "events": settings["event_subscriptions"]["request_url"],
        "interactivity": settings["interactivity"]["request_url"],
        "redirect": manifest["oauth_config"]["redirect_urls"][0],
    }


def test_the_manifest_declares_the_command_routes_events_and_scopes_mlplan_uses():
    default_command = Settings.model_fields["mlplan_slash_command"].default
    manifest = yaml.safe_load(manifest_yaml(base_url=BASE, slash_command=default_command))
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == default_command
    redirect_path = inspect.signature(AsyncOAuthSettings).parameters["redirect_uri_path"].default
    assert urls(manifest) == {
        "command": f"{BASE}/slack/events",
        "events": f"{BASE}/slack/events",
        "interactivity": f"{BASE}/slack/events",
        "redirect": f"{BASE}{redirect_path}",
    }
    settings = manifest["settings"]
    assert {"message.channels", "message.groups"} <= set(
        settings["event_subscriptions"]["bot_events"]
    )
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert settings["interactivity"]["is_enabled"] is True


def test_the_command_fills_in_the_base_url_and_the_configured_slash_command(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("MLPLAN_SLASH_COMMAND", "/plan-ml")
    output = tmp_path / "out" / "slack-manifest.yml"
    assert (
        main(["slack-manifest", "--base-url", "https://bot.example.org/", "-o", str(output)]) == 0
    )
    assert str(output) in capsys.readouterr().out
    text = output.read_text()
    assert "{{" not in text and "mlplan.example.com" not in text
    manifest = yaml.safe_load(text)
    assert manifest["features"]["slash_commands"][0]["command"] == "/plan-ml"
    assert set(urls(manifest).values()) == {
        "https://bot.example.org/slack/events",
        "https://bot.example.org/slack/oauth_redirect",
    }


def test_without_an_output_file_the_manifest_goes_to_standard_output(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLPLAN_SLASH_COMMAND", raising=False)
    assert main(["slack-manifest", "--base-url", "http://localhost:3000"]) == 0
    manifest = yaml.safe_load(capsys.readouterr().out)
    assert urls(manifest)["events"] == "http://localhost:3000/slack/events"
    assert manifest["features"]["slash_commands"][0]["command"] == "/mlplan"


@pytest.mark.parametrize(
    ("base_url", "needle"),
    [
        ("mlplan.example.com", "needs a scheme and a host"),
        ("localhost:3000", "needs a scheme and a host"),
        ("http://mlplan.example.com", "must be https://"),
        ("ftp://mlplan.example.com", "must be https://"),
        ("https://mlplan.example.com/?team=1", "no user, query or fragment"),
        ("https://mlplan.example.com/#top", "no user, query or fragment"),
        ("https://ann:pw@mlplan.example.com", "no user, query or fragment"),
        ("https://mlplan.example.com:web", "port that is not a number"),
        ('https://mlplan.example.com/a"b', "quotes"),
    ],
)
def test_a_bad_base_url_exits_2_with_one_line(monkeypatch, tmp_path, capsys, base_url, needle):
    monkeypatch.chdir(tmp_path)
    output = tmp_path / "manifest.yml"
    assert main(["slack-manifest", "--base-url", base_url, "-o", str(output)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("mlplan: ") and needle in captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""
    assert not output.exists()
