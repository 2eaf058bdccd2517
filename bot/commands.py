"""Parse mlplan's commands (`new`, `status`, `list`, `ask`, `help`) the same way on every platform."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

USAGE = {
    "new": "new <project name>",
    "status": "status <project>",
    "list": "list",
    "ask": "ask <project> <section>",
    "help": "help",
}
SUMMARY = {
    "new": "start planning a project here; answer the questions in its thread",
    "status": "how far a project's plan is",
    "list": "every project of this workspace",
    "ask": "answer one section of a project (again) in its thread",
    "help": "this help",
}


class CommandError(ValueError):
    """A command that cannot be run; the message says what to type instead."""


@dataclass(frozen=True)
class Command:
    """A parsed command: its name and arguments."""

    name: str
    project: str | None = None
    section: str | None = None


def help_text(prefix: str) -> str:
    """Describe every command, prefixed as the platform types it (`/mlplan` or nothing)."""
    lead = f"{prefix} " if prefix else ""
    lines = [f"`{lead}{USAGE[name]}`: {SUMMARY[name]}" for name in USAGE]
    lines.append(
        "In a project's thread, reply to answer; `skip`, `back`, `status` and `help` work there too."
    )
    return "\n".join(lines)


def parse_command(text: str, *, prefix: str = "") -> Command:
    """Parse the text after the command prefix into a Command, or raise CommandError."""
    word, _, rest = text.strip().partition(" ")
    name, rest = word.lower(), rest.strip()
    lead = f"{prefix} " if prefix else ""
    if not name or name == "help":
        return Command("help")
    if name not in USAGE:
        close = difflib.get_close_matches(name, list(USAGE), n=1, cutoff=0.6)
        hint = f" Did you mean `{lead}{USAGE[close[0]]}`?" if close else ""
        raise CommandError(f"I don't know the command `{word}`.{hint}\n{help_text(prefix)}")
    if name == "list":
        return Command("list")
    if not rest:
        raise CommandError(f"Usage: `{lead}{USAGE[name]}`")
    if name == "ask":
        project, _, section = rest.rpartition(" ")
        if not project.strip():
            raise CommandError(f"Usage: `{lead}{USAGE['ask']}`, e.g. `{lead}ask churn model costs`")
        return Command("ask", project=project.strip(), section=section)
    return Command(name, project=rest)
