"""Run the planning conversation for any platform: intakes, their threads, status and lists.

The turn machinery lives in `bot.turns`; a section walked, edited or filled in as a form in
`bot.sections`; a section someone else owes in `bot.assigning`. `Conversations` builds the
three on one `Turns` and is what the core and the commands call.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.assigning import Assigning
from bot.context import Place, Speaker, workspace_id_of
from bot.outcome import Outcome, Sink
from bot.owing import Owing
from bot.sections import Sections
from bot.turns import TurnContext, Turns
from flows import engine, summary
from flows.counting import counted
from flows.dates import format_day
from flows.display import person_name
from flows.model import Flow
from flows.progress import progress
from flows.replies import Card, Field, Say, Show
from flows.state import State, Turn
from storage import assignments, open_questions, people
from storage import projects as store
from storage.assignments import Assignment

MAX_NAME = 80


class Conversations:
    """The conversation service: one per process, shared by every platform adapter."""

    def __init__(self, *, sessions: async_sessionmaker, flow: Flow, default_timezone: ZoneInfo):
        self.sessions = sessions
        self.flow = flow
        self.turns = Turns(sessions=sessions, flow=flow, default_timezone=default_timezone)
        self.sections = Sections(self.turns)
        self.assigning = Assigning(self.turns)
        self.owing = Owing(self.turns)

    async def asking_here(
        self,
        *,
        place: Place,
        now: datetime,
        speaker: Speaker | None = None,
        direct: bool = False,
        text: str = "",
    ) -> bool:
        """Tell whether a question is open at this place (a reply answers it).

        In a direct conversation, a section the speaker owes counts too; in a project's
        conversation, `edit <question>` (the `text`) is for it even with no question open.
        """
        async with self.sessions() as session:
            workspace_id, project = await self.turns.in_thread(session, place, now)
            owed = None
            if direct and speaker is not None:
                owed = await assignments.open_for(
                    session=session, workspace_id=workspace_id, person_id=speaker.id
                )
            await session.commit()
        if project is not None and self._edits_a_question(text):
            return True
        return owed is not None or (project is not None and project.current_question_id is not None)

    def _edits_a_question(self, text: str) -> bool:
        verb, _, rest = text.strip().partition(" ")
        return verb.lower() == "edit" and self.flow.find_question(rest) is not None

    async def new_project(
        self, *, place: Place, speaker: Speaker, name: str, now: datetime, sink: Sink | None = None
    ) -> Outcome:
        """Create a project owned by the speaker and ask its first question."""
        name = " ".join(name.split())
        if not name:
            return Outcome((Say("Give the project a name, like `new churn model`."),), private=True)
        if len(name) > MAX_NAME:
            too_long = f"Project names are at most {MAX_NAME} characters; that one has {len(name)}."
            return Outcome((Say(too_long),), private=True)
        sections = list(self.flow.core)
        first = engine.start(self.flow, State(name=name, sections=tuple(sections)))
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            await people.remember(
                session=session,
                workspace_id=workspace_id,
                person=speaker.person(),
                now=now,
                timezone=speaker.timezone,
            )
            project = await store.create_project(
                session=session,
                workspace_id=workspace_id,
                name=name,
                owner=speaker.person(),
                sections=sections,
                current=first.state.current,
                now=now,
                channel_id=place.channel,
                thread_id=place.thread,
            )
            if project is None:
                await session.rollback()
                taken = (
                    f"There is already a project called {name!r} here. Use `status {name}` to"
                    " see it, or pick another name."
                )
                return Outcome((Say(taken),), private=True)
            outcome = Outcome(
                first.replies, self.turns.info(project, {}), stored=True, created=True
            )
            return await self.turns.finish(
                TurnContext(session, workspace_id, project, place, speaker, now, sink), outcome
            )

    async def set_thread(
        self, *, place: Place, project_id: int, channel: str, thread: str, now: datetime
    ) -> None:
        """Remember the thread that holds a project's conversation (known once posted)."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await store.get_project(
                session=session, workspace_id=workspace_id, project_id=project_id
            )
            if project is not None:
                await store.set_thread(
                    session=session, project_id=project.id, channel_id=channel, thread_id=thread
                )
                await session.commit()

    async def resume(self, *, place: Place, speaker: Speaker, now: datetime) -> Outcome | None:
        """Ask the open question of the intake this person was last working on, if any."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await store.last_open_project(
                session=session, workspace_id=workspace_id, person_id=speaker.id
            )
            if project is None:
                return None
            answers = await store.latest_answers(session=session, project_id=project.id)
            turn = engine.start(self.flow, self.turns.state(project, answers))
            return Outcome(turn.replies, self.turns.info(project, answers))

    async def reply(
        self,
        *,
        place: Place,
        speaker: Speaker,
        text: str,
        now: datetime,
        sink: Sink | None = None,
        event_id: str | None = None,
        source_id: str | None = None,
        expected_question: str | None = None,
        direct: bool = False,
    ) -> Outcome | None:
        """Take a message typed in a project's thread; None when no project lives there.

        `event_id` makes a retried delivery of the same event a no-op; `expected_question` is
        the question a button belonged to, refused politely when it is no longer open. In a
        direct conversation (`direct`) the message answers the section the speaker owes, if
        they owe one and it was asked more recently than any intake living there.
        """
        async with self.sessions() as session:
            opened = await self.turns.read(session, place, now, speaker=speaker, with_answers=True)
            turn = self.turns.context(session, opened, place, speaker, now, sink)
            if direct:
                workspace_id = opened.workspace_id
                owed = await self.assigning.owed_here(session, workspace_id, speaker, turn)
                if owed is not None:
                    project = await store.get_project(
                        session=session, workspace_id=workspace_id, project_id=owed.project_id
                    )
                    owing = TurnContext(
                        session, workspace_id, project, place, speaker, now, sink, opened.person
                    )
                    return await self.assigning.answer(
                        owing,
                        owed,
                        text,
                        event_id=event_id,
                        source_id=source_id,
                        expected_question=expected_question,
                    )
            if turn is None:
                return None

            def step(state: State, local_now: datetime) -> Turn | Outcome:
                if expected_question is not None and expected_question != state.current:
                    gone = self.turns.no_longer_open(expected_question)
                    info = self.turns.info(turn.project, dict(state.answers))
                    return Outcome((Say(gone),), info, private=True)
                return engine.advance(self.flow, state, text, now=local_now)

            return await self.turns.take(turn, text, step, source_id=source_id, event_id=event_id)

    async def revise(
        self,
        *,
        place: Place,
        speaker: Speaker,
        source_id: str,
        text: str,
        now: datetime,
        sink: Sink | None = None,
        event_id: str | None = None,
    ) -> Outcome | None:
        """Take an edited message: a new version of the answer it gave.

        An edited message that gave no answer (say, one that was refused) answers the open
        question instead, so that fixing a typo by editing works.
        """
        async with self.sessions() as session:
            turn = await self.turns.open(session, place, speaker, now, sink)
            if turn is None:
                return None
            answered = await store.answer_from_source(
                session=session, project_id=turn.project.id, source_id=source_id
            )
            if answered is not None:

                def step(state: State, local_now: datetime) -> Turn:
                    return engine.revise(
                        self.flow, state, answered.question_id, text, now=local_now
                    )

                return await self.turns.take(
                    turn, text, step, source_id=source_id, event_id=event_id
                )
        return await self.reply(
            place=place,
            speaker=speaker,
            text=text,
            now=now,
            sink=sink,
            event_id=event_id,
            source_id=source_id,
        )

    async def status(self, *, place: Place, name: str, now: datetime) -> Outcome:
        """Show a project's status card."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await self.turns.named(session, workspace_id, name)
            if isinstance(project, Outcome):
                return project
            answers = await store.latest_answers(session=session, project_id=project.id)
            left = await open_questions.of_project(session=session, project_id=project.id)
            later = {q.question_id: (person_name(q.owner), q.revisit_on) for q in left}
            card = summary.status_card(self.flow, self.turns.state(project, answers), later)
            owed = await assignments.of_project(session=session, project_id=project.id)
            if owed:
                known = {s.id for s in self.flow.sections}
                fields = [self._owed(a) for a in owed if a.section_id in known]
                card = replace(card, fields=(*card.fields, *fields))
            return Outcome((Show(card),), self.turns.info(project, answers))

    def _owed(self, owed: Assignment) -> Field:
        """Say who owes a section, since when, and the question they are at."""
        value = f"{person_name(owed.assignee)}, since {format_day(owed.assigned_at.date())}"
        question = self.flow.questions.get(owed.current_question_id or "")
        if question is not None:
            value += f", at “{question.label}”"
        return Field(
            f"Owed: {self.flow.section(owed.section_id).title}", value, person=owed.assignee
        )

    async def list_projects(self, *, place: Place, now: datetime) -> Outcome:
        """List the workspace's projects with stage and progress."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            rows = await store.list_projects(session=session, workspace_id=workspace_id)
            fields = []
            for project in rows:
                answers = await store.latest_answers(session=session, project_id=project.id)
                done, total = progress(self.flow, answers)
                stage = project.stage or "stage not set"
                fields.append(
                    Field(project.name, f"{stage}, {done} of {counted(total, 'question')}")
                )
        if not fields:
            return Outcome((Say("No projects yet. Start one with `new <project name>`."),))
        return Outcome((Show(Card(title=counted(len(fields), "project"), fields=tuple(fields))),))
