"""Run mlplan's benchmarks at the sizes given, on SQLite and/or PostgreSQL: a table and a JSON file.

    python -m bench [--database sqlite] [--database postgresql://postgres@127.0.0.1:5432/bench]
                    [--ticks 100,1000,10000] [--digest 1000:100] [--backup 1000]
                    [--answers 20x20] [--serve 10000] [--only FIGURE,...] [--json bench.json]

Each `--database` is `sqlite` (a fresh file in a temporary folder for every figure) or the URL
of a database of the bench's own (PostgreSQL): it is emptied before every figure. The figures
(`--only` takes a comma-separated list of their names):

- ticks: at each size N, a workspace of N projects (whole plans, 10 items each) built by
  importing a generated backup file with `mlplan import`'s code, and N/10 digest subscribers;
  the scheduler's `tick` in-process, sending through a fake Slack Web API, at the first tick
  after the import, a quiet minute, the Monday digest (09:00 on Monday: every digest built,
  queued and sent, with the day's reminders) and the first tick of the next day; time, sending
  time, exact SQL statement count, reminders and digests queued, messages sent (`bench.ticks`);
- tick-process: `mlplan tick --now` as a whole process at a quiet minute on the largest ticks
  workspace: wall time and peak RSS (alone, it builds only that workspace);
- digest: P projects (the portfolio of issue 13, imported) and S subscribers, the Monday
  digest step alone, queued and not sent (`bench.digests`);
- backup: `mlplan import` of a file of B whole plans, then `mlplan export --all`, as processes:
  wall time and peak RSS of each (`bench.backup`);
- answers: I intakes answered at once, A answers each, over signed HTTP, against a bare
  slack-bolt app answering each message with one chat.postMessage (`bench.answers`);
- serve: a real `mlplan serve` process over N projects: cold start to the first 200 on
  /healthz, slash-command ack p50/p99 during its first tick of the day (ticked by the process
  it starts beside itself), peak RSS of both (`bench.serve`);
  then the same with the Procfile's `serve --no-scheduler` and a `worker` process.
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

from bench import answers, backup, digests, serve, ticks
from storage import db

FIGURES = ("ticks", "tick-process", "digest", "backup", "answers", "serve")
ITEMS = 10  # milestones and documentation items a project of the backup figure has


def _urls(database: str, folder: Path):
    """Give a fresh database URL for each figure: a new SQLite file, or the URL given again."""
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

    def add(figure: str, kind: str, rows: list[dict]) -> None:
        results["figures"].append({"figure": figure, "database": kind, "rows": rows})

    with tempfile.TemporaryDirectory() as folder:
        for database in options.database:
            urls = _urls(database, Path(folder))
            kind = _kind(database)
            if only & {"ticks", "tick-process"} and options.ticks:
                sizes = [int(s) for s in options.ticks.split(",")]
                # The process runs on the largest workspace: alone, only that one is built.
                sizes = sizes if "ticks" in only else [max(sizes)]
                rows, process = await ticks.measure(
                    next(urls), sizes, process="tick-process" in only
                )
                if "ticks" in only:
                    add("ticks", kind, rows)
                if process:
                    add("tick-process", kind, [process])
            if "digest" in only and options.digest:
                projects, subscribers = (int(s) for s in options.digest.split(":"))
                url = next(urls)
                if database != "sqlite":  # the other figures empty a database they reuse
                    await _empty(url)
                add("digest", kind, [await digests.run(url, projects, subscribers)])
            if "backup" in only and options.backup:
                add("backup", kind, [await backup.measure(next(urls), options.backup, ITEMS)])
            if "answers" in only and options.answers:
                intakes, each = (int(s) for s in options.answers.split("x"))
                add("answers", kind, [await answers.measure(next(urls), intakes, each)])
            if "serve" in only and options.serve:
                rows = [
                    await serve.measure(
                        next(urls), options.serve, quiet=options.quiet, worker=worker
                    )
                    for worker in (False, True)
                ]
                add("serve", kind, rows)
    return results


# How each figure's rows are laid out.
TABLES = {
    "ticks": ticks.table,
    "tick-process": lambda rows: ticks.process_table(rows[0]),
    "digest": lambda rows: digests.table(rows[0]),
    "backup": lambda rows: backup.table(rows[0]),
    "answers": lambda rows: answers.table(rows[0]),
    "serve": serve.table,
}


def report(results: dict) -> str:
    """Lay every figure out as Markdown tables, one per figure and database."""
    parts = [f"mlplan benchmarks, {results['date']}, {results['machine']['cpus']} CPUs"]
    for figure in results["figures"]:
        title = f"\n### {figure['figure']} on {figure['database']}\n"
        parts.append(title + TABLES[figure["figure"]](figure["rows"]))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line, run, print the tables, write the JSON file."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--database", action="append", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--ticks", default="100,1000", help="project counts, comma-separated")
    parser.add_argument("--digest", default="1000:100", help="PROJECTS:SUBSCRIBERS")
    parser.add_argument("--answers", default="20x20", help="INTAKESxANSWERS")
    parser.add_argument("--backup", type=int, default=1000, help="projects to import and export")
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
    unknown = set(options.only.split(",")) - set(FIGURES) if options.only else set()
    if unknown:
        parser.error(f"--only: no figure {', '.join(sorted(unknown))} (one of {','.join(FIGURES)})")
    options.database = options.database or ["sqlite"]
    results = asyncio.run(run(options))
    print(report(results))
    Path(options.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {options.json}")
    return results


if __name__ == "__main__":
    main()
