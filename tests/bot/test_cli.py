"""`mlplan serve --now` and `mlplan worker --now`: a clock started at a moment, running on; what a
command loads as it starts."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from bot.cli import _parser, _running_from


def test_serve_and_worker_take_the_moment_their_clock_starts_at():
    for command in ("serve", "worker"):
        args = _parser().parse_args([command, "--now", "2027-03-01T09:00"])
        assert args.now == datetime(2027, 3, 1, 9, tzinfo=UTC)  # naive means UTC, as for tick
    assert _parser().parse_args(["serve"]).now is None


def test_a_clock_started_at_a_moment_reads_it_first_then_runs_on():
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    clock = _running_from(start)
    first = clock()
    assert start <= first < start + timedelta(minutes=1)
    assert start <= first <= clock()
    assert _running_from(None) is None  # no moment: the runtime keeps the real clock


def test_a_server_starts_its_scheduler_as_a_worker_beside_it_reading_its_clock_then():
    from types import SimpleNamespace

    from bot.cli import _worker_beside

    clock = iter([datetime(2027, 3, 1, 9, tzinfo=UTC), datetime(2027, 3, 1, 9, 5, tzinfo=UTC)])
    runtime = SimpleNamespace(clock=lambda: next(clock))
    argv = _worker_beside(runtime, rehearsing=True)
    assert argv() == ["worker", "--beside-server", "--now", "2027-03-01T09:00:00+00:00"]
    assert argv()[-1] == "2027-03-01T09:05:00+00:00"  # a restart starts at the clock's moment
    assert _worker_beside(runtime)() == ["worker", "--beside-server"]


def test_a_command_on_a_database_at_head_with_teams_unconnected_loads_no_alembic_nor_botbuilder(
    database_url, engine
):
    """Each costs a quarter of a second at every start (`mlplan tick`, the worker, the server)."""
    probe = (
        "import asyncio, sys\n"
        "from bot.app import build_platforms, build_runtime\n"
        "from bot.settings import load_settings\n"
        "async def main():\n"
        f"    settings = load_settings(database_url={database_url!r}, microsoft_app_id='',"
        " mlplan_teams_anonymous=False)\n"
        "    runtime = await build_runtime(settings)\n"
        "    build_platforms(runtime)\n"
        "    await runtime.close()\n"
        "asyncio.run(main())\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'botbuilder'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stderr
