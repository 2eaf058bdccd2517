"""Measure backup and restore: `mlplan import` of N projects, then `mlplan export --all` of them.

It writes a file of N whole plans (every question answered, a tenth of them in two versions,
ITEMS milestones and documentation items each) as `export --all` writes them, empties the
database given (every row of it: use a database of its own), imports the file with the real
`mlplan import` in a subprocess, exports it again with `mlplan export --all`, checks that the
export holds N lines, and prints wall time and peak memory (max RSS) of each command, and a JSON
line with the same figures. Run it from the repo root:

    python -m bench.backup [--database-url URL] [-n 10000] [--items 10] [--json FILE]

The default database is a SQLite file in a temporary folder; for PostgreSQL pass e.g.
`--database-url postgresql://postgres@127.0.0.1:5432/wt_backup`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.model import default_flow
from storage import db
from tests.bot.backup_files import Planned, project_line
from tests.conftest import empty_tables

_SCRIPT = Path(sys.executable).with_name("mlplan")
MLPLAN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bot"]
# A fixed moment: the generated plans and their due dates do not depend on the day it runs.
MOMENT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def write_file(path: Path, n: int, items: int) -> None:
    """Write n generated projects, one JSON line each, in one Slack workspace."""
    flow = default_flow()
    with path.open("w", encoding="utf-8") as out:
        for number in range(n):
            owner = {"id": f"U{number % 97:04d}", "name": f"person {number % 97}"}
            planned = [
                Planned(
                    "milestone" if i % 2 == 0 else "doc",
                    f"Item {i}",
                    MOMENT.date() + timedelta(days=7 * i - 20),
                    {"id": f"U{(number + i) % 97:04d}"},
                    status="done" if i == 0 else "open",
                )
                for i in range(items)
            ]
            out.write(
                project_line(
                    flow,
                    number=number,
                    workspace="slack:TBENCH",
                    now=MOMENT,
                    owner=owner,
                    items=planned,
                )
                + "\n"
            )


async def empty(database_url: str) -> None:
    """Migrate the database to head and delete every row of it."""
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        await empty_tables(engine)
    finally:
        await engine.dispose()


def run(database_url: str, *args: str) -> tuple[float, float, str]:
    """Run an mlplan command; return its wall time (s), its own peak memory (MB) and its output."""
    env = {**os.environ, "DATABASE_URL": database_url, "MLPLAN_TIMEZONE": "UTC"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen([*MLPLAN, *args], env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # the rusage of this child alone
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"mlplan {' '.join(args)} failed:\n{err.read()}")
        return elapsed, usage.ru_maxrss / 1024, out.read()


def main(database_url: str | None, n: int, items: int, json_file: Path | None) -> dict:
    """Run the benchmark and return its figures."""
    with tempfile.TemporaryDirectory() as folder:
        database_url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        source, exported = Path(folder) / "projects.jsonl", Path(folder) / "exported.jsonl"
        started = time.perf_counter()
        write_file(source, n, items)
        generated = time.perf_counter() - started
        asyncio.run(empty(database_url))
        import_s, import_mb, said = run(
            database_url, "import", str(source), "--now", MOMENT.isoformat()
        )
        export_s, export_mb, _ = run(database_url, "export", "--all", "-o", str(exported))
        lines = sum(1 for _ in exported.open(encoding="utf-8"))
        if lines != n:
            raise SystemExit(f"export --all wrote {lines} lines, not {n}")
        figures = {
            "database": database_url.split("://")[0],
            "projects": n,
            "items_per_project": items,
            "file_mb": round(source.stat().st_size / 2**20, 1),
            "generate_s": round(generated, 2),
            "import_s": round(import_s, 2),
            "import_peak_mb": round(import_mb, 1),
            "export_s": round(export_s, 2),
            "export_peak_mb": round(export_mb, 1),
            "import_said": said.strip(),
        }
    print(f"{'':>8} {'wall s':>8} {'peak MB':>8}   ({n} projects, {figures['file_mb']} MB file)")
    print(f"{'import':>8} {figures['import_s']:>8} {figures['import_peak_mb']:>8}")
    print(f"{'export':>8} {figures['export_s']:>8} {figures['export_peak_mb']:>8}")
    print(json.dumps(figures))
    if json_file:
        json_file.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="the database to fill (every row is deleted)")
    parser.add_argument("-n", type=int, default=10_000, help="projects (default 10,000)")
    parser.add_argument("--items", type=int, default=10, help="items per project (default 10)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    main(args.database_url, args.n, args.items, args.json)
