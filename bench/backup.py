"""Measure backup and restore: `mlplan import` of N projects, then `mlplan export --all` of them.

It writes a file of N whole plans (every question answered, a tenth of them in two versions,
ITEMS milestones and documentation items each) as `export --all` writes them, empties the
database given (every row of it: use a database of its own), imports the file with the real
`mlplan import` in a subprocess, exports it again with `mlplan export --all`, checks that the
export holds N lines, and prints wall time and peak memory (max RSS) of each command as a
table, and a JSON line with the same figures (`python -m bench --backup N` runs it too). Run it
from the repo root:

    python -m bench.backup [--database-url URL] [-n 10000] [--items 10] [--json FILE]

The default database is a SQLite file in a temporary folder; for PostgreSQL pass e.g.
`--database-url postgresql://postgres@127.0.0.1:5432/wt_backup`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.processes import run
from flows.model import default_flow
from storage import db
from tests.bot.backup_files import Planned, project_line
from tests.conftest import empty_tables

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


async def measure(database_url: str, n: int, items: int) -> dict:
    """Write a file of n projects, import it, export it again; return the figures.

    The commands run in a thread, so that the event loop calling this goes on meanwhile.
    """
    with tempfile.TemporaryDirectory() as folder:
        source, exported = Path(folder) / "projects.jsonl", Path(folder) / "exported.jsonl"
        started = time.perf_counter()
        write_file(source, n, items)
        generated = time.perf_counter() - started
        await empty(database_url)
        import_s, import_mb, said = await asyncio.to_thread(
            run, database_url, "import", str(source), "--now", MOMENT.isoformat()
        )
        export_s, export_mb, _ = await asyncio.to_thread(
            run, database_url, "export", "--all", "-o", str(exported)
        )
        lines = sum(1 for _ in exported.open(encoding="utf-8"))
        if lines != n:
            raise SystemExit(f"export --all wrote {lines} lines, not {n}")
        return {
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


def table(figures: dict) -> str:
    """Lay the figures out as a Markdown table."""
    f = figures
    return "\n".join(
        [
            "| projects | file | command | wall time | peak RSS |",
            "|---|---|---|---|---|",
            f"| {f['projects']:,} | {f['file_mb']} MB | `mlplan import` | {f['import_s']:.2f} s"
            f" | {f['import_peak_mb']} MB |",
            f"| {f['projects']:,} | | `mlplan export --all` | {f['export_s']:.2f} s"
            f" | {f['export_peak_mb']} MB |",
        ]
    )


def main(database_url: str | None, n: int, items: int, json_file: Path | None) -> dict:
    """Run the benchmark, print its table and a JSON line, and return its figures."""
    with tempfile.TemporaryDirectory() as folder:
        database_url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        figures = asyncio.run(measure(database_url, n, items))
    print(table(figures))
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
