"""Write the Teams app package: manifest.json (filled in) and the two icons, zipped for upload."""

from __future__ import annotations

import json
import re
import zipfile
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# Teams' schema refuses leading zeros ("1.02.0"), so this does too.
SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
ICONS = ("color.png", "outline.png")


def manifest(*, app_id: str, base_url: str, version: str) -> dict:
    """Fill in the manifest template; raise ValueError saying what is wrong with an input."""
    if not GUID.fullmatch(app_id):
        raise ValueError(
            f"the app id {app_id!r} is not a GUID: use the bot's Microsoft App ID"
            " (MICROSOFT_APP_ID), like 9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"
        )
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(
            f"the base URL {base_url!r} must be https://<host>: Teams only opens https links"
        )
    if parts.query or parts.fragment or parts.username:
        raise ValueError(
            f"the base URL {base_url!r} must be a plain https://<host>[/<path>], with no"
            " user, query or fragment: the privacy and terms links are built on it"
        )
    if not SEMVER.fullmatch(version):
        raise ValueError(f"the version {version!r} must look like 1.0.0 (major.minor.patch)")
    values = {
        "{{MICROSOFT_APP_ID}}": app_id,
        "{{BASE_URL}}": base_url.rstrip("/"),
        "{{VERSION}}": version,
        "{{DOMAIN}}": parts.hostname,
    }

    def fill(node):
        if isinstance(node, dict):
            return {key: fill(value) for key, value in node.items()}
        if isinstance(node, list):
            return [fill(value) for value in node]
        if isinstance(node, str):
            for placeholder, value in values.items():
                node = node.replace(placeholder, value)
        return node

    template = json.loads(_asset("manifest.json").decode())
    filled = fill(template)
    left = re.findall(r"\{\{[A-Z_]+\}\}", json.dumps(filled))
    if left:  # a placeholder added to the template without a value here
        raise ValueError(f"the manifest template has unfilled placeholders: {', '.join(left)}")
    return filled


def build_package(*, app_id: str, base_url: str, version: str, output: Path) -> Path:
    """Write the zip a Teams admin uploads: manifest.json and the icons at its root."""
    filled = manifest(app_id=app_id, base_url=base_url, version=version)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(filled, indent=2, ensure_ascii=False))
        for icon in ICONS:
            package.writestr(icon, _asset(icon))
    return output


def _asset(name: str) -> bytes:
    return (resources.files("bot.teams") / "manifest" / name).read_bytes()
