"""`mlplan serve --now` and `mlplan worker --now`: a clock started at a moment, running on."""

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
