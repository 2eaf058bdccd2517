"""Run a parsed command against the services, the same way for every platform.

The core (`bot.core`) parses a command, answers `help`, command errors and a digest preview,
and hands everything else here.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands import Command
from bot.context import Place, Speaker
from bot.conversation import Conversations
from bot.digests import Digests, Scope
from bot.outcome import Outcome, Sink
from bot.tracking import Tracking


def posts_in_thread(parsed: Command) -> bool:
    """Tell whether a command's outcome goes to a project's conversation (else to the speaker)."""
    return parsed.name in ("new", "ask", "edit", "assign")


async def run_command(
    parsed: Command,
    *,
    place: Place,
    speaker: Speaker,
    now: datetime,
    conversations: Conversations,
    digests: Digests,
    tracking: Tracking,
    sink: Sink | None,
) -> Outcome:
    """Run list, status, milestone, doc, digest (un)subscribe, new or ask; return the outcome.

    Only `new` and `ask` post in a project's conversation (through `sink`); the others answer
    privately, and the adapter shows their replies to the speaker alone where it can.
    """
    if parsed.name == "list":
        return await conversations.list_projects(place=place, now=now)
    if parsed.name == "status":
        return await conversations.status(place=place, name=parsed.project, now=now)
    if parsed.name in ("milestone", "doc"):
        return await _tracking_command(
            parsed, place=place, speaker=speaker, now=now, tracking=tracking
        )
    if parsed.name == "digest":
        return await _digest_command(parsed, place=place, speaker=speaker, now=now, digests=digests)
    if parsed.name == "new":
        return await conversations.new_project(
            place=place, speaker=speaker, name=parsed.project, now=now, sink=sink
        )
    if parsed.name == "ask":
        return await conversations.sections.ask(
            place=place,
            speaker=speaker,
            name=parsed.project,
            section=parsed.section,
            now=now,
            sink=sink,
        )
    if parsed.name == "assign":
        return await conversations.assigning.assign(
            place=place,
            speaker=speaker,
            name=parsed.project,
            section=parsed.section,
            person=parsed.fields[0],
            now=now,
            sink=sink,
        )
    if parsed.name == "edit":
        return await conversations.sections.edit(
            place=place, speaker=speaker, text=parsed.project, now=now, sink=sink
        )
    raise ValueError(f"run_command cannot run {parsed.name!r}")


async def _tracking_command(
    parsed: Command, *, place: Place, speaker: Speaker, now: datetime, tracking: Tracking
) -> Outcome:
    """List, add or finish a project's milestones or documentation items."""
    run = {"add": tracking.add, "done": tracking.finish}.get(parsed.action)
    if run is None:
        return await tracking.listing(
            place=place, kind=parsed.name, project=parsed.project, now=now
        )
    return await run(
        place=place,
        speaker=speaker,
        kind=parsed.name,
        project=parsed.project,
        fields=parsed.fields,
        now=now,
    )


async def _digest_command(
    parsed: Command, *, place: Place, speaker: Speaker, now: datetime, digests: Digests
) -> Outcome:
    """Tag a project for the digest, or subscribe to it or unsubscribe."""
    if parsed.action == "tag":
        return await digests.tag(place=place, project=parsed.project, tags=parsed.fields, now=now)
    if parsed.action == "subscribe":
        return await digests.subscribe(
            place=place,
            speaker=speaker,
            channel=parsed.channel,
            now=now,
            scope=Scope(*parsed.scope) if parsed.scope else Scope(),
            every_weeks=parsed.every_weeks,
        )
    return await digests.unsubscribe(place=place, speaker=speaker, channel=parsed.channel, now=now)
