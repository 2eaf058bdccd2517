"""The Teams app package: a filled-in manifest and two icons of the sizes Teams requires."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib

import jsonschema
import pytest

from bot.cli import main
from bot.commands import parse_command
from bot.teams.package import build_package

APP_ID = "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"


def png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Read a PNG's width, height, colour type and raw scanlines (filter bytes removed)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    idat = b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IDAT":
            idat += body
        chunks[kind] = body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8
    raw = zlib.decompress(idat)
    channels = {2: 3, 6: 4}[colour]
    stride = width * channels + 1
    rows, previous = [], bytes(width * channels)
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        kind, row = line[0], bytearray(line[1:])
        for i in range(len(row)):  # undo the five PNG filters
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 255
            elif kind == 2:
                row[i] = (row[i] + up) & 255
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                best = min(
                    (abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner)
                )[2]
                row[i] = (row[i] + best) & 255
        rows.append(bytes(row))
        previous = bytes(row)
    return width, height, colour, rows


@pytest.fixture
def package(tmp_path):
    path = build_package(
        app_id=APP_ID,
        base_url="https://mlplan.example.com/",
        version="1.2.3",
        output=tmp_path / "p.zip",
    )
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_package_holds_a_filled_in_manifest_and_two_icons(package):
    assert set(package) == {"manifest.json", "color.png", "outline.png"}
    text = package["manifest.json"].decode()
    assert "{{" not in text
    manifest = json.loads(text)
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["version"] == "1.2.3" and manifest["manifestVersion"] == "1.17"
    assert manifest["developer"]["privacyUrl"] == "https://mlplan.example.com/privacy"
    assert manifest["validDomains"] == ["mlplan.example.com"]
    assert set(manifest["bots"][0]["scopes"]) == {"personal", "team", "groupChat"}
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000


# The parts of Teams' v1.17 manifest schema that a bot-only app uses (the official schema is
# online only): required fields, the GUID and version patterns, the length and count limits.
_TEXT = {"type": "string", "minLength": 1}
_HTTPS = {"type": "string", "pattern": "^https://[^\\s{}]+$", "maxLength": 2048}
MANIFEST_SUBSET = {
    "type": "object",
    "required": [
        "manifestVersion",
        "version",
        "id",
        "developer",
        "name",
        "description",
        "icons",
        "accentColor",
    ],
    "properties": {
        "manifestVersion": {"const": "1.17"},
        "version": {"pattern": "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$"},
        "id": {"pattern": "^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$"},
        "developer": {
            "type": "object",
            "required": ["name", "websiteUrl", "privacyUrl", "termsOfUseUrl"],
            "properties": {
                "name": {**_TEXT, "maxLength": 32},
                "websiteUrl": _HTTPS,
                "privacyUrl": _HTTPS,
                "termsOfUseUrl": _HTTPS,
            },
        },
        "name": {
            "type": "object",
            "required": ["short"],
            "properties": {
                "short": {**_TEXT, "maxLength": 30},
                "full": {**_TEXT, "maxLength": 100},
            },
        },
        "description": {
            "type": "object",
            "required": ["short", "full"],
            "properties": {
                "short": {**_TEXT, "maxLength": 80},
                "full": {**_TEXT, "maxLength": 4000},
            },
        },
        "icons": {
            "type": "object",
            "required": ["color", "outline"],
            "properties": {"color": _TEXT, "outline": _TEXT},
        },
        "accentColor": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
        "bots": {
            "type": "array",
            "maxItems": 1,
            "items": {
                "type": "object",
                "required": ["botId", "scopes"],
                "properties": {
                    "botId": {"pattern": "^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$"},
                    "scopes": {
                        "type": "array",
                        "uniqueItems": True,
                        "items": {"enum": ["personal", "team", "groupChat"]},
                    },
                    "supportsFiles": {"type": "boolean"},
                    "isNotificationOnly": {"type": "boolean"},
                    "commandLists": {
                        "type": "array",
                        "maxItems": 3,
                        "items": {
                            "type": "object",
                            "required": ["scopes", "commands"],
                            "properties": {
                                "commands": {
                                    "type": "array",
                                    "maxItems": 10,
                                    "items": {
                                        "type": "object",
                                        "required": ["title", "description"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "title": {**_TEXT, "maxLength": 32},
                                            "description": {**_TEXT, "maxLength": 128},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
        "validDomains": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[^/:\\s{}]+$", "maxLength": 2048},
        },
    },
}


def test_the_manifest_fits_the_teams_schema_rules_a_bot_uses(package):
    manifest = json.loads(package["manifest.json"])
    jsonschema.validate(manifest, MANIFEST_SUBSET)
    icons = manifest["icons"]
    assert {icons["color"], icons["outline"]} == {"color.png", "outline.png"} <= set(package)
    with pytest.raises(jsonschema.ValidationError):  # the subset does refuse something
        jsonschema.validate({**manifest, "accentColor": "indigo"}, MANIFEST_SUBSET)


def test_every_listed_command_is_one_mlplan_understands(package):
    manifest = json.loads(package["manifest.json"])
    [commands] = manifest["bots"][0]["commandLists"]
    for command in commands["commands"]:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128
        alone = command["title"] in ("list", "help", "digest subscribe")
        typed = command["title"] if alone else f"{command['title']} churn model costs"
        if command["title"] == "assign":
            typed += " @ann"  # and whom to
        assert parse_command(typed).name == command["title"].split()[0]


def test_the_icons_have_the_sizes_and_colours_teams_requires(package):
    width, height, _, _ = png_pixels(package["color.png"])
    assert (width, height) == (192, 192)
    width, height, colour, rows = png_pixels(package["outline.png"])
    assert (width, height, colour) == (32, 32, 6)  # with an alpha channel
    pixels = [row[i : i + 4] for row in rows for i in range(0, len(row), 4)]
    assert all(p[3] == 0 or p[:3] == b"\xff\xff\xff" for p in pixels)  # white on transparent
    assert any(p[3] for p in pixels)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("app_id", "not-a-guid", "is not a GUID"),
        ("app_id", APP_ID + "\n", "is not a GUID"),
        ("base_url", "http://mlplan.example.com", "must be https://"),
        ("base_url", "https://mlplan.example.com/?x=1", "no user, query or fragment"),
        ("version", "1.0", "must look like 1.0.0"),
        ("version", "1.02.0", "must look like 1.0.0"),
    ],
)
def test_bad_inputs_are_refused_with_what_to_fix(tmp_path, field, value, says):
    arguments = {"app_id": APP_ID, "base_url": "https://x.example.com", "version": "1.0.0"}
    with pytest.raises(ValueError, match=says):
        build_package(**{**arguments, field: value}, output=tmp_path / "p.zip")
    assert not (tmp_path / "p.zip").exists()


def test_the_command_writes_the_zip_and_needs_an_app_id(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    assert main(["teams-package", "--base-url", "https://x.example.com"]) == 2
    assert "set MICROSOFT_APP_ID or pass --app-id" in capsys.readouterr().err
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "secret")
    assert main(["teams-package", "--base-url", "https://x.example.com", "-o", "out.zip"]) == 0
    assert "Wrote out.zip" in capsys.readouterr().out
    assert zipfile.ZipFile(tmp_path / "out.zip").namelist()[0] == "manifest.json"
    assert main(["teams-package", "--base-url", "https://x.example.com", "--version", "x"]) == 2
