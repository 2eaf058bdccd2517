"""Storage stays platform-free, and the bot reaches the database only through storage's functions."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The one exception: slack_sdk's OAuth stores keep their tables on storage's metadata.
OAUTH_STORES = ("slack_sdk.oauth.installation_store", "slack_sdk.oauth.state_store")
# What the bot may still take from SQLAlchemy: session factories and error types.
BOT_MAY_IMPORT = ("sqlalchemy.ext.asyncio", "sqlalchemy.exc")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
            # `from storage import models` reaches the models as surely as importing them.
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("storage"), ids=lambda p: str(p.relative_to(REPO)))
def test_storage_imports_no_platform_sdk_and_nothing_of_the_bot(path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in ("bot", "botbuilder", "slack_bolt"), f"{path.name} imports {name}"
        if top == "slack_sdk":
            assert path.name == "slack_oauth.py" and name.startswith(OAUTH_STORES), name


@pytest.mark.parametrize("path", _modules("bot"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_bot_uses_no_orm_models_and_writes_no_sql(path):
    for name in _imports(path):
        assert not name.startswith("storage.models"), f"{path.name} imports {name}"
        if name.split(".")[0] == "sqlalchemy":
            assert name.startswith(BOT_MAY_IMPORT), f"{path.name} imports {name}"


def test_storage_and_the_engine_mark_an_answer_left_for_later_alike():
    from flows import engine
    from storage import projects

    assert projects.LATER == engine.LATER
