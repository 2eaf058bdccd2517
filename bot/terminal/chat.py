"""Run the planning conversation in the terminal, against the same database as the bots."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TextIO

from bot import inbound as said
from bot.context import Place, Speaker
from bot.core import Core
from bot.terminal.console import scrub, strip_controls
from bot.terminal.placement import PLACEMENT
from bot.terminal.render import TerminalRenderer
from flows import export
from flows.digest import Digest
from flows.parse import mention_token

WORKSPACE = "local"
CHANNEL = "terminal"
HELP = """Commands:
  /new <project name>        start planning a project
  /list                      list the projects
  /status [<project>]        show how far a project is
  /ask <project> <section>   answer one section of a project (again)
  /assign <project> <section> @name
                             hand a section to the person who signs in as `name`
  /export <project> [json]   print a project's plan as Markdown or JSON
  /quit                      leave; every answer is saved as you give it
While a project is open, type the answer to its question, or skip, back, status or help."""


# `@ann` in the terminal names the person who signs in as `mlplan chat --user ann`: it becomes
# the neutral mention (`@{ann|ann}`) that Slack's and Teams' mentions become, so that owners
# and assignees typed here are people mlplan can find again. Emails stay emails.
# `@here`, `@channel` and `@everyone` stay as typed, and are refused as groups as elsewhere.
_HANDLE = re.compile(
    r"(?<![\w@.{|])@(?!(?:channel|here|everyone)\b)(?P<id>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)",
    re.IGNORECASE,
)


def terminal_people(text: str) -> str:
    """Make each `@name` typed in the terminal a mention of the person signed in as `name`."""
    return _HANDLE.sub(lambda m: mention_token(m["id"], m["id"]), text)


class Chat:
    """A terminal session for one person: slash commands, and answers to the open question."""

    def __init__(
        self,
        *,
        core: Core,
        user: str,
        out: TextIO,
        renderer: TerminalRenderer,
        clock: Callable[[], datetime],
    ):
        self.core = core
        self.conversations = core.conversations
        self.speaker = Speaker(id=user, name=user)
        self.out = out
        self.renderer = renderer
        self.clock = clock
        self.project: str | None = None  # the thread id (project id) of the open intake

    def place(self) -> Place:
        """Return the terminal's place, in the open project's thread."""
        return Place("terminal", WORKSPACE, CHANNEL, self.project)

    def show(self, replies) -> None:
        """Print replies, with no control characters from what people typed."""
        for reply in replies:
            if isinstance(reply, Digest):  # a digest preview: its cards, one after another
                for card in reply.cards:
                    print(self.renderer.card(scrub(card)), file=self.out, flush=True)
                continue
            print(self.renderer.render(scrub(reply)), file=self.out, flush=True)

    async def start(self) -> None:
        """Greet, and resume the intake this person left off, if any."""
        print(
            f"mlplan: plan machine-learning projects. Signed in as {self.speaker.id}. /help for commands.",
            file=self.out,
        )
        resumed = await self.conversations.resume(
            place=self.place(), speaker=self.speaker, now=self.clock()
        )
        if resumed is None:
            owed = await self.conversations.assigning.owed(
                place=self.place(), speaker=self.speaker, now=self.clock()
            )
            if owed is not None:
                self.show(owed.replies)
                return
            print("Start a project with `/new <project name>`.", file=self.out, flush=True)
            return
        self.project = str(resumed.project.id)
        print(f"Resuming {strip_controls(resumed.project.name)!r}.", file=self.out)
        self.show(resumed.replies)

    async def run(self, lines: AsyncIterator[str]) -> None:
        """Read lines until /quit or the end of input."""
        await self.start()
        async for line in lines:
            text = strip_controls(line).strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            await self.handle(text)
        print(
            "Bye. Every answer is saved; `mlplan chat` picks up where you left off.",
            file=self.out,
            flush=True,
        )

    async def handle(self, text: str) -> None:
        """Act on one line: a slash command, or an answer in the open intake."""
        if text.startswith("/"):
            command, _, rest = text[1:].partition(" ")
            await self.command(command.lower(), rest.strip())
            return
        text = terminal_people(text)
        if self.project is None:
            # No intake open: the terminal is this person's direct conversation with mlplan,
            # where a section they were assigned is answered.
            handled = await self.core.handle(
                said.Typed(text, direct=True),
                place=self.place(),
                speaker=self.speaker,
                out=PLACEMENT,
            )
            if handled.outcome is None and not handled.database_down:
                print(
                    "No project is open. Start one with `/new <project name>` (or /help).",
                    file=self.out,
                    flush=True,
                )
                return
            self.show(handled.at_once)
            return
        handled = await self.core.handle(
            said.Typed(text), place=self.place(), speaker=self.speaker, out=PLACEMENT
        )
        if handled.outcome is None and not handled.database_down:
            self.project = None  # the project vanished (deleted in another session)
            print(
                "That project no longer exists. /list shows the projects.",
                file=self.out,
                flush=True,
            )
            return
        self.show(handled.at_once)

    async def command(self, command: str, rest: str) -> None:
        """Run one slash command: the terminal's own (`/export`, `/help`), or the core's."""
        if command == "export":
            await self.export(rest)
            return
        if command == "help":
            print(HELP, file=self.out, flush=True)
            return
        if command == "status" and not rest and self.project is not None:
            await self.handle("status")  # the open intake's status, as `status` in its thread
            return
        place = Place("terminal", WORKSPACE, CHANNEL) if command == "new" else self.place()
        text = terminal_people(f"{command} {rest}".strip())
        handled = await self.core.handle(
            said.Ran(text), place=place, speaker=self.speaker, out=PLACEMENT
        )
        outcome = handled.outcome
        if outcome is not None and outcome.created and outcome.project is not None:
            thread = str(outcome.project.id)
            await self.core.conversations.set_thread(
                place=place,
                project_id=outcome.project.id,
                channel=CHANNEL,
                thread=thread,
                now=self.clock(),
            )
            self.project = thread
            name = strip_controls(outcome.project.name)
            print(f"Planning {name!r}, owned by {self.speaker.id}.", file=self.out)
        elif command == "ask" and outcome is not None and outcome.project is not None:
            self.project = str(outcome.project.id)
        self.show(handled.at_once)
        if command == "assign" and outcome is not None and outcome.assignee:
            who = strip_controls(str(outcome.assignee.get("id", "")))
            print(
                f"They read it when they next run `mlplan chat --user {who}`.",
                file=self.out,
                flush=True,
            )

    async def export(self, rest: str) -> None:
        """Print a project's plan of this terminal workspace."""
        name, fmt = rest, "md"
        if rest.endswith((" json", " md")):
            name, _, fmt = rest.rpartition(" ")
        if not name:
            print("Usage: /export <project> [json]", file=self.out, flush=True)
            return
        try:
            document = await self.core.documents.document(
                name=name, workspace=f"terminal:{WORKSPACE}"
            )
        except LookupError as err:
            print(f"Cannot export: {err}.", file=self.out, flush=True)
            return
        text = (
            json.dumps(document, indent=2, ensure_ascii=False)
            if fmt == "json"
            else export.to_markdown(document)
        )
        print(strip_controls(text), file=self.out, flush=True)
