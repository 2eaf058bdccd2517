"""Handle one thing a person did, for every platform: the command front-end, one transaction, the outbox.

An adapter translates its payload into an inbound value (`bot.inbound`) and builds a placement
(`bot.placement`); `Core.handle` does the rest: parses commands, answers `help`, runs the
services, writes the messages that follow into the outbox in the transaction that stores the
change, and, when the database cannot be reached, says so without changing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import inbound as said
from bot.commands import HERE, Command, CommandError, help_text, parse_command
from bot.context import Place, Speaker, workspace_id_of
from bot.conversation import Conversations
from bot.digests import Digests
from bot.dispatch import posts_in_thread, run_command
from bot.documents import Documents
from bot.outcome import Outcome, Sink
from bot.people import People
from bot.placement import Placement, PressedMessage, Row
from bot.tracking import Tracking
from flows.forms import SectionForm
from flows.model import Flow
from flows.replies import Reply, Say
from storage import outbox, people, references
from storage.db import bounded

log = logging.getLogger("mlplan")
DATABASE_DOWN = (
    "mlplan cannot reach its database right now, so nothing was changed."
    " Please try again in a minute."
)
WELCOME = (
    "Hi, I'm mlplan: I run the planning conversation of a machine-learning project (the ML"
    " canvas, a cost estimate, success metrics) and remind owners of milestones and documents."
)
GONE_ITEM = "That item no longer exists."
# Reminder items that are not milestones or documents: a question left for later, a section owed.
OWED_KINDS = ("question", "owed")
# A turn that has not finished by then is given up (and rolled back): the person is told, and
# Slack, answered with a 500, delivers the event again.
DB_TIMEOUT = 2.0
# What a pressed button says it did, in the answered question's place.
# (A follow-up's Keep button sends `keep` as its answer.)
PRESSED_SHOWN = {"skip": "skipped", "later": "left for later", "keep": "kept"}
# What a saved form's message says in its place.
FORM_SAVED = "saved from the form"


@dataclass(frozen=True)
class Handled:
    """What handling an inbound value did, for the adapter to finish its platform's answer.

    `at_once`: replies the placement did not queue, to show now (a slash command's private
    answer, the terminal's output). `outcome`: what the services answered (None when nothing
    lives where the person wrote). `queued`: outbox rows were written, so the sender should run.
    `refusal`: why an act on an item was refused (a form shows it beside its field).
    `errors`: why each refused field of a section's form was refused, by question id.
    `knows_timezone`: the turn knew the speaker's time zone (sent or stored), so there is
    nothing to ask the platform about them.
    """

    at_once: tuple[Reply, ...] = ()
    outcome: Outcome | None = None
    queued: bool = False
    database_down: bool = False
    command: Command | None = None
    refusal: str | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    knows_timezone: bool = False

    @property
    def form(self) -> SectionForm | None:
        """Return the section's form the speaker asked for (or the refused one), if any."""
        return next((r for r in self.at_once if isinstance(r, SectionForm)), None)


