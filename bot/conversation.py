"""Run the planning conversation for any platform: load state, call the engine, store the turn.

Every method that changes a project takes a `sink`: it is called inside the transaction that
stores the turn, so that the messages the turn causes (the outbox) are committed with it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Place, Speaker, workspace_id_of, zone
from bot.outcome import Outcome, ProjectInfo, Sink, unknown_project
from flows import engine, forms, summary
from flows.display import person_name
from flows.model import Flow
from flows.parse import ParseError, parse_user
from flows.progress import progress
from flows.replies import (
    Ask,
    Card,
    CommandRef,
    DeepDives,
    Field,
    IntakeDone,
    Say,
    SectionDone,
    Show,
)
from flows.state import State, Turn
from storage import assignments, outbox, people, tracked
from storage import projects as store
from storage.assignments import Assignment
from storage.projects import Project

MAX_NAME = 80


@dataclass(frozen=True)
class TurnContext:
    """One turn on a project: the open session, where and by whom, when, and where replies go."""

    session: AsyncSession
    workspace_id: int
    project: Project
    place: Place
    speaker: Speaker
    now: datetime
    sink: Sink | None


class Conversations:
    """The conversation service: one per process, shared by every platform adapter."""

    def __init__(self, *, sessions: async_sessionmaker, flow: Flow, default_timezone: ZoneInfo):
        self.sessions = sessions
        self.flow = flow
        self.default_timezone = default_timezone

    def _local(self, now: datetime, speaker: Speaker) -> datetime:
        return now.astimezone(zone(speaker.timezone, self.default_timezone))

    def _info(self, project: Project, answers: dict[str, Any]) -> ProjectInfo:
        return ProjectInfo(
            id=project.id,
            name=project.name,
            owner=project.owner,
            progress=progress(self.flow, answers),
            channel=project.channel_id,
            thread=project.thread_id,
        )

    def _state(self, project: Project, answers: dict[str, Any]) -> State:
        return State(
            name=project.name,
            sections=tuple(project.sections),
            current=project.current_question_id,
            answers=answers,
            walk=project.walking_section,
        )

    async def _with_timezone(
        self, session: AsyncSession, workspace_id: int, speaker: Speaker
    ) -> Speaker:
        if speaker.timezone is not None:
            return speaker
        known = await people.timezone(
            session=session, workspace_id=workspace_id, person_id=speaker.id
        )
        return replace(speaker, timezone=known) if known else speaker

    async def _in_thread(
        self, session: AsyncSession, place: Place, now: datetime
    ) -> tuple[int, Project | None]:
        """Return the workspace's id and the project whose thread this place is, if any."""
        workspace_id = await workspace_id_of(session, place, now)
        if place.channel is None or place.thread is None:
            return workspace_id, None
        project = await store.project_in_thread(
            session=session,
            workspace_id=workspace_id,
            channel_id=place.channel,
            thread_id=place.thread,
        )
        return workspace_id, project

    async def asking_here(
        self,
        *,
        place: Place,
        now: datetime,
        speaker: Speaker | None = None,
        direct: bool = False,
    ) -> bool:
        """Tell whether a question is open at this place (a reply answers it).

        In a direct conversation, a section the speaker owes counts too.
        """
        async with self.sessions() as session:
            workspace_id, project = await self._in_thread(session, place, now)
            owed = None
            if direct and speaker is not None:
                owed = await assignments.open_for(
                    session=session, workspace_id=workspace_id, person_id=speaker.id
                )
            await session.commit()
        return owed is not None or (project is not None and project.current_question_id is not None)

    async def _finish(
        self,
        session: AsyncSession,
        workspace_id: int,
        outcome: Outcome,
        speaker: Speaker,
        sink: Sink | None,
    ) -> Outcome:
        """Let the sink place the outcome's messages, then commit them with the turn."""
        if sink is not None:
            await sink(session, workspace_id, outcome, speaker)
        await session.commit()
        return outcome

    async def _done(self, turn: TurnContext, outcome: Outcome) -> Outcome:
        return await self._finish(turn.session, turn.workspace_id, outcome, turn.speaker, turn.sink)

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
            outcome = Outcome(first.replies, self._info(project, {}), stored=True, created=True)
            return await self._finish(session, workspace_id, outcome, speaker, sink)

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
            turn = engine.start(self.flow, self._state(project, answers))
            return Outcome(turn.replies, self._info(project, answers))

    async def _turn(
        self, session: AsyncSession, place: Place, speaker: Speaker, now: datetime, sink
    ) -> TurnContext | None:
        """Open a turn on the project whose thread this place is; None when none lives there."""
        workspace_id, project = await self._in_thread(session, place, now)
        if project is None:
            return None
        return TurnContext(session, workspace_id, project, place, speaker, now, sink)

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
            turn = await self._turn(session, place, speaker, now, sink)
            if direct:
                workspace_id = (
                    turn.workspace_id if turn else await workspace_id_of(session, place, now)
                )
                owed = await assignments.open_for(
                    session=session, workspace_id=workspace_id, person_id=speaker.id
                )
                if owed is not None and (
                    turn is None
                    or turn.project.current_question_id is None
                    or owed.updated_at >= turn.project.updated_at
                ):
                    project = await store.get_project(
                        session=session, workspace_id=workspace_id, project_id=owed.project_id
                    )
                    owing = TurnContext(session, workspace_id, project, place, speaker, now, sink)
                    return await self._answer_owed(
                        owing, owed, text, event_id, source_id, expected_question
                    )
            if turn is None:
                return None

            def step(state: State, local_now: datetime) -> Turn | Outcome:
                if expected_question is not None and expected_question != state.current:
                    label = self.flow.questions[expected_question].label
                    gone = f"“{label}” is no longer the open question, so that button does nothing now."
                    info = self._info(turn.project, dict(state.answers))
                    return Outcome((Say(gone),), info, private=True)
                return engine.advance(self.flow, state, text, now=local_now)

            return await self._take(turn, text, step, source_id=source_id, event_id=event_id)

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
            turn = await self._turn(session, place, speaker, now, sink)
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

                return await self._take(turn, text, step, source_id=source_id, event_id=event_id)
        return await self.reply(
            place=place,
            speaker=speaker,
            text=text,
            now=now,
            sink=sink,
            event_id=event_id,
            source_id=source_id,
        )

    async def _take(
        self,
        turn: TurnContext,
        text: str,
        step: Callable[[State, datetime], Turn | Outcome],
        *,
        source_id: str | None,
        event_id: str | None,
    ) -> Outcome:
        """Run one engine step on a project's state in the speaker's time, and store its turn.

        A repeated `event_id` does nothing; a step may answer with an Outcome instead of a turn.
        """
        session, platform = turn.session, turn.place.platform
        if event_id is not None and not await outbox.first_time(
            session=session, platform=platform, event_id=event_id, now=turn.now
        ):
            return Outcome((), duplicate=True)
        answers = await store.latest_answers(session=session, project_id=turn.project.id)
        state = self._state(turn.project, answers)
        turn = replace(
            turn, speaker=await self._with_timezone(session, turn.workspace_id, turn.speaker)
        )
        result = step(state, self._local(turn.now, turn.speaker))
        if isinstance(result, Outcome):
            return await self._done(turn, result)
        dedupe = (platform, event_id) if event_id else None
        return await self._store(turn, state, result, text, source_id=source_id, dedupe=dedupe)

    async def _project_by_id(
        self, session: AsyncSession, place: Place, project_id: int, now: datetime
    ) -> tuple[int, Project | None]:
        workspace_id = await workspace_id_of(session, place, now)
        project = await store.get_project(
            session=session, workspace_id=workspace_id, project_id=project_id
        )
        return workspace_id, project

    def _form_refused(self, project: Project | None, section_id: str) -> Outcome | None:
        """Say privately why a form cannot be shown or saved; None when it can."""
        if project is None:
            return Outcome((Say("That project no longer exists here."),), private=True)
        if section_id not in {s.id for s in self.flow.sections}:
            return Outcome((Say(f"The plan has no section {section_id!r} now."),), private=True)
        return None

    async def section_form(
        self, *, place: Place, project_id: int, section_id: str, now: datetime
    ) -> Outcome:
        """Show one section of a project as a form, prefilled, for the speaker alone."""
        async with self.sessions() as session:
            _, project = await self._project_by_id(session, place, project_id, now)
            await session.commit()
            refused = self._form_refused(project, section_id)
            if refused is not None:
                return refused
            answers = await store.latest_answers(session=session, project_id=project.id)
        form = forms.form_of(
            self.flow, section_id, answers, project_id=project.id, project=project.name
        )
        info = self._info(project, answers)
        if not form.fields:
            title = form.section.title
            none = f"No question of “{title}” applies to this plan, given its other answers."
            return Outcome((Say(none),), info, private=True)
        return Outcome((form,), info, private=True)

    async def submit_form(
        self,
        *,
        place: Place,
        speaker: Speaker,
        project_id: int,
        section_id: str,
        values: dict[str, str],
        now: datetime,
        sink: Sink | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Store a whole section's form in one turn: every changed answer a new version.

        The answers are the speaker's, read in their time zone by the parsers typed answers go
        through. A refused field stores nothing: the outcome is the form again, with its errors,
        for the speaker alone.
        """
        async with self.sessions() as session:
            workspace_id, project = await self._project_by_id(session, place, project_id, now)
            refused = self._form_refused(project, section_id)
            if refused is not None:
                await session.commit()
                return refused
            turn = TurnContext(session, workspace_id, project, place, speaker, now, sink)
            author = speaker.person()

            def step(state: State, local_now: datetime) -> Turn | Outcome:
                result = forms.submit(
                    self.flow,
                    state,
                    section_id,
                    values,
                    now=local_now,
                    author=author,
                    project_id=project.id,
                )
                if isinstance(result, Turn) and result.recorded:
                    return result
                replies = result.replies if isinstance(result, Turn) else (result,)
                return Outcome(replies, self._info(project, dict(state.answers)), private=True)

            title = self.flow.section(section_id).title
            return await self._take(
                turn, f"the form of “{title}”", step, source_id=forms.SOURCE, event_id=event_id
            )

    async def ask_section(
        self,
        *,
        place: Place,
        speaker: Speaker,
        name: str,
        section: str,
        now: datetime,
        sink: Sink | None = None,
    ) -> Outcome:
        """Reopen one section of an existing project in its conversation."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await store.find_project(
                session=session, workspace_id=workspace_id, name=name
            )
            if project is None:
                return unknown_project(
                    await store.similar_names(
                        session=session, workspace_id=workspace_id, name=name
                    ),
                    name,
                )
            chosen = self.flow.find_section(section)
            if chosen is None:
                names = ", ".join(f"`{s.id}`" for s in self.flow.sections)
                no_section = f"There is no section {section!r}. Sections: {names}."
                return Outcome((Say(no_section),), private=True)
            turn = TurnContext(session, workspace_id, project, place, speaker, now, sink)
            return await self._walk(turn, chosen.id)

    async def _walk(self, turn: TurnContext, section_id: str) -> Outcome:
        """Walk one section of the turn's project in its conversation, from its first question."""
        answers = await store.latest_answers(session=turn.session, project_id=turn.project.id)
        before = self._state(turn.project, answers)
        started = engine.start_walk(self.flow, before, section_id)
        return await self._store(turn, before, started, f"ask {section_id}")

    async def open_section(
        self,
        *,
        place: Place,
        speaker: Speaker,
        project_id: int,
        section_id: str,
        now: datetime,
        sink: Sink | None = None,
    ) -> Outcome:
        """Start a deep dive now (its button): walk the section in the project's conversation."""
        async with self.sessions() as session:
            workspace_id, project = await self._project_by_id(session, place, project_id, now)
            refused = self._form_refused(project, section_id)
            if refused is not None:
                await session.commit()
                return refused
            turn = TurnContext(session, workspace_id, project, place, speaker, now, sink)
            return await self._walk(turn, section_id)

    async def later(
        self, *, place: Place, project_id: int, section_id: str, assign: bool, now: datetime
    ) -> Outcome:
        """Say privately how to reach a deep dive later, or how to assign it by command."""
        async with self.sessions() as session:
            _, project = await self._project_by_id(session, place, project_id, now)
            await session.commit()
        refused = self._form_refused(project, section_id)
        if refused is not None:
            return refused
        title = self.flow.section(section_id).title
        if assign:
            text = (
                f"To hand “{title}” to someone, mention them: ",
                CommandRef("assign", (project.name, section_id, "@person")),
                ".",
            )
        else:
            text = (
                f"“{title}” waits for later: ",
                CommandRef("ask", (project.name, section_id)),
                " opens it any time.",
            )
        return Outcome((Say(text),), self._info(project, {}), private=True)

    async def assign_section(
        self,
        *,
        place: Place,
        speaker: Speaker,
        section: str,
        person: str,
        now: datetime,
        name: str | None = None,
        project_id: int | None = None,
        sink: Sink | None = None,
    ) -> Outcome:
        """Ask a person one section of a project in a direct conversation; the thread says so.

        The project is named (a command) or given by id (a deep dive's button). The section's
        questions are walked with that person, each with its current answer, as `ask` does.
        """
        try:
            assignee = parse_user(person)
        except ParseError as err:
            return Outcome((Say(f"I could not tell whom to assign it to. {err}"),), private=True)
        if "id" not in assignee:
            need = "Mention the person (type @ and pick them) so that I can write to them."
            return Outcome((Say(need),), private=True)
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            if project_id is not None:
                project = await store.get_project(
                    session=session, workspace_id=workspace_id, project_id=project_id
                )
            else:
                project = await store.find_project(
                    session=session, workspace_id=workspace_id, name=name or ""
                )
            if project is None:
                if project_id is not None:
                    return Outcome((Say("That project no longer exists here."),), private=True)
                close = await store.similar_names(
                    session=session, workspace_id=workspace_id, name=name or ""
                )
                return unknown_project(close, name or "")
            chosen = self.flow.find_section(section)
            if chosen is None:
                names = ", ".join(f"`{s.id}`" for s in self.flow.sections)
                no_section = f"There is no section {section!r}. Sections: {names}."
                return Outcome((Say(no_section),), private=True)
            answers = await store.latest_answers(session=session, project_id=project.id)
            owed_state = State(name=project.name, sections=(chosen.id,), answers=answers)
            first = engine.start_walk(self.flow, owed_state, chosen.id)
            ask = first.replies[-1]
            if not isinstance(ask, Ask) or first.state.walk != chosen.id:
                none = f"No question of “{chosen.title}” applies to this plan, given its other answers."
                return Outcome((Say(none),), private=True)
            await assignments.assign(
                session=session,
                project_id=project.id,
                section_id=chosen.id,
                assignee=assignee,
                assigned_by=speaker.person(),
                current=first.state.current,
                now=now,
            )
            who, by = person_name(assignee), person_name(speaker.person())
            owes = Say(
                f"{who} owes “{chosen.title}” ({ask.total} questions), assigned by {by}:"
                " I asked them in a direct message."
            )
            hello = Say(
                f"{by} asked you to answer “{chosen.title}” of the plan {project.name!r}."
                " Reply here (or in this message's thread) to answer; `skip`, `back` and `help`"
                " work as in the project's thread."
            )
            outcome = Outcome(
                (owes,),
                self._info(project, answers),
                stored=True,
                direct=(hello, ask),
                assignee=assignee,
            )
            turn = TurnContext(session, workspace_id, project, place, speaker, now, sink)
            return await self._done(turn, outcome)

    async def _answer_owed(
        self,
        turn: TurnContext,
        owed: Assignment,
        text: str,
        event_id: str | None,
        source_id: str | None,
        expected_question: str | None,
    ) -> Outcome:
        """Take a message that answers a section the speaker owes, in a direct conversation.

        The answers are the project's like any other (versions with their author); the
        project's own open question stays as it is, and the assignment keeps its place.
        """
        session, project = turn.session, turn.project
        if event_id is not None and not await outbox.first_time(
            session=session, platform=turn.place.platform, event_id=event_id, now=turn.now
        ):
            return Outcome((), duplicate=True)
        turn = replace(
            turn, speaker=await self._with_timezone(session, turn.workspace_id, turn.speaker)
        )
        answers = await store.latest_answers(session=session, project_id=project.id)
        info = self._info(project, answers)
        state = self._state(project, answers)
        sections = state.sections
        if owed.section_id not in sections:
            sections = (*sections, owed.section_id)
        before = replace(
            state, sections=sections, current=owed.current_question_id, walk=owed.section_id
        )
        if expected_question is not None and expected_question != before.current:
            label = self.flow.questions[expected_question].label
            gone = f"“{label}” is no longer the open question, so that button does nothing now."
            return await self._done(turn, Outcome((Say(gone),), info, private=True, in_direct=True))
        result = engine.advance(self.flow, before, text, now=self._local(turn.now, turn.speaker))
        if result.state == before:
            return await self._done(turn, Outcome(result.replies, info, in_direct=True))
        await people.remember(
            session=session,
            workspace_id=turn.workspace_id,
            person=turn.speaker.person(),
            now=turn.now,
            timezone=turn.speaker.timezone,
        )
        stored = await store.save_turn(
            session=session,
            project=project,
            expected_turn=project.turn,
            current=project.current_question_id,
            walking=project.walking_section,
            recorded=[(r.question_id, r.value, r.raw, r.skipped) for r in result.recorded],
            author=turn.speaker.person(),
            now=turn.now,
            done=result.done,
            source_id=source_id,
        )
        if not stored:
            await session.rollback()
            again = "Someone changed the plan at the same moment: please send that again."
            return await self._done(turn, Outcome((Say(again),), info, in_direct=True))
        finished = result.state.current is None or result.state.walk != owed.section_id
        await assignments.move(
            session=session,
            assignment_id=owed.id,
            current=None if finished else result.state.current,
            now=turn.now,
        )
        answers = dict(result.state.answers)
        await self._track(turn, result, answers)
        replies, to_thread = result.replies, ()
        if finished:
            title = self.flow.section(owed.section_id).title
            done = tuple(r for r in result.replies if isinstance(r, SectionDone))
            ended = tuple(r for r in result.replies if isinstance(r, IntakeDone | DeepDives))
            intake = ended if any(isinstance(r, IntakeDone) for r in ended) else ()
            who = person_name(turn.speaker.person())
            thanks = Say(
                f"Thank you: that was the last question of “{title}”. The project's thread has it."
            )
            replies = (*done, thanks)
            to_thread = (Say(f"{who} answered “{title}”."), *done, *intake)
        outcome = Outcome(
            replies,
            self._info(project, answers),
            stored=True,
            done=result.done,
            in_direct=True,
            to_thread=to_thread,
        )
        return await self._done(turn, outcome)

    async def edit_question(
        self, *, place: Place, speaker: Speaker, text: str, now: datetime, sink: Sink | None = None
    ) -> Outcome:
        """Ask one question of a project again in its conversation (`edit <project> <question>`).

        The project's name may have spaces and so may the question's label: the longest project
        name the words start with is the project, the rest names the question.
        """
        words = text.split()
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            for cut in range(len(words) - 1, 0, -1):
                project = await store.find_project(
                    session=session, workspace_id=workspace_id, name=" ".join(words[:cut])
                )
                if project is not None:
                    break
            else:
                name = " ".join(words[:-1]) or text
                close = await store.similar_names(
                    session=session, workspace_id=workspace_id, name=name
                )
                return unknown_project(close, name)
            wanted = " ".join(words[cut:])
            question = self.flow.find_question(wanted)
            if question is None:
                return Outcome((Say(self._no_question(wanted)),), private=True)
            answers = await store.latest_answers(session=session, project_id=project.id)
            turn = TurnContext(session, workspace_id, project, place, speaker, now, sink)
            before = self._state(project, answers)
            started = engine.start_edit(self.flow, before, question.id)
            return await self._store(turn, before, started, f"edit {question.id}")

    def _no_question(self, wanted: str) -> str:
        labels = {q.label.lower(): q for q in self.flow.questions.values()}
        close = difflib.get_close_matches(wanted.lower(), list(labels), n=3, cutoff=0.5)
        hint = (
            " Did you mean " + ", ".join(f"“{labels[c].label}” (`{labels[c].id}`)" for c in close)
            if close
            else " Name it by its label or id, as `status` shows it"
        )
        return f"There is no question {wanted!r} in the plan.{hint}."

    async def _store(
        self,
        turn: TurnContext,
        before: State,
        result: Turn,
        text: str,
        *,
        source_id: str | None = None,
        dedupe: tuple[str, str] | None = None,
    ) -> Outcome:
        """Store an engine turn (answers, position, tracked items) unless another answer won."""
        session, project, speaker = turn.session, turn.project, turn.speaker
        info_before = self._info(project, dict(before.answers))
        if result.state == before:
            return await self._done(turn, Outcome(result.replies, info_before, done=result.done))
        await people.remember(
            session=session,
            workspace_id=turn.workspace_id,
            person=speaker.person(),
            now=turn.now,
            timezone=speaker.timezone,
        )
        stored = await store.save_turn(
            session=session,
            project=project,
            expected_turn=project.turn,
            current=result.state.current,
            sections=list(result.state.sections),
            walking=result.state.walk,
            recorded=[(r.question_id, r.value, r.raw, r.skipped) for r in result.recorded],
            author=speaker.person(),
            now=turn.now,
            done=result.done,
            source_id=source_id,
        )
        if not stored:
            await session.rollback()
            return await self._conflict(turn, info_before, before, text, dedupe)
        answers = dict(result.state.answers)
        await self._track(turn, result, answers)
        outcome = Outcome(
            result.replies, self._info(project, answers), stored=True, done=result.done
        )
        return await self._done(turn, outcome)

    async def _track(self, turn: TurnContext, result: Turn, answers: dict[str, Any]) -> None:
        """Keep the project's stage and its milestones and documentation items as answered."""
        recorded = [self.flow.questions[r.question_id] for r in result.recorded]
        if any(q.id == "stage" for q in recorded):
            await store.set_stage(
                session=turn.session, project_id=turn.project.id, stage=answers.get("stage")
            )
        if any(q.milestone or q.doc for q in recorded):
            for kind in ("milestone", "doc"):
                items = summary.milestones(self.flow, answers, kind=kind)
                await tracked.sync(
                    session=turn.session,
                    project_id=turn.project.id,
                    kind=kind,
                    items=items,
                    now=turn.now,
                )

    async def _conflict(
        self,
        turn: TurnContext,
        info: ProjectInfo,
        before: State,
        text: str,
        dedupe: tuple[str, str] | None,
    ) -> Outcome:
        """Say that someone else answered first, in a new transaction (the turn's was rolled back)."""
        async with self.sessions() as session:
            latest = None
            if before.current is not None:
                latest = await store.latest_answer(
                    session=session, project_id=info.id, question_id=before.current
                )
            who = person_name(latest.author) if latest else "Someone"
            said = f" ({latest.raw!r})" if latest else ""
            message = (
                f"{who} answered this question a moment before you{said}, so your answer {text!r}"
                " was not saved. Send `back` to return to it if yours should replace theirs."
            )
            if dedupe is not None:  # the rollback dropped it: this event is handled all the same
                platform, event_id = dedupe
                await outbox.first_time(
                    session=session, platform=platform, event_id=event_id, now=turn.now
                )
            fresh = replace(turn, session=session)
            return await self._done(fresh, Outcome((Say(message),), info))

    async def status(self, *, place: Place, name: str, now: datetime) -> Outcome:
        """Show a project's status card."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await store.find_project(
                session=session, workspace_id=workspace_id, name=name
            )
            if project is None:
                return unknown_project(
                    await store.similar_names(
                        session=session, workspace_id=workspace_id, name=name
                    ),
                    name,
                )
            answers = await store.latest_answers(session=session, project_id=project.id)
            left = await store.left_for_later(
                session=session, project_id=project.id, marker=engine.LATER
            )
            later = {
                qid: (
                    person_name(answer.author),
                    answer.created_at.date() + timedelta(days=engine.REVISIT_DAYS),
                )
                for qid, answer in left.items()
            }
            card = summary.status_card(self.flow, self._state(project, answers), later)
            owed = await assignments.of_project(session=session, project_id=project.id)
            if owed:
                fields = [
                    Field(
                        f"Owed: {self.flow.section(a.section_id).title}",
                        person_name(a.assignee),
                        person=a.assignee,
                    )
                    for a in owed
                    if a.section_id in {s.id for s in self.flow.sections}
                ]
                card = replace(card, fields=(*card.fields, *fields))
            return Outcome((Show(card),), self._info(project, answers))

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
                fields.append(Field(project.name, f"{stage}, {done} of {total} questions"))
        if not fields:
            return Outcome((Say("No projects yet. Start one with `new <project name>`."),))
        return Outcome((Show(Card(title=f"{len(fields)} project(s)", fields=tuple(fields))),))
