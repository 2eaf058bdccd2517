"""The `mlplan` command line: serve, chat, db upgrade, export, import."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.redaction import RedactingFormatter, redact
from bot.settings import Settings, SettingsError, load_settings
from flows.counting import counted

if TYPE_CHECKING:
    from bot.app import Runtime
    from bot.ticker import WorkerArguments

log = logging.getLogger("mlplan")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 moment such as 2026-11-30T09:00:00+01:00: {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _running_from(start: datetime | None) -> Callable[[], datetime] | None:
    """Return a clock that reads `start` now and runs on at the real pace (None: the real clock)."""
    if start is None:
        return None
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlplan", description="Plan machine-learning projects in Slack, Teams or the terminal."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="serve /slack/events, /api/messages and /healthz over HTTP"
    )
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT, else 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default: 0.0.0.0)")
    serve.add_argument(
        "--no-scheduler", action="store_true", help="do not run the scheduler in this process"
    )
    serve.add_argument(
        "--now",
        type=_moment,
        help="start the clock at this moment, ISO 8601 (tests, rehearsals); it runs on from there",
    )

    commands.add_parser(
        "socket", help="serve Slack over Socket Mode (needs SLACK_APP_TOKEN), with the scheduler"
    )
    worker = commands.add_parser(
        "worker", help="run the scheduler alone: reminders and digests, every minute"
    )
    worker.add_argument(
        "--now",
        type=_moment,
        help="start the clock at this moment, ISO 8601 (tests, rehearsals); it runs on from there",
    )
    # Started by `serve` or `socket` as their scheduler: no greeting, and gone with the server.
    worker.add_argument("--beside-server", action="store_true", help=argparse.SUPPRESS)
    tick = commands.add_parser("tick", help="do, once, everything due at a moment")
    tick.add_argument(
        "--now", type=_moment, help="the moment, ISO 8601 (default: now); naive means UTC"
    )

    chat = commands.add_parser("chat", help="plan a project in the terminal")
    chat.add_argument("--user", help="who you are (default: your login name)")

    database = commands.add_parser("db", help="database maintenance")
    database.add_argument(
        "action", choices=["upgrade"], help="upgrade: apply migrations up to head"
    )

    export = commands.add_parser(
        "export", help="print a project's whole plan, or every project (--all) as JSON lines"
    )
    export.add_argument("project", nargs="?", help="the project's name")
    export.add_argument(
        "--all", action="store_true", help="every project (of --workspace), one JSON line each"
    )
    export.add_argument(
        "--format",
        choices=["md", "json", "jsonl"],
        help="md or json for one project (default md); jsonl for --all",
    )
    export.add_argument(
        "--workspace",
        help="platform:id: the workspace of the project, or the one --all exports",
    )
    export.add_argument(
        "--output", "-o", type=Path, help="write to this file instead of standard output"
    )
    restore = commands.add_parser(
        "import", help="recreate the projects of a file written by `export --all`"
    )
    restore.add_argument(
        "file", type=Path, help="JSON lines from `export --all`, or one `--format json` document"
    )
    restore.add_argument(
        "--workspace", help="platform:id: import into this workspace, not each document's own"
    )
    restore.add_argument(
        "--replace",
        action="store_true",
        help="replace a project whose name the workspace already has (else: refused)",
    )
    restore.add_argument(
        "--now",
        type=_moment,
        help="the moment of the restore, ISO 8601 (default: now): reminders due until then"
        " count as sent",
    )
    package = commands.add_parser(
        "teams-package", help="write the Teams app package (manifest and icons) to upload"
    )
    package.add_argument(
        "--base-url", required=True, help="the public https address of `mlplan serve`"
    )
    package.add_argument("--app-id", help="the bot's Microsoft App ID (default: MICROSOFT_APP_ID)")
    package.add_argument("--version", default="1.0.0", help="the app version (default: 1.0.0)")
    package.add_argument(
        "--output", "-o", type=Path, default=Path("mlplan-teams.zip"), help="the zip to write"
    )
    manifest = commands.add_parser(
        "slack-manifest", help="write the Slack app manifest (YAML) with every URL filled in"
    )
    manifest.add_argument(
        "--base-url", required=True, help="the public https address of `mlplan serve`"
    )
    manifest.add_argument(
        "--output", "-o", type=Path, help="write to this file instead of standard output"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one mlplan command; return the exit status."""
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for noisy in ("alembic", "apscheduler"):  # a line per migration step or per minute is noise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except SettingsError as err:
        _complain(err)
        return 2
    handler = {
        "serve": _serve,
        "socket": _socket,
        "worker": _worker,
        "tick": _tick,
        "chat": _chat,
        "db": _db,
        "export": _export,
        "import": _import,
        "teams-package": _teams_package,
        "slack-manifest": _slack_manifest,
    }[args.command]
    try:
        return asyncio.run(handler(settings, args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`mlplan export x | head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:  # logged, not raised: Python's own traceback would show URLs' passwords
        log.exception("mlplan %s stopped on an error", args.command)
        return 1


def _complain(message: object) -> None:
    """Print one line to standard error, with every URL's password hidden."""
    print(f"mlplan: {redact(str(message))}", file=sys.stderr)


async def _teams_package(settings: Settings, args: argparse.Namespace) -> int:
    from bot.teams.package import build_package

    app_id = args.app_id or settings.microsoft_app_id
    if not app_id:
        _complain("set MICROSOFT_APP_ID or pass --app-id")
        return 2
    try:
        path = build_package(
            app_id=app_id, base_url=args.base_url, version=args.version, output=args.output
        )
    except ValueError as err:
        _complain(err)
        return 2
    print(
        f"Wrote {path}: upload it in Teams (Apps → Manage your apps → Upload an app) or in the"
        " Teams admin center (Manage apps → Upload new app)."
    )
    return 0


async def _slack_manifest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.slack.manifest import manifest_yaml

    try:
        text = manifest_yaml(base_url=args.base_url, slash_command=settings.mlplan_slash_command)
    except ValueError as err:
        _complain(err)
        return 2
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(
        f"Wrote {args.output}: paste it at https://api.slack.com/apps → Create New App → From an"
        " app manifest."
    )
    return 0


async def _db(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_runtime

    runtime = await build_runtime(settings)
    await runtime.close()
    print("Database is at the latest revision.")
    return 0


def _export_usage(args: argparse.Namespace) -> str | None:
    """Say what is wrong with a combination of export's arguments, or None."""
    if args.all and args.project:
        return "export takes a project's name or --all, not both"
    if not args.all and not args.project:
        return "export needs a project's name, or --all for every project"
    if args.all and args.format not in (None, "jsonl"):
        return "export --all writes --format jsonl (one JSON document a line)"
    if not args.all and args.format == "jsonl":
        return "--format jsonl is for --all; one project is md or json"
    return None


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_runtime
    from flows.export import to_markdown

    problem = _export_usage(args)
    if problem:
        _complain(problem)
        return 2
    if args.all:
        return await _export_all(settings, args)
    runtime = await build_runtime(settings)
    try:
        document = await runtime.core.documents.document(
            name=args.project, workspace=args.workspace
        )
    except LookupError as err:
        _complain(err)
        return 1
    finally:
        await runtime.close()
    text = (
        json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if args.format == "json"
        else to_markdown(document)
    )
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


async def _export_all(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_runtime
    from bot.backup import export_all

    runtime = await build_runtime(settings)
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        await export_all(runtime.core.documents, out, workspace=args.workspace)
    except LookupError as err:
        _complain(err)
        return 1
    finally:
        if args.output:
            out.close()
        await runtime.close()
    return 0


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_runtime
    from bot.backup import Malformed, Refused, restore

    if not args.file.is_file():
        _complain(f"cannot read {args.file}: no such file")
        return 1
    runtime = await build_runtime(settings)
    now = args.now or runtime.clock()
    try:
        done = await restore(
            sessions=runtime.sessions,
            flow=runtime.flow,
            path=args.file,
            workspace=args.workspace,
            replace=args.replace,
            now=now,
            today=now.astimezone(settings.timezone).date(),
        )
    except Malformed as err:
        _complain(f"{args.file}: {err}")
        return 1
    except Refused as err:
        for line in err.lines:
            _complain(line)
        return 1
    except LookupError as err:
        _complain(err)
        return 2
    finally:
        await runtime.close()
    replaced = f" ({done.replaced} replaced)" if done.replaced else ""
    print(
        f"Imported {counted(done.projects, 'project')} into"
        f" {', '.join(done.workspaces) or 'no workspace'}{replaced}:"
        f" {counted(done.answers, 'answer version')},"
        f" {counted(done.items, 'milestone or documentation item')},"
        f" {counted(done.owed, 'open question or section owed', 'open questions and sections owed')},"
        f" {counted(done.subscribers, 'digest subscription')};"
        f" {counted(done.told, 'owner notice or reminder occasion')} up to now count as already"
        " sent."
    )
    return 0


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    import getpass

    from bot.app import build_runtime
    from bot.terminal.chat import Chat
    from bot.terminal.console import typed_lines
    from bot.terminal.render import TerminalRenderer, supports_colour

    logging.getLogger().setLevel(logging.WARNING)
    runtime = await build_runtime(settings)
    user = args.user or getpass.getuser() or "you"
    chat = Chat(
        core=runtime.core,
        user=user,
        out=sys.stdout,
        renderer=TerminalRenderer(colour=supports_colour(sys.stdout)),
        clock=runtime.clock,
    )
    try:
        await chat.run(typed_lines(sys.stdin))
    finally:
        await runtime.close()
    return 0


def _stop_on_signals() -> asyncio.Event:
    """Return an event set by SIGINT or SIGTERM, so that shutdown finishes in-flight sends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _listen(host: str, port: int) -> socket.socket | None:
    """Bind the server's socket, or say in one line naming PORT why it cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as err:
        reason = "it is in use" if err.errno == errno.EADDRINUSE else err.strerror or err
        _complain(
            f"PORT: cannot listen on port {port} of {host} ({reason}); stop what listens"
            " there, or set PORT (or --port) to a free port"
        )
        return None


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import build_runtime, build_web_app, connection_hint, settle_memory

    port = args.port or settings.port
    # Bound first, so that a port in use stops mlplan before it migrates or starts ticking.
    sock = _listen(args.host, port)
    if sock is None:
        return 1
    with sock:  # closed here too if mlplan stops before the server owns it
        runtime = await build_runtime(settings, clock=_running_from(args.now))
        app = build_web_app(
            runtime,
            run_scheduler=not args.no_scheduler,
            worker=_worker_beside(runtime, rehearsing=args.now is not None),
        )
        runner = web.AppRunner(app, access_log=None)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
            settle_memory()
            print(f"mlplan is serving on http://{args.host}:{port} (GET /healthz).", flush=True)
            print(connection_hint(settings), flush=True)
            await _stop_on_signals().wait()
        finally:
            await runner.cleanup()
            await runtime.close()
    return 0


async def _socket(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_runtime, run_socket_mode, settle_memory

    if settings.slack_app_token is None or settings.slack_bot_token is None:
        _complain(
            "`mlplan socket` needs SLACK_APP_TOKEN (xapp-…, with connections:write)"
            " and SLACK_BOT_TOKEN (xoxb-…)"
        )
        return 2
    runtime = await build_runtime(settings)
    settle_memory()
    stop = _stop_on_signals()
    print("mlplan is connecting to Slack over Socket Mode.", flush=True)
    try:
        await run_socket_mode(
            runtime, stop=stop, run_scheduler=True, worker=_worker_beside(runtime)
        )
    finally:
        await runtime.close()
    return 0


def _worker_beside(runtime: Runtime, *, rehearsing: bool = False) -> WorkerArguments:
    """The arguments of the scheduler process a server starts beside itself (`tick_apart`)."""
    return lambda: [
        "worker",
        "--beside-server",
        *(["--now", runtime.clock().isoformat()] if rehearsing else []),
    ]


async def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_platforms, build_runtime
    from bot.ticker import die_with_the_server

    if args.beside_server:
        die_with_the_server()
    runtime = await build_runtime(
        settings, migrate=not args.beside_server, clock=_running_from(args.now)
    )
    platforms = build_platforms(runtime)
    ticker = platforms.start_ticking(runtime)
    if not args.beside_server:
        print("mlplan worker is running: reminders and digests, checked every minute.", flush=True)
    try:
        await _stop_on_signals().wait()
    finally:
        await ticker.stop()
        await platforms.drain()
        await runtime.close()
    return 0


async def _tick(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_platforms, build_runtime

    runtime = await build_runtime(settings)
    try:
        report = await build_platforms(runtime).scheduler.tick(args.now or runtime.clock())
    finally:
        await runtime.close()
    print(
        f"{counted(report.reminders, 'reminder')}, {counted(report.digests, 'digest')} and"
        f" {counted(report.assignments, 'new-owner notice')} queued;"
        f" {counted(report.sent, 'message')} sent."
    )
    return 0
