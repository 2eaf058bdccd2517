"""The shipped Slack app manifest matches what the code listens to and calls."""

from pathlib import Path

import yaml

from bot.settings import Settings
from bot.slack.app import BOT_SCOPES

MANIFEST = Path(__file__).parents[3] / "slack" / "manifest.yml"


def test_the_manifest_declares_the_command_routes_events_and_scopes_mlplan_uses():
    manifest = yaml.safe_load(MANIFEST.read_text())
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == Settings.model_fields["mlplan_slash_command"].default
    settings = manifest["settings"]
    for url in (
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ):
        assert url.endswith("/slack/events")
    assert {"message.channels", "message.groups"} <= set(
        settings["event_subscriptions"]["bot_events"]
    )
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert settings["interactivity"]["is_enabled"] is True
