"""The organisation digest benchmark at tiny size: it runs, and its statements do not grow with N."""

from bench.digests import run


async def test_the_digest_bench_runs_and_reads_a_workspace_in_statements_that_do_not_grow(tmp_path):
    small = await run(f"sqlite:///{tmp_path / 'small.db'}", projects=10, subscribers=3)
    large = await run(f"sqlite:///{tmp_path / 'large.db'}", projects=40, subscribers=3)
    assert small["digests"] == large["digests"] == 3
    assert small["messages"] == large["messages"] == 3  # ten projects fit one Slack message
    assert small["statements"] == large["statements"]
