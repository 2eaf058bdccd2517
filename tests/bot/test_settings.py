"""Settings: the contract's defaults, and one clear line naming a bad variable, never a secret."""

import pytest

from bot.cli import main
from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in (
        "DATABASE_URL",
        "PORT",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "MICROSOFT_APP_ID",
        "MICROSOFT_APP_PASSWORD",
        "MLPLAN_TIMEZONE",
        "MLPLAN_DIGEST_CRON",
        "MLPLAN_SLASH_COMMAND",
        "MICROSOFT_APP_TYPE",
        "MLPLAN_TEAMS_ANONYMOUS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_follow_the_contract():
    settings = load_settings()
    assert settings.database_url == "sqlite:///./mlplan.db"
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.mlplan_slash_command == "/mlplan"
    assert settings.mlplan_timezone == "UTC"
    assert settings.mlplan_digest_cron == "0 9 * * MON"
    assert settings.microsoft_app_id == ""
    assert settings.mlplan_teams_anonymous is False and settings.teams_mode == "closed"
    assert not settings.slack_enabled


def test_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("PORT=4000\nMLPLAN_TIMEZONE=Europe/Berlin\n")
    settings = load_settings()
    assert (settings.port, settings.mlplan_timezone) == (4000, "Europe/Berlin")


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("PORT", "abc", "PORT:"),
        ("PORT", "70000", "PORT:"),
        ("MLPLAN_TIMEZONE", "Mars/Olympus", "MLPLAN_TIMEZONE: unknown time zone"),
        ("MLPLAN_DIGEST_CRON", "every monday", "MLPLAN_DIGEST_CRON: not a crontab line"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL:"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL: must be an http(s) URL"),
        ("MLPLAN_SLASH_COMMAND", "mlplan", "MLPLAN_SLASH_COMMAND:"),
        ("MICROSOFT_APP_TYPE", "Whatever", "MICROSOFT_APP_TYPE:"),
        ("MLPLAN_TEAMS_ANONYMOUS", "maybe", "MLPLAN_TEAMS_ANONYMOUS: must be true or false"),
    ],
)
def test_a_malformed_setting_names_its_variable(monkeypatch, name, value, needle):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(needle)
    assert "\n" not in str(caught.value)


def test_half_a_slack_configuration_is_refused_without_printing_the_token(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "SLACK_SIGNING_SECRET is required" in str(caught.value)
    assert "xoxb-very-secret" not in str(caught.value)


def test_secrets_never_show_in_errors_or_reprs(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh-secret")
    settings = load_settings()
    assert settings.slack_enabled
    assert "xoxb-very-secret" not in repr(settings) and "shh-secret" not in repr(settings)


def test_the_command_line_fails_with_one_line_and_status_2(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "many")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlplan: PORT:") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("environment", "mode"),
    [
        ({}, "closed"),
        ({"MLPLAN_TEAMS_ANONYMOUS": "true"}, "anonymous"),
        ({"MLPLAN_TEAMS_ANONYMOUS": "false"}, "closed"),
        (
            {
                "MICROSOFT_APP_ID": "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
                "MICROSOFT_APP_PASSWORD": "pw",
                "MLPLAN_TEAMS_ANONYMOUS": "true",
            },
            "verified",
        ),
    ],
)
def test_teams_takes_unauthenticated_activities_only_when_asked_and_without_an_app_id(
    monkeypatch, environment, mode
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert load_settings().teams_mode == mode
