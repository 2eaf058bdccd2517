"""The tick benchmark runs at a tiny size: it builds, ticks and reports what it measured."""

from bench.ticks import measure, table


async def test_the_tick_benchmark_runs_at_five_projects(tmp_path):
    results = await measure(f"sqlite:///{tmp_path / 'bench.db'}", [5])
    quiet, first = results
    assert (quiet["projects"], quiet["moment"], quiet["reminders"]) == (5, "quiet minute", 0)
    assert first["moment"] == "first tick of the day" and first["reminders"] > 0
    assert first["sent"] == first["reminders"]
    assert quiet["statements"] < first["statements"]
    assert "| 5 | quiet minute |" in table(results)
