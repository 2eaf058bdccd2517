"""The backup benchmark runs end to end at a tiny size."""

from bench import backup


def test_the_backup_benchmark_imports_and_exports_five_projects(engine, database_url, tmp_path):
    figures = backup.main(database_url, 5, 3, tmp_path / "figures.json")
    assert figures["projects"] == 5
    assert figures["import_said"].startswith("Imported 5 projects into slack:TBENCH:")
    assert "15 milestone or documentation items" in figures["import_said"]
    assert {"import_s", "import_peak_mb", "export_s", "export_peak_mb"} <= set(figures)
    assert (tmp_path / "figures.json").exists()