class Core:
    """The one place that turns a person's act into stored changes and queued messages."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        flow: Flow,
        conversations: Conversations,
        digests: Digests,
        tracking: Tracking,
        clock: Callable[[], datetime],
        db_timeout: float = DB_TIMEOUT,
    ):
        self.db_timeout = db_timeout
        self.sessions = sessions
        self.flow = flow
        self.conversations = conversations
        self.digests = digests
        self.tracking = tracking
        self.clock = clock
        self.people = People(sessions=sessions)
        self.documents = Documents(sessions=sessions, flow=flow)

    async def handle(
        self, event: said.Inbound, *, place: Place, speaker: Speaker, out: Placement
    ) -> Handled:
        """Handle one inbound value; a database that cannot be reached changes nothing and says so.

        Control characters are removed from everything a person or platform sent first: they
        mean nothing to a reader, and the database may refuse them.
        """
        place, speaker = said.cleaned(place), said.cleaned(speaker)
        turn = _Turn(self, place, speaker, out)
        try:
            return await bounded(turn.run(said.cleaned(event)), self.db_timeout)
        except (SQLAlchemyError, OSError):
            log.exception(
                "database error while handling %s on %s", type(event).__name__, place.platform
            )
            return Handled(at_once=(Say(DATABASE_DOWN),), database_down=True, refusal=DATABASE_DOWN)


class _Turn:
    """One inbound value being handled: its place, speaker, placement and what it queued."""

    def __init__(self, core: Core, place: Place, speaker: Speaker, out: Placement):
        self.core = core
        self.place = place
        self.speaker = speaker
        self.out = out
        self.at_once: list[Reply] = []
        self.queued = False
        self.knows_timezone = False

    def handled(self, outcome: Outcome | None = None, **more) -> Handled:
        more.setdefault("knows_timezone", self.knows_timezone)
        return Handled(tuple(self.at_once), outcome, self.queued, **more)

    async def run(self, event: said.Inbound) -> Handled:
        await self.keep_references()
        if isinstance(event, said.Ran):
            return await self.command(event.text)
        if isinstance(event, said.Typed):
            return await self.typed(event)
        if isinstance(event, said.Edited):
            return await self.edited(event)
        if isinstance(event, said.Pressed):
            return await self.pressed(event)
        if isinstance(event, said.OpenedForm):
            return await self.opened_form(event)
        if isinstance(event, said.SubmittedForm):
            return await self.submitted_form(event)
        if isinstance(event, said.ChoseSection):
            return await self.chose_section(event)
        if isinstance(event, said.ActedOnItem):
            return await self.acted(event)
        if isinstance(event, said.ActedOnProject):
            return await self.acted_on_project(event)
        if isinstance(event, said.Installed):
            return await self.installed(event)
        raise TypeError(f"no handler for {type(event).__name__}")

    # What a person did.

    async def typed(self, event: said.Typed) -> Handled:
        conversations = self.core.conversations
        if event.or_command and not await conversations.asking_here(
            place=self.place,
            now=self.core.clock(),
            speaker=self.speaker,
            direct=event.direct,
            text=event.text,
        ):
            return await self.command(event.text)
        outcome = await conversations.reply(
            place=self.place,
            speaker=self.speaker,
            text=event.text,
            now=self.core.clock(),
            sink=self.sink(),
            event_id=event.event_id,
            source_id=event.source_id,
            direct=event.direct,
        )
        return self.handled(outcome)

    async def edited(self, event: said.Edited) -> Handled:
        outcome = await self.core.conversations.revise(
            place=self.place,
            speaker=self.speaker,
            source_id=event.source_id,
            text=event.text,
            now=self.core.clock(),
            sink=self.sink(),
            event_id=event.event_id,
        )
        return self.handled(outcome)

    async def pressed(self, event: said.Pressed) -> Handled:
        question = self.core.flow.questions.get(event.question_id)
        if question is None:
            return self.handled()
        text = {"answer": event.value, "later": "later"}.get(event.action, "skip")
        shown = PRESSED_SHOWN.get(event.action) or event.shown or PRESSED_SHOWN.get(text, text)
        message = (
            PressedMessage(event.message_id, question.label, shown) if event.message_id else None
        )
        outcome = await self.core.conversations.reply(
            place=self.place,
            speaker=self.speaker,
            text=text,
            now=self.core.clock(),
            sink=self.sink(message),
            event_id=event.event_id,
            expected_question=event.question_id,
            direct=event.direct,
        )
        return self.handled(outcome)

    async def opened_form(self, event: said.OpenedForm) -> Handled:
        """Give the speaker a section's form, prefilled (or say privately why not)."""
        outcome = await self.core.conversations.sections.form(
            place=self.place,
            project_id=event.project_id,
            section_id=event.section_id,
            now=self.core.clock(),
        )
        await self.privately(outcome)
        return self.handled(outcome)

    async def submitted_form(self, event: said.SubmittedForm) -> Handled:
        """Store a section's form; a refused field comes back as the form with its errors."""
        section = next((s for s in self.core.flow.sections if s.id == event.section_id), None)
        pressed = (
            PressedMessage(event.message_id, section.title, FORM_SAVED)
            if event.message_id and section is not None
            else None
        )
        outcome = await self.core.conversations.sections.submit(
            place=self.place,
            speaker=self.speaker,
            project_id=event.project_id,
            section_id=event.section_id,
            values=dict(event.values),
            now=self.core.clock(),
            sink=self.sink(pressed),
            event_id=event.event_id,
        )
        refused = next((r for r in outcome.replies if isinstance(r, SectionForm)), None)
        errors = refused.errors if refused is not None else {}
        refusal = None
        if outcome.private and refused is None and outcome.replies and not outcome.duplicate:
            refusal = " ".join(str(getattr(r, "text", "")) for r in outcome.replies).strip() or None
        return self.handled(outcome, errors=errors, refusal=refusal)

    async def chose_section(self, event: said.ChoseSection) -> Handled:
        """Start a deep dive in the project's conversation, assign it, or leave it for later."""
        conversations, now = self.core.conversations, self.core.clock()
        if event.action == "start":
            outcome = await conversations.sections.start_now(
                place=self.place,
                speaker=self.speaker,
                project_id=event.project_id,
                section_id=event.section_id,
                now=now,
                sink=self.sink(),
            )
        elif event.action == "assign" and event.person:
            outcome = await conversations.assigning.assign(
                place=self.place,
                speaker=self.speaker,
                project_id=event.project_id,
                section=event.section_id,
                person=event.person,
                now=now,
                sink=self.sink(),
            )
        else:
            outcome = await conversations.sections.later(
                place=self.place,
                project_id=event.project_id,
                section_id=event.section_id,
                assign=event.action == "assign",
                now=now,
            )
        if outcome.private:
            await self.privately(outcome)
        return self.handled(outcome)

    async def acted(self, event: said.ActedOnItem) -> Handled:
        if event.kind in OWED_KINDS:
            return await self.acted_on_owed(event)
        try:
            acted = await self.core.tracking.act(
                place=Place(self.place.platform, self.place.workspace),
                speaker=self.speaker,
                kind=event.kind,
                item_id=event.item_id,
                action=event.action,
                due=event.due,
                now=self.core.clock(),
                sink=self.reminder_sink(event) if event.message_id else None,
            )
        except (ValueError, TypeError) as err:
            refusal = str(err).capitalize() + "."
            await self.privately(Outcome((Say(refusal),)))
            return self.handled(refusal=refusal)
        if acted is None:
            await self.privately(Outcome((Say(GONE_ITEM),)))
            return self.handled(refusal=GONE_ITEM)
        return self.handled()

    async def acted_on_owed(self, event: said.ActedOnItem) -> Handled:
        """A reminder's button for an open question or an owed section: answer, snooze, skip."""
        try:
            outcome = await self.core.conversations.owing.act(
                place=Place(self.place.platform, self.place.workspace),
                speaker=self.speaker,
                kind=event.kind,
                item_id=event.item_id,
                action=event.action,
                now=self.core.clock(),
                sink=self.sink(),
                on_acted=self.reminder_sink(event) if event.message_id else None,
            )
        except ValueError as err:
            outcome = Outcome((Say(f"{err}."),), private=True)
        if not outcome.private:
            return self.handled(outcome)
        await self.privately(outcome)
        refusal = " ".join(str(getattr(r, "text", "")) for r in outcome.replies).strip()
        return self.handled(outcome, refusal=refusal or None)

    async def acted_on_project(self, event: said.ActedOnProject) -> Handled:
        """A digest's button: the project's status, or a week's snooze; answered privately."""
        digests, now = self.core.digests, self.core.clock()
        if event.action == "snooze7":
            outcome = await digests.snooze(
                place=self.place, speaker=self.speaker, project_id=event.project_id, now=now
            )
        else:
            name = await digests.name_of(place=self.place, project_id=event.project_id, now=now)
            if name is None:
                outcome = Outcome((Say("That project no longer exists."),))
            else:
                outcome = await self.core.conversations.status(place=self.place, name=name, now=now)
        # Shown where the button was pressed (a digest), not in the project's thread.
        await self.privately(Outcome(outcome.replies))
        return self.handled(outcome)

    async def installed(self, event: said.Installed) -> Handled:
        if event.greet:
            await self.privately(Outcome((Say(f"{WELCOME}\n\n{help_text(self.out.prefix)}"),)))
        return self.handled()

    async def command(self, text: str) -> Handled:
        """Parse and run a command; only `new` and `ask` answer in a project's conversation."""
        prefix = self.out.prefix
        try:
            parsed = parse_command(text, prefix=prefix, channel_of=self.out.channel_of)
        except CommandError as err:
            await self.privately(Outcome((Say(str(err)),)))
            return self.handled()
        if parsed.name == "help":
            await self.privately(Outcome((Say(help_text(prefix)),)))
            return self.handled(command=parsed)
        now = self.core.clock()
        if parsed.name == "digest" and parsed.action == "preview":
            digest = await self.core.digests.preview(
                place=self.place, speaker=self.speaker, now=now
            )
            await self.privately(Outcome((digest,)))
            return self.handled(command=parsed)
        if parsed.name == "digest" and parsed.channel == HERE:
            parsed = replace(parsed, channel=self.out.here)
        if parsed.name == "digest" and parsed.scope == ("channel", HERE):
            if self.out.here is None:
                await self.privately(
                    Outcome((Say("Type `only here` in the channel whose projects you mean."),))
                )
                return self.handled(command=parsed)
            parsed = replace(parsed, scope=("channel", self.out.here))
        in_thread = posts_in_thread(parsed)
        outcome = await run_command(
            parsed,
            place=self.place,
            speaker=self.speaker,
            now=now,
            conversations=self.core.conversations,
            digests=self.core.digests,
            tracking=self.core.tracking,
            sink=self.sink() if in_thread else None,
        )
        if outcome.private or not in_thread:  # else the sink placed it
            await self.privately(outcome)
        return self.handled(outcome, command=parsed)

    # Where the replies go.

    async def keep_references(self) -> None:
        """Keep the references and person facts a platform sends with every request."""
        out = self.out
        if not out.references and not out.remembers_speaker:
            return
        now = self.core.clock()
        async with self.core.sessions() as session:
            workspace_id = await workspace_id_of(session, self.place, now)
            await self._keep(session, workspace_id, out.references, now)
            if out.remembers_speaker and (self.speaker.timezone or self.speaker.name):
                await people.remember(
                    session=session,
                    workspace_id=workspace_id,
                    person=self.speaker.person(),
                    now=now,
                    timezone=self.speaker.timezone,
                )
            await session.commit()

    async def _keep(
        self, session: AsyncSession, workspace_id: int, kept: dict, now: datetime
    ) -> None:
        for key, reference in kept.items():
            await references.remember(
                session=session, workspace_id=workspace_id, key=key, reference=reference, now=now
            )

    def sink(self, pressed: PressedMessage | None = None) -> Sink:
        """Make the sink that places an outcome's messages, inside the transaction that stores it."""

        async def sink(
            session: AsyncSession, workspace_id: int, outcome: Outcome, speaker: Speaker
        ) -> None:
            now = self.core.clock()
            self.knows_timezone = speaker.timezone is not None  # the turn gave it the known zone
            if outcome.created and outcome.project is not None:
                kept = dict(self.out.project_references(outcome.project.id))
                await self._keep(session, workspace_id, kept, now)
            project_id = outcome.project.id if outcome.project else None
            queued = [
                (workspace_id, row.options(project_id))
                for kind, reply in outcome.messages(pressed=pressed is not None)
                for row in self.place_one(outcome, kind, reply, speaker, pressed)
            ]
            if queued:  # in order, in one statement, behind anything added before it
                if session.new:
                    await session.flush()
                await outbox.enqueue_all(
                    session=session, platform=self.out.platform, now=now, messages=queued
                )
                self.queued = True

        return sink

    def place_one(
        self,
        outcome: Outcome,
        kind: str,
        reply: Reply | None,
        speaker: Speaker,
        pressed: PressedMessage | None,
    ) -> list[Row]:
        """Place one message: the rows to queue, or none when it is kept to show at once."""
        rows = self.out.rows(kind, reply, outcome, speaker, pressed)
        if rows is None:
            if reply is not None:
                self.at_once.append(reply)
            return []
        return list(rows)

    def enqueue(
        self,
        session: AsyncSession,
        workspace_id: int,
        row: Row,
        now: datetime,
        project_id: int | None = None,
    ) -> None:
        outbox.enqueue(
            session=session,
            workspace_id=workspace_id,
            platform=self.out.platform,
            now=now,
            **row.options(project_id),
        )
        self.queued = True

    async def privately(self, outcome: Outcome) -> None:
        """Give replies to the speaker alone: at once where the platform can, else queued."""
        private = Outcome(outcome.replies, outcome.project, private=True)
        placed = [
            (reply, self.out.rows("private", reply, private, self.speaker, None))
            for reply in private.replies
        ]
        self.at_once.extend(reply for reply, rows in placed if rows is None)
        queued = [row for _, rows in placed for row in rows or ()]
        if not queued:
            return
        now = self.core.clock()
        project_id = outcome.project.id if outcome.project else None
        async with self.core.sessions() as session:
            workspace_id = await workspace_id_of(session, self.place, now)
            for row in queued:
                self.enqueue(session, workspace_id, row, now, project_id)
            await session.commit()

    def reminder_sink(self, event: said.ActedOnItem):
        """Make the sink that replaces a reminder once one of its items was acted on."""

        async def sink(session: AsyncSession, workspace_id: int, acted, speaker: Speaker) -> None:
            current = event.message
            if current is None:
                payload = await outbox.latest_payload(
                    session=session,
                    workspace_id=workspace_id,
                    platform=self.out.platform,
                    message_id=event.message_id,
                )
                current = self.out.shown_of(payload) if payload is not None else None
            if current is None:
                return
            row = self.out.reminder_update(current, acted, speaker, event.message_id)
            if row is not None:
                self.enqueue(session, workspace_id, row, self.core.clock())

        return sink
