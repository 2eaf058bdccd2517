"""Read mlplan's settings from the environment (and `.env`), failing with one line per problem."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.redaction import redact
from storage.db import async_url

SECRETS = {
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "slack_client_secret",
    "microsoft_app_password",
}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable, never a secret or a URL's password."""


class Settings(BaseSettings):
    """The contract's environment variables, with their defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///./mlplan.db"
    port: int = Field(3000, ge=1, le=65535)
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Several workspaces: Slack's OAuth install flow, installations kept in mlplan's database.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    microsoft_app_id: str = ""
    microsoft_app_password: SecretStr = SecretStr("")
    microsoft_app_tenant_id: str = ""
    microsoft_app_type: str = ""
    # With no MICROSOFT_APP_ID, take unauthenticated activities (the Bot Framework Emulator).
    mlplan_teams_anonymous: bool = False
    mlplan_slash_command: str = Field("/mlplan", pattern=r"^/[a-z0-9_-]{1,31}$")
    mlplan_timezone: str = "UTC"
    mlplan_digest_cron: str = "0 9 * * MON"

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        try:
            async_url(value)
        except Exception as err:  # any parse failure means the same thing to the operator
            raise ValueError(f"not a sqlite:/// or postgresql:// URL ({err})") from None
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("mlplan_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use a name such as Europe/Berlin"
            ) from None
        return value

    @field_validator("mlplan_digest_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as err:
            raise ValueError(f"not a crontab line such as '0 9 * * MON' ({err})") from None
        return value

    @field_validator("microsoft_app_type")
    @classmethod
    def _app_type(cls, value: str) -> str:
        allowed = ("", "MultiTenant", "SingleTenant", "UserAssignedMSI")
        if value not in allowed:
            raise ValueError("must be MultiTenant, SingleTenant or UserAssignedMSI")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> Settings:
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
            raise ValueError(f"{missing} is required when the other OAuth credential is set")
        if self.slack_client_id and not self.slack_signing_secret:
            raise ValueError("SLACK_SIGNING_SECRET is required when SLACK_CLIENT_ID is set")
        if self.slack_signing_secret and not (self.slack_bot_token or self.slack_client_id):
            raise ValueError(
                "SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
                " (many workspaces) are required when SLACK_SIGNING_SECRET is set"
            )
        if self.slack_app_token and not self.slack_bot_token:
            raise ValueError("SLACK_BOT_TOKEN is required when SLACK_APP_TOKEN is set")
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            # Over HTTP every request is checked against the signing secret; Socket Mode needs none.
            raise ValueError("SLACK_SIGNING_SECRET is required when SLACK_BOT_TOKEN is set")
        if self.microsoft_app_id and not self.microsoft_app_password.get_secret_value():
            raise ValueError("MICROSOFT_APP_PASSWORD is required when MICROSOFT_APP_ID is set")
        return self

    @property
    def slack_enabled(self) -> bool:
        """Tell whether Slack over HTTP is configured (one workspace, or many through OAuth)."""
        return self.slack_signing_secret is not None and bool(
            self.slack_bot_token or self.slack_client_id
        )

    @property
    def slack_oauth(self) -> bool:
        """Tell whether workspaces install mlplan through Slack's OAuth flow."""
        return bool(self.slack_client_id)

    @property
    def teams_mode(self) -> str:
        """Say how /api/messages takes activities: "verified", "anonymous" or "closed"."""
        if self.microsoft_app_id:
            return "verified"
        return "anonymous" if self.mlplan_teams_anonymous else "closed"

    @property
    def timezone(self) -> ZoneInfo:
        """Return the default time zone."""
        return ZoneInfo(self.mlplan_timezone)


def load_settings(**overrides) -> Settings:
    """Load the settings, turning a validation failure into one line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as err:
        problem = err.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "bool_parsing":
            message = "must be true or false"
        if field:
            shown = "" if field in SECRETS else f" (got {problem['input']!r})"
            message = f"{field.upper()}: {message}{shown}"
        raise SettingsError(redact(message)) from None
