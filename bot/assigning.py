"""A section someone else owes: `assign` asks them in a direct conversation, and their replies
there answer it, as theirs, while the project's own thread goes on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.context import Place, Speaker, workspace_id_of
from bot.outcome import Outcome, ProjectInfo, Sink
from bot.turns import Position, TurnContext, Turns
from flows import engine
from flows.counting import counted
from flows.display import person_name
from flows.parse import ParseError, parse_user
from flows.replies import Ask, DeepDives, IntakeDone, Say, SectionDone
from flows.state import State
from storage import assignments
from storage import projects as store
from storage.assignments import Assignment
from storage.projects import Project


class Assigning:
    """The assignment service: hand a section to a person, and take their answers."""

    def __init__(self, turns: Turns):
        self.turns = turns
        self.flow = turns.flow

    async def _project(
        self, session, workspace_id: int, name: str | None, project_id: int | None
    ) -> Project | Outcome:
        if project_id is None:
            return await self.turns.named(session, workspace_id, name or "")
        project = await store.get_project(
            session=session, workspace_id=workspace_id, project_id=project_id
        )
        if project is None:
            return Outcome((Say("That project no longer exists here."),), private=True)
        return project

    async def assign(
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
        async with self.turns.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await self._project(session, workspace_id, name, project_id)
            if isinstance(project, Outcome):
                return project
            chosen = self.turns.find_section(section)
            if isinstance(chosen, Outcome):
                return chosen
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
            info = self.turns.info(project, answers)
            outcome = _handed(chosen.title, ask, assignee, speaker, info)
            turn = TurnContext(session, workspace_id, project, place, speaker, now, sink)
            return await self.turns.finish(turn, outcome)

    async def owed(self, *, place: Place, speaker: Speaker, now: datetime) -> Outcome | None:
        """Ask again the open question of the section this person owes, if they owe one.

        For a place with no direct messages (the terminal): the person reads it when they come.
        """
        async with self.turns.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            owed = await assignments.open_for(
                session=session, workspace_id=workspace_id, person_id=speaker.id
            )
            if owed is None:
                return None
            project = await store.get_project(
                session=session, workspace_id=workspace_id, project_id=owed.project_id
            )
            if project is None:
                return None
            answers = await store.latest_answers(session=session, project_id=project.id)
        state = State(
            name=project.name,
            sections=(owed.section_id,),
            answers=answers,
            current=owed.current_question_id,
            walk=owed.section_id,
        )
        title = self.flow.section(owed.section_id).title
        by = person_name(owed.assigned_by)
        hello = Say(
            f"{by} asked you to answer “{title}” of the plan {project.name!r}. Type your answers"
            " here; `skip`, `back` and `help` work as in the project's conversation."
        )
        asked = engine.start(self.flow, state).replies
        if not any(isinstance(reply, Ask) for reply in asked):
            return None  # nothing of it applies any more, given the plan's other answers
        return Outcome((hello, *asked), self.turns.info(project, answers))

    async def owed_here(
        self, session, workspace_id: int, speaker: Speaker, here: TurnContext | None
    ) -> Assignment | None:
        """Return the section a direct message from the speaker answers, if it answers one.

        It does when they owe one asked more recently than the intake living here, if any.
        """
        owed = await assignments.open_for(
            session=session, workspace_id=workspace_id, person_id=speaker.id
        )
        if owed is None or here is None or here.project.current_question_id is None:
            return owed
        return owed if owed.updated_at >= here.project.updated_at else None

    async def answer(
        self,
        turn: TurnContext,
        owed: Assignment,
        text: str,
        *,
        event_id: str | None,
        source_id: str | None,
        expected_question: str | None,
    ) -> Outcome:
        """Take a message that answers a section the speaker owes, in a direct conversation.

        The answers are the project's like any other (versions with their author); the
        project's own open question stays as it is, and the assignment keeps its place.
        """
        if not await self.turns.first_time(turn, event_id):
            return Outcome((), duplicate=True)
        turn = await self.turns.with_timezone(turn)
        project = turn.project
        answers = await store.latest_answers(session=turn.session, project_id=project.id)
        info = self.turns.info(project, answers)
        state = self.turns.state(project, answers)
        sections = state.sections
        if owed.section_id not in sections:
            sections = (*sections, owed.section_id)
        before = replace(
            state, sections=sections, current=owed.current_question_id, walk=owed.section_id
        )
        if expected_question is not None and expected_question != before.current:
            gone = Say(self.turns.no_longer_open(expected_question))
            return await self.turns.finish(
                turn, Outcome((gone,), info, private=True, in_direct=True)
            )
        local_now = self.turns.local(turn.now, turn.speaker)
        result = engine.advance(self.flow, before, text, now=local_now)
        if result.state == before:
            return await self.turns.finish(turn, Outcome(result.replies, info, in_direct=True))
        # The project's own position stays: only the answers are the project's.
        kept = Position(project.current_question_id, project.walking_section)
        if not await self.turns.save(
            turn, result, kept, source_id=source_id, before=before.answers
        ):
            again = "Someone changed the plan at the same moment: please send that again."
            return await self.turns.finish(turn, Outcome((Say(again),), info, in_direct=True))
        finished = result.state.current is None or result.state.walk != owed.section_id
        await assignments.move(
            session=turn.session,
            assignment_id=owed.id,
            current=None if finished else result.state.current,
            now=turn.now,
        )
        replies, to_thread = result.replies, ()
        if finished:
            replies, to_thread = self._finished(turn, owed, result.replies)
        outcome = Outcome(
            replies,
            self.turns.info(project, dict(result.state.answers)),
            stored=True,
            done=result.done,
            in_direct=True,
            to_thread=to_thread,
        )
        return await self.turns.finish(turn, outcome)

    def _finished(self, turn: TurnContext, owed: Assignment, said: tuple) -> tuple[tuple, tuple]:
        """Return what the assignee and the project's thread read when the section is done."""
        title = self.flow.section(owed.section_id).title
        done = tuple(r for r in said if isinstance(r, SectionDone))
        ended = tuple(r for r in said if isinstance(r, IntakeDone | DeepDives))
        intake = ended if any(isinstance(r, IntakeDone) for r in ended) else ()
        who = person_name(turn.speaker.person())
        thanks = Say(
            f"Thank you: that was the last question of “{title}”. The project's thread has it."
        )
        return (*done, thanks), (Say(f"{who} answered “{title}”."), *done, *intake)


def _handed(
    title: str, ask: Ask, assignee: dict, speaker: Speaker, project: ProjectInfo
) -> Outcome:
    """Say in the thread who owes the section, and ask the assignee its first question directly."""
    who, by = person_name(assignee), person_name(speaker.person())
    owes = Say(
        f"{who} owes “{title}” ({counted(ask.total, 'question')}), assigned by {by}:"
        " I asked them in a direct message."
    )
    hello = Say(
        f"{by} asked you to answer “{title}” of the plan {project.name!r}."
        " Reply here (or in this message's thread) to answer; `skip`, `back` and `help`"
        " work as in the project's thread."
    )
    return Outcome((owes,), project, stored=True, direct=(hello, ask), assignee=assignee)
