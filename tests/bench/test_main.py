"""`python -m bench` runs every figure at a tiny size, prints its tables and writes its JSON file."""

import json

from bench.__main__ import main


def test_python_m_bench_runs_every_figure_at_a_tiny_size(tmp_path, capsys):
    out = tmp_path / "bench.json"
    results = main(
        [
            "--ticks", "5",
            "--digest", "10:2",
            "--answers", "2x2",
            "--serve", "5",
            "--quiet", "0.5",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert json.loads(out.read_text()) == results
    figures = {f["figure"]: f["rows"] for f in results["figures"]}
    assert list(figures) == ["ticks", "digest", "answers", "serve"]
    quiet, first = figures["ticks"]
    assert quiet["reminders"] == 0 and quiet["statements"] < first["statements"]
    assert first["reminders"] == first["sent"] > 0
    assert figures["digest"][0]["digests"] == 2
    answered = figures["answers"][0]
    assert answered["mlplan"]["answers"] == answered["floor"]["answers"] == 4
    assert (answered["mlplan"]["lost"], answered["mlplan"]["doubled"]) == (0, 0)
    served = figures["serve"][0]
    assert served["reminders_sent"] > 0 and served["acks"] > 0 and served["peak_rss_mb"] > 0
    printed = capsys.readouterr().out
    for heading in ("ticks on SQLite", "digest on SQLite", "answers on SQLite", "serve on SQLite"):
        assert f"### {heading}" in printed
