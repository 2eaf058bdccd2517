"""No URL's password in what mlplan prints or logs: settings errors, log lines, tracebacks."""

import logging
import os
import subprocess
import sys

import pytest

from bot.redaction import RedactingFormatter, redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("got 'mysql://root:secret@x/y'", "got 'mysql://root:***@x/y'"),
        (
            "postgresql+psycopg://u:p@ss/w@db:5432/mlplan",
            "postgresql+psycopg://u:***@db:5432/mlplan",
        ),
        ("redis://:secret@cache:6379/0 and more", "redis://:***@cache:6379/0 and more"),
        ("two: a://u:one@h and b://v:two@k", "two: a://u:***@h and b://v:***@k"),
        ("https://slack.com:443/api/ stays", "https://slack.com:443/api/ stays"),
        ("sqlite:///./mlplan.db stays", "sqlite:///./mlplan.db stays"),
        ("https://ann@example.com has no password", "https://ann@example.com has no password"),
    ],
)
def test_redact_hides_only_passwords(text, shown):
    assert redact(text) == shown


def test_log_lines_and_their_tracebacks_hide_passwords():
    try:
        raise RuntimeError("cannot reach postgresql://mlplan:hunter2@db/mlplan")
    except RuntimeError:
        record = logging.LogRecord(
            "mlplan",
            logging.ERROR,
            __file__,
            1,
            "opening %s",
            ("mysql://a:hunter2@x/y",),
            sys.exc_info(),
        )
    line = RedactingFormatter("%(message)s").format(record)
    assert "hunter2" not in line
    assert "mysql://a:***@x/y" in line and "postgresql://mlplan:***@db/mlplan" in line


def _mlplan(*args: str, cwd, env: dict, code: str | None = None):
    """Run mlplan (or `code` standing in for it) in a folder with no .env."""
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "bot", *args]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, env={**os.environ, **env}, timeout=60
    )


def test_a_malformed_database_url_is_named_without_its_password(tmp_path):
    result = _mlplan("serve", cwd=tmp_path, env={"DATABASE_URL": "mysql://root:secret@x/y"})
    assert result.returncode == 2
    assert result.stderr.startswith("mlplan: DATABASE_URL:") and result.stderr.count("\n") == 1
    assert "root:***@x/y" in result.stderr and "secret" not in result.stderr + result.stdout


def test_an_unexpected_error_is_logged_without_the_password(tmp_path):
    code = (
        "import sys, bot.app, bot.cli\n"
        "async def boom(*args, **kwargs):\n"
        "    raise RuntimeError('cannot open postgresql://mlplan:hunter2@db/mlplan')\n"
        "bot.app.build_runtime = boom\n"
        "sys.exit(bot.cli.main(sys.argv[1:]))\n"
    )
    result = _mlplan(
        "db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": "sqlite:///unused.db"}, code=code
    )
    assert result.returncode == 1
    assert "RuntimeError: cannot open postgresql://mlplan:***@db/mlplan" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
