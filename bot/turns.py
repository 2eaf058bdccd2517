"""The machinery every conversation service shares: open a turn on a project, run one engine
step in the speaker's time, and store what it recorded, unless another answer won.

Every method that changes a project takes a `sink`: it is called inside the transaction that
stores the turn, so that the messages the turn causes (the outbox) are committed with it.
The services built on it: `bot.conversation` (intakes and threads), `bot.sections` (a section
walked, edited or filled in as a form) and `bot.assigning` (a section someone else owes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Place, Speaker, zone
from bot.outcome import Outcome, ProjectInfo, Sink, unknown_project
from flows import engine, summary
from flows.display import person_name
from flows.model import Flow, Section
from flows.progress import progress
from flows.replies import Say
from flows.state import State, Turn
from storage import open_questions, outbox, people, tracked
from storage import projects as store
from storage.people import Person
from storage.projects import Answers, Project
from storage.turns import Opened, open_turn

# What `step` gives `Turns.take`: the engine's turn, or an outcome that stores nothing.
Step = Callable[[State, datetime], Turn | Outcome]


@dataclass(frozen=True)
class TurnContext:
    """One turn on a project: the open session, where and by whom, when, and where replies go.

    `person`: what is stored of the speaker, when it was read with the project (`Turns.read`);
    None when it was not read or nothing is stored yet (then it is read where it is needed).
    `answers`: the project's latest answers, when they were read with it (else `take` reads them).
    """

    session: AsyncSession
    workspace_id: int
    project: Project
    place: Place
    speaker: Speaker
    now: datetime
    sink: Sink | None
    person: Person | None = None
    answers: Answers | None = None


@dataclass(frozen=True)
class Position:
    """Where a project's conversation stands after a turn (what `save_turn` writes back)."""

    current: str | None
    walking: str | None
    sections: tuple[str, ...] | None = None  # None: the project's sections stay as they are


