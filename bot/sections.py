"""One section of a plan at a time: walked again (`ask`), one question re-asked (`edit`), a deep
dive's buttons, and a whole section shown and stored as one form.
"""

from __future__ import annotations

import difflib
from datetime import datetime

from bot.context import Place, Speaker, workspace_id_of
from bot.outcome import Outcome, Sink, unknown_project
from bot.turns import TurnContext, Turns
from flows import engine, forms
from flows.replies import CommandRef, Say
from flows.state import State, Turn
from storage import projects as store
from storage.projects import Project


class Sections:
    """The section service: walk, edit and fill in a project's sections."""

    def __init__(self, turns: Turns):
        self.turns = turns
        self.flow = turns.flow

    def _refused(self, project: Project | None, section_id: str) -> Outcome | None:
        """Say privately why a button's section cannot be shown or saved; None when it can."""
        if project is None:
            return Outcome((Say("That project no longer exists here."),), private=True)
        if section_id not in {s.id for s in self.flow.sections}:
            return Outcome((Say(f"The plan has no section {section_id!r} now."),), private=True)
        return None

    async def _opened(
        self,
        session,
        place: Place,
        speaker: Speaker,
        now: datetime,
        project_id: int,
        section_id: str,
        sink: Sink | None,
    ) -> TurnContext | Outcome:
        """Open a turn on a button's project and section, or say privately why it cannot be."""
        opened = await self.turns.read(session, place, now, speaker=speaker, project_id=project_id)
        refused = self._refused(opened.project, section_id)
        if refused is not None:
            await session.commit()
            return refused
        return self.turns.context(session, opened, place, speaker, now, sink)

    async def form(
        self, *, place: Place, project_id: int, section_id: str, now: datetime
    ) -> Outcome:
        """Show one section of a project as a form, prefilled, for the speaker alone."""
        async with self.turns.sessions() as session:
            _, project = await self.turns.by_id(session, place, project_id, now)
            await session.commit()
            refused = self._refused(project, section_id)
            if refused is not None:
                return refused
            answers = await store.latest_answers(session=session, project_id=project.id)
        form = forms.form_of(
            self.flow, section_id, answers, project_id=project.id, project=project.name
        )
        info = self.turns.info(project, answers)
        if not form.fields:
            title = form.section.title
            none = f"No question of “{title}” applies to this plan, given its other answers."
            return Outcome((Say(none),), info, private=True)
        return Outcome((form,), info, private=True)

    async def submit(
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
        async with self.turns.sessions() as session:
            turn = await self._opened(session, place, speaker, now, project_id, section_id, sink)
            if isinstance(turn, Outcome):
                return turn
            project, author = turn.project, speaker.person()

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
                return Outcome(replies, self.turns.info(project, dict(state.answers)), private=True)

            title = self.flow.section(section_id).title
            return await self.turns.take(
                turn, f"the form of “{title}”", step, source_id=forms.SOURCE, event_id=event_id
            )

    async def ask(
        self,
        *,
        place: Place,
        speaker: Speaker,
        name: str,
        section: str,
        now: datetime,
        sink: Sink | None = None,
    ) -> Outcome:
        """Reopen one section of an existing project in its conversation (`ask`)."""
        async with self.turns.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            project = await self.turns.named(session, workspace_id, name)
            if isinstance(project, Outcome):
                return project
            chosen = self.turns.find_section(section)
            if isinstance(chosen, Outcome):
                return chosen
            turn = TurnContext(session, workspace_id, project, place, speaker, now, sink)
            return await self._walk(turn, chosen.id)

    async def _walk(self, turn: TurnContext, section_id: str) -> Outcome:
        """Walk one section of the turn's project in its conversation, from its first question."""
        answers = await store.latest_answers(session=turn.session, project_id=turn.project.id)
        before = self.turns.state(turn.project, answers)
        started = engine.start_walk(self.flow, before, section_id)
        return await self.turns.store(turn, before, started, f"ask {section_id}")

    async def start_now(
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
        async with self.turns.sessions() as session:
            turn = await self._opened(session, place, speaker, now, project_id, section_id, sink)
            if isinstance(turn, Outcome):
                return turn
            return await self._walk(turn, section_id)

    async def later(
        self, *, place: Place, project_id: int, section_id: str, assign: bool, now: datetime
    ) -> Outcome:
        """Say privately how to reach a deep dive later, or how to assign it by command."""
        async with self.turns.sessions() as session:
            _, project = await self.turns.by_id(session, place, project_id, now)
            await session.commit()
        refused = self._refused(project, section_id)
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
        return Outcome((Say(text),), self.turns.info(project, {}), private=True)

    async def edit(
        self, *, place: Place, speaker: Speaker, text: str, now: datetime, sink: Sink | None = None
    ) -> Outcome:
        """Ask one question of a project again in its conversation (`edit <project> <question>`).

        The project's name may have spaces and so may the question's label: the longest project
        name the words start with is the project, the rest names the question.
        """
        words = text.split()
        async with self.turns.sessions() as session:
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
            before = self.turns.state(project, answers)
            started = engine.start_edit(self.flow, before, question.id)
            return await self.turns.store(turn, before, started, f"edit {question.id}")

    def _no_question(self, wanted: str) -> str:
        labels = {q.label.lower(): q for q in self.flow.questions.values()}
        close = difflib.get_close_matches(wanted.lower(), list(labels), n=3, cutoff=0.5)
        hint = (
            " Did you mean " + ", ".join(f"“{labels[c].label}” (`{labels[c].id}`)" for c in close)
            if close
            else " Name it by its label or id, as `status` shows it"
        )
        return f"There is no question {wanted!r} in the plan.{hint}."
