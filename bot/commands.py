"""Parse mlplan's commands (`new`, `status`, `list`, `ask`, `help`) the same way on every platform."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

USAGE = {
    "new": "new <project name>",
    "status": "status <project>",
    "list": "list",
    "ask": "ask <project> <section>",
    "edit": "edit <project> <question>",
    "assign": "assign <project> <section> <@person>",
    "milestone": "milestone add <project>; <title>; <owner>; <due> | milestone list <project> | milestone done <project>; <title>",
    "doc": "doc add <project>; <what>; <owner>; <due>[; <link>] | doc list <project> | doc done <project>; <what>[; <link>]",
    "digest": (
        "digest subscribe [#channel|here] [only #channel|only here|tag <tag>] [weekly|fortnightly]"
        " | digest unsubscribe [#channel|here] | digest preview | digest tag <project>; <tags>"
    ),
    "help": "help",
}
SUMMARY = {
    "new": "start planning a project here; answer the questions in its thread",
    "status": "how far a project's plan is",
    "list": "every project of this workspace",
    "ask": "answer one section of a project (again) in its thread",
    "edit": "answer one question of a project again in its thread",
    "assign": "ask someone one section of a project in a direct message; the thread says who owes it",
    "milestone": "a project's milestones after the intake (owners are reminded)",
    "doc": "a project's documentation items (model card, runbook …) and their links",
    "digest": (
        "the weekly digest of every project (or of a channel's, or a tag's), to you or a channel"
    ),
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
    action: str | None = None
    channel: str | None = None
    fields: tuple[str, ...] = ()
    # `digest subscribe`: which projects (("channel", id) or ("tag", name)), and how often.
    scope: tuple[str, str] | None = None
    every_weeks: int = 1


def _lead(prefix: str) -> str:
    """Write what comes before a command's name: `/mlplan `, nothing, or `/` (the terminal's)."""
    return prefix if prefix in ("", "/") else f"{prefix} "


def help_text(prefix: str) -> str:
    """Describe every command, prefixed as the platform types it (`/mlplan` or nothing)."""
    lead = _lead(prefix)
    lines = [f"`{lead}{USAGE[name]}`: {SUMMARY[name]}" for name in USAGE]
    lines.append(
        "In a project's thread, reply to answer; `skip`, `later`, `back`, `status` and `help`"
        " work there too."
    )
    return "\n".join(lines)


def _no_channel(text: str) -> str | None:
    return None


def parse_command(
    text: str, *, prefix: str = "", channel_of: Callable[[str], str | None] = _no_channel
) -> Command:
    """Parse the text after the command prefix into a Command, or raise CommandError.

    `channel_of` reads a channel the way the platform writes one (a Slack channel link); where
    a platform has none, `here` names the channel or chat the command was typed in.
    """
    word, _, rest = text.strip().partition(" ")
    name, rest = word.lower(), rest.strip()
    lead = _lead(prefix)
    if not name or name == "help":
        return Command("help")
    if name not in USAGE:
        close = difflib.get_close_matches(name, list(USAGE), n=1, cutoff=0.6)
        hint = f" Did you mean `{lead}{USAGE[close[0]]}`?" if close else ""
        raise CommandError(f"I don't know the command `{word}`.{hint}\n{help_text(prefix)}")
    if name == "list":
        return Command("list")
    if name == "digest":
        return _digest(rest, lead, channel_of)
    if name in ("milestone", "doc"):
        return _tracked(name, rest, lead)
    if not rest:
        raise CommandError(f"Usage: `{lead}{USAGE[name]}`")
    if name == "assign":
        return _assign(rest, lead)
    if name == "ask":
        project, _, section = rest.rpartition(" ")
        if not project.strip():
            raise CommandError(f"Usage: `{lead}{USAGE['ask']}`, e.g. `{lead}ask churn model costs`")
        return Command("ask", project=project.strip(), section=section)
    return Command(name, project=rest)


# The person at the end of `assign`: a neutral mention (its name may hold spaces) or one word.
_PERSON_AT_END = re.compile(r"^(?P<lead>.*?)\s+(?P<person>@\{[^{}]*\}|\S+)\s*$")


def _assign(rest: str, lead: str) -> Command:
    example = f"e.g. `{lead}assign churn model data @ann`"
    usage = f"Usage: `{lead}{USAGE['assign']}`, {example}"
    match = _PERSON_AT_END.match(rest)
    if match is None or "@" not in match["person"]:
        raise CommandError(f"Name the person last, as a mention. {usage}")
    project, _, section = match["lead"].strip().rpartition(" ")
    if not project.strip():
        raise CommandError(usage)
    return Command("assign", project=project.strip(), section=section, fields=(match["person"],))


# `digest subscribe here`: the channel or chat the command was typed in.
HERE = "here"


PERIODS = {"weekly": 1, "fortnightly": 2}


def _digest(rest: str, lead: str, channel_of: Callable[[str], str | None]) -> Command:
    action, _, target = rest.partition(" ")
    action, target = action.lower(), target.strip()
    usage = f"Usage: `{lead}{USAGE['digest']}`"
    if action not in ("subscribe", "unsubscribe", "preview", "tag"):
        raise CommandError(usage)
    if action == "tag":
        project, _, tags = target.partition(";")
        if not project.strip():
            raise CommandError(f"{usage}, e.g. `{lead}digest tag churn model; retail, q3`")
        words = [t.strip().lower() for t in tags.replace(",", " ").split() if t.strip()]
        return Command("digest", action="tag", project=project.strip(), fields=tuple(words))
    if action == "preview" or not target:
        return Command("digest", action=action)

    def channel(word: str) -> str:
        if word.lower() == HERE:
            return HERE
        found = channel_of(word)
        if found is None:
            raise CommandError(
                f"I could not read {word!r} as a channel: pick it with `#` so that it shows as a"
                f" link, or type `here` in the channel. {usage}"
            )
        return found

    words = target.split()
    where, scope, every = None, None, 1
    while words:
        word = words.pop(0)
        if word.lower() in PERIODS and action == "subscribe":
            every = PERIODS[word.lower()]
        elif word.lower() in ("only", "tag") and action == "subscribe":
            if not words:
                raise CommandError(f"`{word}` needs a channel or a tag after it. {usage}")
            value = words.pop(0)
            if word.lower() == "only":
                scope = ("channel", channel(value))
            else:
                scope = ("tag", value.lower())
        elif where is None:
            where = channel(word)
        else:
            raise CommandError(f"I did not understand {word!r}. {usage}")
    return Command("digest", action=action, channel=where, scope=scope, every_weeks=every)


# How many `;`-separated parts each action takes after the project: (fewest, most).
_TRACKED_PARTS = {
    ("milestone", "add"): (3, 3),
    ("milestone", "done"): (1, 1),
    ("doc", "add"): (3, 4),
    ("doc", "done"): (1, 2),
}


def _tracked(name: str, rest: str, lead: str) -> Command:
    action, _, arguments = rest.partition(" ")
    action = action.lower()
    usage = f"Usage: `{lead}{USAGE[name]}`"
    if action == "list":
        project = arguments.strip()
        if not project:
            raise CommandError(usage)
        return Command(name, action="list", project=project)
    if (name, action) not in _TRACKED_PARTS:
        raise CommandError(usage)
    project, *fields = [part.strip() for part in arguments.split(";")]
    fewest, most = _TRACKED_PARTS[(name, action)]
    if not project or not fewest <= len(fields) <= most or not all(fields[:fewest]):
        raise CommandError(
            f"{usage}, e.g. `{lead}{name} add churn model; Labels checked; @ann; in 2 weeks`"
        )
    return Command(name, action=action, project=project, fields=tuple(fields))
