"""Run mlplan's benchmarks at the sizes given, on SQLite and/or PostgreSQL: a table and a JSON file.

    python -m bench [--database sqlite] [--database postgresql://postgres@127.0.0.1:5432/bench]
                    [--ticks 100,1000,10000] [--digest 1000:100] [--answers 20x20]
                    [--serve 10000] [--only ticks,digest,answers,serve] [--json bench.json]

Each `--database` is `sqlite` (a fresh file in a temporary folder for every figure) or a
PostgreSQL URL naming a database of the bench's own: it is emptied before every figure.
The figures:

- ticks: one scheduler tick in-process at each size N (N projects, 10 items each): a quiet
  minute and the first tick of the day; time and exact SQL statement count (`bench.ticks`);
- digest: P projects and S subscribers, the Monday digest step (`bench.digests`);
- answers: I intakes answered at once, A answers each, over signed HTTP, against a bare
  slack-bolt app answering each message with one chat.postMessage (`bench.answers`);
- serve: a real `mlplan serve` process over N projects: cold start to the first 200 on
  /healthz, slash-command ack p50/p99 during its first tick of the day, peak RSS (`bench.serve`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import answers, digests, serve, ticks
from storage import db

FIGURES = ("ticks", "digest", "answers", "serve")


def _urls(database: str, folder: Path):
    """Give a fresh database URL for each figure: a new SQLite file, or the PostgreSQL one."""
    n = 0
    while True:
        n += 1
        yield f"sqlite:///{folder / f'bench{n}.db'}" if database == "sqlite" else database


def _kind(database: str) -> str:
    return "SQLite" if database.startswith("sqlite") else "PostgreSQL"


async def _empty(url: str) -> None:
    """Empty a database the bench reuses: every table dropped and migrated again."""
    engine = db.create_engine(url)
    try:
        await ticks.reset(engine)
    finally:
        await engine.dispose()


async def run(options: argparse.Namespace) -> dict:
    """Run every figure asked for on every database; return them all."""
    only = set(options.only.split(",")) if options.only else set(FIGURES)
    results: dict = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "figures": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        for database in options.database:
            urls = _urls(database, Path(folder))
            kind = _kind(database)
            if "ticks" in only and options.ticks:
                sizes = [int(s) for s in options.ticks.split(",")]
                rows = await ticks.measure(next(urls), sizes)
                results["figures"].append({"figure": "ticks", "database": kind, "rows": rows})
            if "digest" in only and options.digest:
                projects, subscribers = (int(s) for s in options.digest.split(":"))
                url = next(urls)
                if kind == "PostgreSQL":
                    await _empty(url)
                row = await digests.run(url, projects, subscribers)
                results["figures"].append({"figure": "digest", "database": kind, "rows": [row]})
            if "answers" in only and options.answers:
                intakes, each = (int(s) for s in options.answers.split("x"))
                row = await answers.measure(next(urls), intakes, each)
                results["figures"].append({"figure": "answers", "database": kind, "rows": [row]})
            if "serve" in only and options.serve:
                row = await serve.measure(next(urls), options.serve, quiet=options.quiet)
                results["figures"].append({"figure": "serve", "database": kind, "rows": [row]})
    return results


def report(results: dict) -> str:
    """Lay every figure out as Markdown tables, one per figure and database."""
    parts = [f"mlplan benchmarks, {results['date']}, {results['machine']['cpus']} CPUs"]
    for figure in results["figures"]:
        title = f"\n### {figure['figure']} on {figure['database']}\n"
        rows = figure["rows"]
        if figure["figure"] == "ticks":
            body = ticks.table(rows)
        elif figure["figure"] == "digest":
            r = rows[0]
            body = (
                "| projects | subscribers | digest step | statements | digests | messages |\n"
                "|---|---|---|---|---|---|\n"
                f"| {r['projects']:,} | {r['subscribers']:,} | {r['digest_s']} s"
                f" | {r['statements']:,} | {r['digests']:,} | {r['messages']:,} |"
            )
        elif figure["figure"] == "answers":
            body = answers.table(rows[0])
        else:
            body = serve.table(rows[0])
        parts.append(title + body)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line, run, print the tables, write the JSON file."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--database", action="append", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--ticks", default="100,1000", help="project counts, comma-separated")
    parser.add_argument("--digest", default="1000:100", help="PROJECTS:SUBSCRIBERS")
    parser.add_argument("--answers", default="20x20", help="INTAKESxANSWERS")
    parser.add_argument("--serve", type=int, default=1000, help="projects for mlplan serve")
    parser.add_argument(
        "--quiet",
        type=float,
        default=serve.QUIET,
        help="serve: seconds without a reminder that end it",
    )
    parser.add_argument("--only", help=f"some of {','.join(FIGURES)}")
    parser.add_argument("--json", default="bench.json", help="where to write the figures")
    options = parser.parse_args(argv)
    options.database = options.database or ["sqlite"]
    results = asyncio.run(run(options))
    print(report(results))
    Path(options.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {options.json}")
    return results


if __name__ == "__main__":
    main()
