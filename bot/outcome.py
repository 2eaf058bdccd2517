"""Say what a turn did: the replies to send, the project they concern, and what happened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Speaker
from flows.replies import IntakeDone, Reply, Say, SectionDone


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
    `direct`: messages to `assignee` in a direct conversation with them (a section they owe);
    `in_direct`: the replies answer someone in such a conversation, not in the project's own;
    `to_thread`: messages for the project's conversation besides the replies.
    """

    replies: tuple[Reply, ...]
    project: ProjectInfo | None = None
    stored: bool = False
    done: bool = False
    private: bool = False
    created: bool = False
    duplicate: bool = False
    direct: tuple[Reply, ...] = ()
    assignee: dict[str, Any] | None = None
    in_direct: bool = False
    to_thread: tuple[Reply, ...] = ()

    def messages(self, *, pressed: bool = False) -> list[tuple[str, Reply | None]]:
        """Say, in order, which messages an adapter sends for this outcome.

        `private` (each reply, to the speaker alone where the platform can), `parent` (a new
        project's first message), `answered` (the pressed question's card, replaced by its
        answer), `reply` (each reply, in the project's conversation) and `parent_update` (the
        first message again, once a section is done), `direct` (each message to the assignee,
        in a direct conversation) and `thread` (each message to the project's conversation when
        the replies went to a direct one). Adapters only place and render them.
        """
        if self.private:
            return [("private", reply) for reply in self.replies]
        messages: list[tuple[str, Reply | None]] = []
        if self.created:
            messages.append(("parent", None))
        if pressed and self.stored:
            messages.append(("answered", None))
        messages += [("reply", reply) for reply in self.replies]
        messages += [("direct", reply) for reply in self.direct]
        messages += [("thread", reply) for reply in self.to_thread]
        if self.project is not None and any(
            isinstance(r, SectionDone | IntakeDone) for r in (*self.replies, *self.to_thread)
        ):
            messages.append(("parent_update", None))
        return messages


# Called inside the transaction that stores a turn, so that the messages the turn causes (the
# outbox) are committed together with the answer they follow.
Sink = Callable[[AsyncSession, int, Outcome, Speaker], Awaitable[None]]


def unknown_project(close: list[str], name: str) -> Outcome:
    """Say privately that no project has that name here, suggesting close names when there are any."""
    hint = (
        f" Did you mean {', '.join(repr(n) for n in close)}?"
        if close
        else " `list` shows the projects here."
    )
    return Outcome((Say(f"There is no project called {name!r} here.{hint}"),), private=True)