class Turns:
    """Open, run and store turns on projects: one per process, shared by the services."""

    def __init__(self, *, sessions: async_sessionmaker, flow: Flow, default_timezone: ZoneInfo):
        self.sessions = sessions
        self.flow = flow
        self.default_timezone = default_timezone

    # What a project is, read as the engine and the replies need it.

    def local(self, now: datetime, speaker: Speaker) -> datetime:
        """Return `now` in the speaker's time (dates they type are read in it)."""
        return now.astimezone(zone(speaker.timezone, self.default_timezone))

    def info(self, project: Project, answers: dict[str, Any]) -> ProjectInfo:
        return ProjectInfo(
            id=project.id,
            name=project.name,
            owner=project.owner,
            progress=progress(self.flow, answers),
            channel=project.channel_id,
            thread=project.thread_id,
        )

    def state(self, project: Project, answers: dict[str, Any]) -> State:
        return State(
            name=project.name,
            sections=tuple(project.sections),
            current=project.current_question_id,
            answers=answers,
            walk=project.walking_section,
            later=getattr(answers, "later", frozenset()),
            intake_done=project.intake_done_at is not None,
        )

    def no_longer_open(self, question_id: str) -> str:
        """Say that a button's question has been answered or left since it was shown."""
        label = self.flow.questions[question_id].label
        return f"“{label}” is no longer the open question, so that button does nothing now."

    def find_section(self, wanted: str) -> Section | Outcome:
        """Return the section named (by id or title), or a private reply listing the sections."""
        chosen = self.flow.find_section(wanted)
        if chosen is not None:
            return chosen
        names = ", ".join(f"`{s.id}`" for s in self.flow.sections)
        return Outcome((Say(f"There is no section {wanted!r}. Sections: {names}."),), private=True)

    # Finding the project a turn is on.

    async def read(
        self,
        session: AsyncSession,
        place: Place,
        now: datetime,
        *,
        speaker: Speaker | None = None,
        project_id: int | None = None,
        with_answers: bool = False,
    ) -> Opened:
        """Read at once the workspace, the project (this place's thread's, or of this id), the speaker.

        `with_answers`: the project's latest answers too, for a turn that takes an answer.
        """
        return await open_turn(
            session=session,
            platform=place.platform,
            workspace=place.workspace,
            now=now,
            person_id=speaker.id if speaker is not None else None,
            channel_id=place.channel if project_id is None else None,
            thread_id=place.thread if project_id is None else None,
            project_id=project_id,
            with_answers=with_answers,
        )

    async def in_thread(
        self, session: AsyncSession, place: Place, now: datetime
    ) -> tuple[int, Project | None]:
        """Return the workspace's id and the project whose thread this place is, if any."""
        opened = await self.read(session, place, now)
        return opened.workspace_id, opened.project

    async def by_id(
        self, session: AsyncSession, place: Place, project_id: int, now: datetime
    ) -> tuple[int, Project | None]:
        """Return the workspace's id and its project with this id (a button's), if it exists."""
        opened = await self.read(session, place, now, project_id=project_id)
        return opened.workspace_id, opened.project

    async def named(self, session: AsyncSession, workspace_id: int, name: str) -> Project | Outcome:
        """Return the workspace's project of this name, or the reply naming close ones."""
        project = await store.find_project(session=session, workspace_id=workspace_id, name=name)
        if project is not None:
            return project
        close = await store.similar_names(session=session, workspace_id=workspace_id, name=name)
        return unknown_project(close, name)

    async def open(
        self, session: AsyncSession, place: Place, speaker: Speaker, now: datetime, sink
    ) -> TurnContext | None:
        """Open a turn on the project whose thread this place is; None when none lives there."""
        opened = await self.read(session, place, now, speaker=speaker, with_answers=True)
        return self.context(session, opened, place, speaker, now, sink)

    def context(
        self, session: AsyncSession, opened: Opened, place: Place, speaker: Speaker, now, sink
    ) -> TurnContext | None:
        """Make the turn on the project that was read; None when there is none."""
        if opened.project is None:
            return None
        return TurnContext(
            session,
            opened.workspace_id,
            opened.project,
            place,
            speaker,
            now,
            sink,
            opened.person,
            opened.answers,
        )

    # Running a step and storing it.

    async def finish(self, turn: TurnContext, outcome: Outcome) -> Outcome:
        """Let the sink place the outcome's messages, then commit them with the turn."""
        if turn.sink is not None:
            await turn.sink(turn.session, turn.workspace_id, outcome, turn.speaker)
        await turn.session.commit()
        return outcome

    async def first_time(self, turn: TurnContext, event_id: str | None) -> bool:
        """Tell whether this event is new (a platform's retry of a handled one is not)."""
        if event_id is None:
            return True
        return await outbox.first_time(
            session=turn.session, platform=turn.place.platform, event_id=event_id, now=turn.now
        )

    async def with_timezone(self, turn: TurnContext) -> TurnContext:
        """Give the turn's speaker the time zone remembered for them when the platform sent none."""
        speaker = turn.speaker
        if speaker.timezone is not None:
            return turn
        if turn.person is not None:
            known = turn.person.timezone
        else:
            known = await people.timezone(
                session=turn.session, workspace_id=turn.workspace_id, person_id=speaker.id
            )
        return replace(turn, speaker=replace(speaker, timezone=known)) if known else turn

    async def take(
        self,
        turn: TurnContext,
        text: str,
        step: Step,
        *,
        source_id: str | None,
        event_id: str | None,
    ) -> Outcome:
        """Run one engine step on a project's state in the speaker's time, and store its turn.

        A repeated `event_id` does nothing; a step may answer with an Outcome instead of a turn.
        """
        if not await self.first_time(turn, event_id):
            return Outcome((), duplicate=True)
        answers = turn.answers
        if answers is None:
            answers = await store.latest_answers(session=turn.session, project_id=turn.project.id)
        state = self.state(turn.project, answers)
        turn = await self.with_timezone(turn)
        result = step(state, self.local(turn.now, turn.speaker))
        if isinstance(result, Outcome):
            return await self.finish(turn, result)
        dedupe = (turn.place.platform, event_id) if event_id else None
        return await self.store(turn, state, result, text, source_id=source_id, dedupe=dedupe)

    async def store(
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
        if result.state == before:
            unchanged = self.info(turn.project, dict(before.answers))
            return await self.finish(turn, Outcome(result.replies, unchanged, done=result.done))
        after = result.state
        position = Position(after.current, after.walk, tuple(after.sections))
        if not await self.save(turn, result, position, source_id=source_id, before=before.answers):
            info = self.info(turn.project, dict(before.answers))
            return await self.conflict(turn, info, before, text, dedupe)
        answers = dict(after.answers)
        outcome = Outcome(
            result.replies, self.info(turn.project, answers), stored=True, done=result.done
        )
        return await self.finish(turn, outcome)

    async def save(
        self,
        turn: TurnContext,
        result: Turn,
        position: Position,
        *,
        source_id: str | None,
        before: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write a turn's answers as versions by the speaker, and the project's new position.

        False (and the transaction rolled back) when another turn on the project came first.
        `before`: the answers the turn started from (None: not known).
        """
        session, project, speaker = turn.session, turn.project, turn.speaker
        await people.remember(
            session=session,
            workspace_id=turn.workspace_id,
            person=speaker.person(),
            now=turn.now,
            timezone=speaker.timezone,
            known=turn.person,
        )
        stored = await store.save_turn(
            session=session,
            project=project,
            expected_turn=project.turn,
            current=position.current,
            sections=list(position.sections) if position.sections is not None else None,
            walking=position.walking,
            recorded=[(r.question_id, r.value, r.raw, r.skipped) for r in result.recorded],
            author=speaker.person(),
            now=turn.now,
            done=result.done,
            source_id=source_id,
        )
        if not stored:
            await session.rollback()
            return False
        await self.track(turn, result, dict(result.state.answers), before)
        await self.keep_open_questions(turn, result, before)
        return True

    async def keep_open_questions(
        self, turn: TurnContext, result: Turn, before: Mapping[str, Any] | None
    ) -> None:
        """Open a question left for later, the speaker's to revisit; close one answered otherwise.

        Only a question that had no answer before (skipped or left) can be open: the others
        cost no statement.
        """
        later = [r for r in result.recorded if r.skipped and r.raw == engine.LATER]
        closing = [
            r.question_id
            for r in result.recorded
            if r not in later and (before is None or before.get(r.question_id, False) is None)
        ]
        await open_questions.close(
            session=turn.session, project_id=turn.project.id, question_ids=closing, now=turn.now
        )
        revisit = self.local(turn.now, turn.speaker).date() + timedelta(days=engine.REVISIT_DAYS)
        for left in later:
            await open_questions.leave(
                session=turn.session,
                project_id=turn.project.id,
                question_id=left.question_id,
                owner=turn.speaker.person(),
                revisit_on=revisit,
                now=turn.now,
            )

    async def track(
        self,
        turn: TurnContext,
        result: Turn,
        answers: dict[str, Any],
        before: Mapping[str, Any] | None,
    ) -> None:
        """Keep the project's stage and its milestones and documentation items as answered.

        Only the items whose owner or due date the turn's answers changed are written: an item
        given a new date by hand keeps it while other questions are answered. `before`: the
        answers the turn started from (None: not known, so every item the answers declare).
        """
        recorded = [self.flow.questions[r.question_id] for r in result.recorded]
        if any(q.id == "stage" for q in recorded):
            await store.set_stage(
                session=turn.session, project_id=turn.project.id, stage=answers.get("stage")
            )
        for kind in ("milestone", "doc"):
            if before is None and not any(getattr(q, kind) for q in recorded):
                continue
            items = summary.milestones(self.flow, answers, kind=kind)
            if before is not None:
                earlier = summary.milestones(self.flow, before, kind=kind)
                items = [item for item in items if item not in earlier]
            await tracked.sync(  # no items: no statement
                session=turn.session,
                project_id=turn.project.id,
                kind=kind,
                items=items,
                now=turn.now,
            )

    async def conflict(
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
            return await self.finish(fresh, Outcome((Say(message),), info))
