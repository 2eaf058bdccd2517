"""Run the planning conversation in the terminal, against the same database as the bots."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TextIO

from bot.conversation import Conversations, Outcome, Place, Speaker
from bot.terminal.console import scrub, strip_controls
from bot.terminal.render import TerminalRenderer
from flows import export

WORKSPACE = "local"
CHANNEL = "terminal"
HELP = """Commands:
  /new <project name>        start planning a project
  /list                      list the projects
  /status [<project>]        show how far a project is
  /ask <project> <section>   answer one section of a project (again)
  /export <project> [json]   print a project's plan as Markdown or JSON
  /quit                      leave; every answer is saved as you give it
While a project is open, type the answer to its question, or skip, back, status or help."""


class Chat:
    """A terminal session for one person: slash commands, and answers to the open question."""

    def __init__(
        self,
        *,
        conversations: Conversations,
        user: str,
        out: TextIO,
        renderer: TerminalRenderer,
        clock: Callable[[], datetime],
    ):
        self.conversations = conversations
        self.speaker = Speaker(id=user, name=user)
        self.out = out
        self.renderer = renderer
        self.clock = clock
        self.project: str | None = None  # the thread id (project id) of the open intake

    def place(self) -> Place:
        """Return the terminal's place, in the open project's thread."""
        return Place("terminal", WORKSPACE, CHANNEL, self.project)

    def show(self, outcome: Outcome) -> None:
        """Print an outcome's replies, with no control characters from what people typed."""
        for reply in outcome.replies:
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
            print("Start a project with `/new <project name>`.", file=self.out, flush=True)
            return
        self.project = str(resumed.project.id)
        print(f"Resuming {strip_controls(resumed.project.name)!r}.", file=self.out)
        self.show(resumed)

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
        now = self.clock()
        if text.startswith("/"):
            command, _, rest = text[1:].partition(" ")
            await self.command(command.lower(), rest.strip(), now)
            return
        if self.project is None:
            print(
                "No project is open. Start one with `/new <project name>` (or /help).",
                file=self.out,
                flush=True,
            )
            return
        outcome = await self.conversations.reply(
            place=self.place(), speaker=self.speaker, text=text, now=now
        )
        if outcome is None:  # the project vanished (deleted in another session)
            self.project = None
            print(
                "That project no longer exists. /list shows the projects.",
                file=self.out,
                flush=True,
            )
            return
        self.show(outcome)

    async def command(self, command: str, rest: str, now: datetime) -> None:
        """Run one slash command."""
        conversations = self.conversations
        if command == "new":
            outcome = await conversations.new_project(
                place=Place("terminal", WORKSPACE, CHANNEL),
                speaker=self.speaker,
                name=rest,
                now=now,
            )
            if outcome.project is not None:
                thread = str(outcome.project.id)
                await conversations.set_thread(
                    place=self.place(),
                    project_id=outcome.project.id,
                    channel=CHANNEL,
                    thread=thread,
                    now=now,
                )
                self.project = thread
                print(
                    f"Planning {strip_controls(outcome.project.name)!r}, owned by {self.speaker.id}.",
                    file=self.out,
                )
            self.show(outcome)
        elif command == "list":
            self.show(await conversations.list_projects(place=self.place(), now=now))
        elif command == "status":
            if not rest and self.project is not None:
                self.show(
                    await conversations.reply(
                        place=self.place(), speaker=self.speaker, text="status", now=now
                    )
                )
            elif not rest:
                print("Usage: /status <project>", file=self.out, flush=True)
            else:
                self.show(await conversations.status(place=self.place(), name=rest, now=now))
        elif command == "ask":
            name, _, section = rest.rpartition(" ")
            if not name or not section:
                print(
                    "Usage: /ask <project> <section>, e.g. `/ask churn model costs`",
                    file=self.out,
                    flush=True,
                )
                return
            outcome = await conversations.ask_section(
                place=self.place(), speaker=self.speaker, name=name, section=section, now=now
            )
            if outcome.project is not None:
                self.project = str(outcome.project.id)
            self.show(outcome)
        elif command == "export":
            await self.export(rest)
        elif command == "help":
            print(HELP, file=self.out, flush=True)
        else:
            print(f"Unknown command /{command}.\n{HELP}", file=self.out, flush=True)

    async def export(self, rest: str) -> None:
        """Print a project's plan of this terminal workspace."""
        name, fmt = rest, "md"
        if rest.endswith((" json", " md")):
            name, _, fmt = rest.rpartition(" ")
        if not name:
            print("Usage: /export <project> [json]", file=self.out, flush=True)
            return
        try:
            document = await self.conversations.document(
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
