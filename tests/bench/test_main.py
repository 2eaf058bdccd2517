"""`python -m bench` runs every figure at a tiny size, prints its tables and writes its JSON file."""

import json

import pytest

from bench.__main__ import FIGURES, main


def test_python_m_bench_runs_every_figure_at_a_tiny_size(database_url, tmp_path, capsys):
    out = tmp_path / "bench.json"
    results = main(
        [
            "--database", database_url,
            "--ticks", "20",
            "--digest", "10:2",
            "--backup", "5",
            "--answers", "2x2",
            "--serve", "5",
            "--quiet", "0.5",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert json.loads(out.read_text()) == results
    figures = {f["figure"]: f["rows"] for f in results["figures"]}
    assert tuple(figures) == FIGURES
    settling, quiet, monday, first = figures["ticks"]
    assert settling["moment"] == "first tick after the import" and settling["sent"] == 0
    assert quiet["sent"] == 0 and quiet["statements"] < first["statements"]
    assert (monday["moment"], monday["subscribers"], monday["digests"]) == ("Monday digest", 2, 2)
    assert monday["sent"] == monday["reminders"] + monday["digests"]
    assert first["reminders"] == first["sent"] > 0
    (process,) = figures["tick-process"]
    assert process["projects"] == 20 and 0 < process["peak_rss_mb"] < 1000
    assert process["said"].endswith("0 messages sent.")
    assert figures["digest"][0]["digests"] == 2
    (backup,) = figures["backup"]
    assert backup["import_said"].startswith("Imported 5 projects into slack:TBENCH:")
    assert backup["import_peak_mb"] > 0 and backup["export_peak_mb"] > 0
    answered = figures["answers"][0]
    assert answered["mlplan"]["answers"] == answered["floor"]["answers"] == 4
    assert (answered["mlplan"]["lost"], answered["mlplan"]["doubled"]) == (0, 0)
    beside, apart = figures["serve"]  # ticking in serve's child, then in a worker of its own
    assert (beside["layout"], apart["layout"]) == (
        "serve (ticks in its child)",
        "serve --no-scheduler + worker",
    )
    for served in (beside, apart):
        assert served["reminders_sent"] > 0 and served["acks"] > 0 and served["peak_rss_mb"] > 0
        assert served["scheduler_peak_rss_mb"] > 0
    printed = capsys.readouterr().out
    kind = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    for figure in FIGURES:
        assert f"### {figure} on {kind}\n|" in printed


def test_only_refuses_a_figure_it_does_not_have(capsys):
    with pytest.raises(SystemExit):
        main(["--only", "ticks,tick"])
    assert "--only: no figure tick (one of ticks,tick-process," in capsys.readouterr().err
