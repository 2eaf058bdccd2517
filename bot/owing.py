"""Act on what a person owes a plan, from its reminder: a question they left for later is answered
now (asked again in the project's conversation), snoozed a week or skipped; a section assigned
to them goes on (its open question asked again in their direct conversation).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Place, Speaker, workspace_id_of
from bot.outcome import Outcome, Sink
from bot.tracking import Acted
from bot.turns import Position, TurnContext, Turns
from flows import engine
from flows.dates import format_day
from flows.display import person_name
from flows.replies import Ask, Say
from flows.state import Recorded, Turn
from storage import assignments, open_questions
from storage import projects as store

ACTIONS = {"question": ("answer", "snooze7", "skip"), "owed": ("answer",)}
SNOOZE_DAYS = 7
# Called in the act's transaction with what was done, to replace the reminder's buttons.
OnActed = Callable[[AsyncSession, int, Acted, Speaker], Awaitable[None]]


def _private(text: str) -> Outcome:
    return Outcome((Say(text),), private=True)


class Owing:
    """The service behind the buttons of reminders of open questions and owed sections."""

    def __init__(self, turns: Turns):
        self.turns = turns
        self.flow = turns.flow

    async def act(
        self,
        *,
        place: Place,
        speaker: Speaker,
        kind: str,
        item_id: int,
        action: str,
        now: datetime,
        sink: Sink | None = None,
        on_acted: OnActed | None = None,
    ) -> Outcome:
        """Do what a reminder's button asks; a private outcome says why nothing was done."""
        if action not in ACTIONS.get(kind, ()):
            raise ValueError(f"unknown reminder action: {kind} {action}")
        async with self.turns.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            if kind == "question":
                done = await self._question(
                    session, workspace_id, place, speaker, item_id, action, now, sink
                )
            else:
                done = await self._owed(session, workspace_id, place, speaker, item_id, now, sink)
            if isinstance(done, Outcome):
                await session.commit()
                return done
            turn, outcome, acted = done
            if on_acted is not None:
                await on_acted(session, workspace_id, acted, speaker)
            return await self.turns.finish(turn, outcome)

    async def _question(
        self, session, workspace_id, place, speaker, open_id, action, now, sink
    ) -> Outcome | tuple[TurnContext, Outcome, Acted]:
        """Answer now, snooze a week, or skip an open question of the workspace."""
        found = await open_questions.find(
            session=session, workspace_id=workspace_id, open_id=open_id
        )
        question = self.flow.questions.get(found.question_id) if found else None
        if found is None or question is None:
            return _private("That question is no longer part of a plan here.")
        project = await store.get_project(
            session=session, workspace_id=workspace_id, project_id=found.project_id
        )
        if found.closed_at is not None or project is None:
            return _private(f"“{question.label}” is no longer open: it has an answer now.")
        turn = await self.turns.with_timezone(
            TurnContext(session, workspace_id, project, place, speaker, now, sink)
        )
        local = self.turns.local(now, turn.speaker)
        answers = await store.latest_answers(session=session, project_id=project.id)
        info = self.turns.info(project, answers)
        if action == "snooze7":
            revisit = local.date() + timedelta(days=SNOOZE_DAYS)
            await open_questions.snooze(
                session=session, open_id=found.id, revisit_on=revisit, now=now
            )
            shown = f"snoozed: to revisit by {format_day(revisit)}"
            acted = Acted("question", found.id, question.label, shown, project.id)
            return turn, Outcome((), info), acted
        before = self.turns.state(project, answers)
        if action == "answer":
            result = engine.start_edit(self.flow, before, question.id)
            shown = "asked again in the project's conversation"
        elif before.current == question.id:  # open in the conversation too: it moves on there
            result = engine.advance(self.flow, before, "skip", now=local)
            shown = "skipped: it does not apply"
        else:
            skipped = replace(before, answers={**before.answers, question.id: None})
            result = Turn(skipped, (), (Recorded(question.id, None, "skip", skipped=True),))
            shown = "skipped: it does not apply"
        if not any(isinstance(r, Ask) for r in result.replies) and action == "answer":
            return Outcome(result.replies, info, private=True)  # it no longer applies
        after = result.state
        position = Position(after.current, after.walk, tuple(after.sections))
        if not await self.turns.save(turn, result, position, source_id=None, before=before.answers):
            return _private("Someone changed the plan at the same moment: please press it again.")
        stored = Outcome(
            (), self.turns.info(project, dict(after.answers)), stored=True, to_thread=result.replies
        )
        return turn, stored, Acted("question", found.id, question.label, shown, project.id)

    async def _owed(
        self, session, workspace_id, place, speaker, assignment_id, now, sink
    ) -> Outcome | tuple[TurnContext, Outcome, Acted]:
        """Ask the assignee their section's open question again, in their direct conversation."""
        found = await assignments.find(
            session=session, workspace_id=workspace_id, assignment_id=assignment_id
        )
        if found is None or found[0].section_id not in {s.id for s in self.flow.sections}:
            return _private("That section is no longer owed here.")
        owed, project = found
        title = self.flow.section(owed.section_id).title
        if owed.done_at is not None:
            return _private(f"“{title}” of {project.name!r} is answered already: thank you.")
        if owed.assignee.get("id") != speaker.id:
            who = person_name(owed.assignee)
            return _private(f"“{title}” of {project.name!r} was handed to {who} since.")
        answers = await store.latest_answers(session=session, project_id=project.id)
        state = self.turns.state(project, answers)
        sections = (
            state.sections
            if owed.section_id in state.sections
            else (*state.sections, owed.section_id)
        )
        owed_state = replace(
            state, sections=sections, current=owed.current_question_id, walk=owed.section_id
        )
        asked = tuple(r for r in engine.start(self.flow, owed_state).replies if isinstance(r, Ask))
        # The section a direct reply answers is the one most recently asked: this one.
        await assignments.move(
            session=session, assignment_id=owed.id, current=owed.current_question_id, now=now
        )
        turn = TurnContext(session, workspace_id, project, place, speaker, now, sink)
        outcome = Outcome(
            (), self.turns.info(project, answers), stored=True, direct=asked, assignee=owed.assignee
        )
        acted = Acted("owed", owed.id, title, "asked again below", project.id)
        return turn, outcome, acted
