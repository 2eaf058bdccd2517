"""Write the Slack app manifest (YAML): the packaged template with mlplan's URLs and command filled in."""

from __future__ import annotations

import re
from importlib import resources
from urllib.parse import urlsplit

# Slack only calls https request URLs; a plain http one is allowed for a local fake or a tunnel.
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def check_base_url(base_url: str) -> str:
    """Return the base URL without a trailing slash; raise ValueError saying what is wrong with it."""
    parts = urlsplit(base_url)
    if not parts.scheme or not parts.hostname:
        raise ValueError(
            f"the base URL {base_url!r} needs a scheme and a host, like https://mlplan.example.com"
        )
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        raise ValueError(
            f"the base URL {base_url!r} must be https:// (http:// only for localhost or"
            " 127.0.0.1): Slack sends requests to https addresses only"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"the base URL {base_url!r} must be a plain https://<host>[/<path>], with no user,"
            " query or fragment: mlplan's routes (/slack/events) are appended to it"
        )
    try:
        parts.port  # noqa: B018 (parsed only when read)
    except ValueError:
        raise ValueError(f"the base URL {base_url!r} has a port that is not a number") from None
    if re.search(r"[\s\"'\\]", base_url):  # the template quotes each URL in YAML
        raise ValueError(f"the base URL {base_url!r} holds spaces, quotes or backslashes")
    return base_url.rstrip("/")


def manifest_yaml(*, base_url: str, slash_command: str) -> str:
    """Fill in the manifest template; raise ValueError saying what is wrong with an input."""
    base = check_base_url(base_url)
    text = (resources.files("bot.slack") / "manifest.template.yml").read_text(encoding="utf-8")
    text = text.replace("{{BASE_URL}}", base).replace("{{SLASH_COMMAND}}", slash_command)
    left = re.findall(r"\{\{[A-Z_]+\}\}", text)
    if left:  # a placeholder added to the template without a value here
        raise ValueError(f"the manifest template has unfilled placeholders: {', '.join(left)}")
    return text
