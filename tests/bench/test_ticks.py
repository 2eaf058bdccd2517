"""The tick benchmark runs at a tiny size: it imports, ticks and reports what it measured."""

from bench.ticks import MOMENTS, measure, table


async def test_the_tick_benchmark_imports_twenty_projects_and_ticks_at_each_moment(tmp_path):
    rows, process = await measure(f"sqlite:///{tmp_path / 'bench.db'}", [20])
    assert process is None
    assert [r["moment"] for r in rows] == [moment for moment, _ in MOMENTS]
    settling, quiet, monday, day = rows
    assert {r["projects"] for r in rows} == {20} and {r["subscribers"] for r in rows} == {2}
    # A restore: what was due until the import counts as sent; its first tick sends nothing.
    assert (settling["reminders"], settling["digests"], settling["sent"]) == (0, 0, 0)
    assert (quiet["reminders"], quiet["digests"], quiet["sent"]) == (0, 0, 0)
    # and has nothing to work out: each item's first look was set by the import.
    assert settling["statements"] == quiet["statements"]
    # Monday at nine: every subscriber's digest and the day's reminders, all sent.
    assert monday["digests"] == 2 and monday["reminders"] > 0
    assert monday["sent"] == monday["reminders"] + monday["digests"]
    assert day["digests"] == 0 and day["sent"] == day["reminders"] > 0
    printed = table(rows)
    assert "| 20 | Monday digest |" in printed
    assert "20 projects: file written in" in printed and "2 digest subscribers" in printed
