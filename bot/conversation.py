"""Run the planning conversation for any platform: load state, call the engine, store the turn.

Adapters pass a `sink`: it is called inside the transaction that stores the turn, so that the
messages an adapter will send (an outbox) are committed together with the answer they follow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows import engine, export, summary
from flows.display import person_name
from flows.model import Flow
from flows.progress import progress
from flows.replies import Card, Field, IntakeDone, Reply, Say, SectionDone, Show
from flows.state import State, Turn
from storage import outbox, people, tracked, workspaces
from storage import projects as store
from storage.projects import Project

MAX_NAME = 80


@dataclass(frozen=True)
class Place:
    """Where a message was typed: platform, workspace (team or tenant), channel and thread."""

    platform: str
    workspace: str
    channel: str | None = None
    thread: str | None = None


@dataclass(frozen=True)
class Speaker:
    """Who typed a message; `timezone` is theirs when the platform says it."""

    id: str
    name: str | None = None
    email: str | None = None
    timezone: str | None = None

    def person(self) -> dict[str, Any]:
        """Describe the speaker as stored with answers and owners."""
        return {k: v for k, v in (("id", self.id), ("name", self.name), ("email", self.email)) if v}


@dataclass(frozen=True)
class ProjectInfo:
    """What an adapter needs to know of the project a reply is about."""

    id: int
    name: str
    owner: dict[str, Any]
    progress: tuple[int, int]
    channel: str | None
    thread: str | None


@dataclass(frozen=True)
class Outcome:
    """The replies to send, the project they concern, and what happened.

    `created`: a new project (its parent message comes first); `private`: only the speaker should
    see the replies; `duplicate`: the event was handled before and nothing was done.
    """

    replies: tuple[Reply, ...]
    project: ProjectInfo | None = None
    stored: bool = False
    done: bool = False
    private: bool = False
    created: bool = False
    duplicate: bool = False

    def messages(self, *, pressed: bool = False) -> list[tuple[str, Reply | None]]:
        """Say, in order, which messages an adapter sends for this outcome.

        `private` (each reply, to the speaker alone where the platform can), `parent` (a new
        project's first message), `answered` (the pressed question's card, replaced by its
        answer), `reply` (each reply, in the project's conversation) and `parent_update` (the
        first message again, once a section is done). Adapters only place and render them.
        """
        if self.private:
            return [("private", reply) for reply in self.replies]
        messages: list[tuple[str, Reply | None]] = []
        if self.created:
            messages.append(("parent", None))
        if pressed and self.stored:
            messages.append(("answered", None))
        messages += [("reply", reply) for reply in self.replies]
        if self.project is not None and any(
            isinstance(r, SectionDone | IntakeDone) for r in self.replies
        ):
            messages.append(("parent_update", None))
        return messages


Sink = Callable[[AsyncSession, int, Outcome, "Speaker"], Awaitable[None]]


def zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """Return the named time zone, or the default when it is unset or unknown to this machine."""
    if name:
        with contextlib.suppress(ValueError, KeyError):
            return ZoneInfo(name)
    return default


async def workspace_id_of(session: AsyncSession, place: Place, now: datetime) -> int:
    """Return the id of the workspace a place belongs to, creating it on first sight."""
    ws = await workspaces.get_or_create(
        session=session, platform=place.platform, external_id=place.workspace, now=now
    )
    return ws.id


def unknown_project(close: list[str], name: str) -> Outcome:
    """Say privately that no project has that name here, suggesting close names when there are any."""
    hint = (
        f" Did you mean {', '.join(repr(n) for n in close)}?"
        if close
        else " `list` shows the projects here."
    )
    return Outcome((Say(f"There is no project called {name!r} here.{hint}"),), private=True)


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

    async def knows_timezone(self, *, place: Place, person_id: str, now: datetime) -> bool:
        """Tell whether mlplan already knows this person's time zone."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            known = await people.timezone(
                session=session, workspace_id=workspace_id, person_id=person_id
            )
            await session.commit()
        return known is not None

    async def remember(self, *, place: Place, speaker: Speaker, now: datetime) -> None:
        """Store what a platform says of a person: name, email, time zone."""
        async with self.sessions() as session:
            workspace_id = await workspace_id_of(session, place, now)
            await people.remember(
                session=session,
                workspace_id=workspace_id,
                person=speaker.person(),
                now=now,
                timezone=speaker.timezone,
            )
            await session.commit()

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

    async def asking_here(self, *, place: Place, now: datetime) -> bool:
        """Tell whether an intake living at this place has a question open (a reply answers it)."""
        async with self.sessions() as session:
            _, project = await self._in_thread(session, place, now)
            await session.commit()
        return project is not None and project.current_question_id is not None

    async def _finish(
        self,
        session: AsyncSession,
        workspace_id: int,
        outcome: Outcome,
        speaker: Speaker,
        sink: Sink | None,
    ) -> Outcome:
        if sink is not None:
            await sink(session, workspace_id, outcome, speaker)
        await session.commit()
        return outcome

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
        sections = [s.id for s in self.flow.sections]
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
    ) -> Outcome | None:
        """Take a message typed in a project's thread; None when no project lives there.

        `event_id` makes a retried delivery of the same event a no-op; `expected_question` is
        the question a button belonged to, refused politely when it is no longer open.
        """
        async with self.sessions() as session:
            workspace_id, project = await self._in_thread(session, place, now)
            if project is None:
                return None

            def step(state: State, local_now: datetime) -> Turn | Outcome:
                if expected_question is not None and expected_question != state.current:
                    label = self.flow.questions[expected_question].label
                    gone = f"“{label}” is no longer the open question, so that button does nothing now."
                    return Outcome(
                        (Say(gone),), self._info(project, dict(state.answers)), private=True
                    )
                return engine.advance(self.flow, state, text, now=local_now)

            return await self._take(
                session,
                workspace_id,
                project,
                place,
                speaker,
                text,
                now,
                sink,
                source_id,
                event_id,
                step,
            )

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
            workspace_id, project = await self._in_thread(session, place, now)
            if project is None:
                return None
            answered = await store.answer_from_source(
                session=session, project_id=project.id, source_id=source_id
            )
            if answered is not None:

                def step(state: State, local_now: datetime) -> Turn:
                    return engine.revise(
                        self.flow, state, answered.question_id, text, now=local_now
                    )

                return await self._take(
                    session,
                    workspace_id,
                    project,
                    place,
                    speaker,
                    text,
                    now,
                    sink,
                    source_id,
                    event_id,
                    step,
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

    async def _take(
        self,
        session: AsyncSession,
        workspace_id: int,
        project: Project,
        place: Place,
        speaker: Speaker,
        text: str,
        now: datetime,
        sink: Sink | None,
        source_id: str | None,
        event_id: str | None,
        step: Callable[[State, datetime], Turn | Outcome],
    ) -> Outcome:
        """Run one engine step on a project's state in the speaker's time, and store its turn.

        A repeated `event_id` does nothing; a step may answer with an Outcome instead of a turn.
        """
        if event_id is not None and not await outbox.first_time(
            session=session, platform=place.platform, event_id=event_id, now=now
        ):
            return Outcome((), duplicate=True)
        answers = await store.latest_answers(session=session, project_id=project.id)
        state = self._state(project, answers)
        speaker = await self._with_timezone(session, workspace_id, speaker)
        turn = step(state, self._local(now, speaker))
        if isinstance(turn, Outcome):
            return await self._finish(session, workspace_id, turn, speaker, sink)
        dedupe = (place.platform, event_id) if event_id else None
        return await self._store(
            session, workspace_id, project, state, turn, speaker, now, text, sink, source_id, dedupe
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
            answers = await store.latest_answers(session=session, project_id=project.id)
            scoped = State(name=project.name, sections=(chosen.id,), answers=answers)
            first_open = engine.next_open(self.flow, scoped)
            if first_open is None:  # all answered: walk the section again to revise it
                first_open = next(q for q in chosen.questions if q.applies(answers))
            state = self._state(project, answers)
            turn = engine.start(self.flow, replace(scoped, current=first_open.id))
            return await self._store(
                session, workspace_id, project, state, turn, speaker, now, f"ask {chosen.id}", sink
            )

    async def _store(
        self,
        session: AsyncSession,
        workspace_id: int,
        project: Project,
        before: State,
        turn: Turn,
        speaker: Speaker,
        now: datetime,
        text: str,
        sink: Sink | None,
        source_id: str | None = None,
        dedupe: tuple[str, str] | None = None,
    ) -> Outcome:
        info_before = self._info(project, dict(before.answers))
        if turn.state == before:
            outcome = Outcome(turn.replies, info_before, done=turn.done)
            return await self._finish(session, workspace_id, outcome, speaker, sink)
        await people.remember(
            session=session,
            workspace_id=workspace_id,
            person=speaker.person(),
            now=now,
            timezone=speaker.timezone,
        )
        stored = await store.save_turn(
            session=session,
            project=project,
            expected_turn=project.turn,
            current=turn.state.current,
            sections=list(turn.state.sections),
            recorded=[(r.question_id, r.value, r.raw, r.skipped) for r in turn.recorded],
            author=speaker.person(),
            now=now,
            done=turn.done,
            source_id=source_id,
        )
        if not stored:
            await session.rollback()
            return await self._conflict(
                info_before, workspace_id, before, speaker, text, now, sink, dedupe
            )
        answers = dict(turn.state.answers)
        if any(r.question_id == "stage" for r in turn.recorded):
            await store.set_stage(
                session=session, project_id=project.id, stage=answers.get("stage")
            )
        if any(
            self.flow.questions[r.question_id].milestone or self.flow.questions[r.question_id].doc
            for r in turn.recorded
        ):
            for kind in ("milestone", "doc"):
                items = summary.milestones(self.flow, answers, kind=kind)
                await tracked.sync(
                    session=session, project_id=project.id, kind=kind, items=items, now=now
                )
        outcome = Outcome(turn.replies, self._info(project, answers), stored=True, done=turn.done)
        return await self._finish(session, workspace_id, outcome, speaker, sink)

    async def _conflict(
        self,
        info: ProjectInfo,
        workspace_id: int,
        before: State,
        speaker: Speaker,
        text: str,
        now: datetime,
        sink: Sink | None,
        dedupe: tuple[str, str] | None,
    ) -> Outcome:
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
                    session=session, platform=platform, event_id=event_id, now=now
                )
            return await self._finish(
                session, workspace_id, Outcome((Say(message),), info), speaker, sink
            )

    async def document(self, *, name: str, workspace: str | None = None) -> dict[str, Any]:
        """Assemble a project's whole plan for export; `workspace` is `platform:id` when ambiguous.

        Raises LookupError with a message for the operator when the project is unknown or ambiguous.
        """
        async with self.sessions() as session:
            found = await store.projects_named(session=session, name=name)
            if workspace is not None:
                found = [(p, w) for p, w in found if f"{w.platform}:{w.external_id}" == workspace]
            if not found:
                where = f" in workspace {workspace}" if workspace else ""
                raise LookupError(f"no project called {name!r}{where}")
            if len(found) > 1:
                places = ", ".join(f"{w.platform}:{w.external_id}" for _, w in found)
                raise LookupError(
                    f"{len(found)} projects are called {name!r} ({places}): pass --workspace"
                )
            project, ws = found[0]
            answers = await store.latest_answers(session=session, project_id=project.id)
            history: dict[str, list[dict[str, Any]]] = {}
            for row in await store.answer_history(session=session, project_id=project.id):
                history.setdefault(row.question_id, []).append(
                    {
                        "version": row.version,
                        "value": None if row.skipped else row.value,
                        "skipped": row.skipped,
                        "raw": row.raw,
                        "author": row.author,
                        "at": row.created_at.isoformat(),
                    }
                )
            items = {}
            for key, kind in (("milestones", "milestone"), ("docs", "doc")):
                rows = await tracked.items(session=session, project_id=project.id, kind=kind)
                items[key] = [
                    {
                        "key": r.key,
                        "title": r.title,
                        "owner": r.owner,
                        "due": r.due.isoformat() if r.due else None,
                        "status": r.status,
                        **({"link": r.link} if kind == "doc" else {}),
                    }
                    for r in rows
                ]
        header = {
            "id": project.id,
            "name": project.name,
            "workspace": f"{ws.platform}:{ws.external_id}",
            "owner": project.owner,
            "stage": project.stage,
            "created_at": project.created_at.isoformat(),
            "intake_done_at": project.intake_done_at.isoformat()
            if project.intake_done_at
            else None,
        }
        return export.plan_document(
            self.flow, project=header, answers=answers, history=history, **items
        )

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
            card = summary.status_card(self.flow, self._state(project, answers))
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
