"""Place mlplan's messages in Slack: a project's thread, its parent message, or privately."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.context import Speaker
from bot.notify import LinkTarget
from bot.outcome import Outcome
from bot.placement import PressedMessage, Row
from bot.slack import digest_blocks, reminder_blocks, render
from flows.digest import Digest
from flows.replies import Reply

PLATFORM = "slack"
# Links are kept once found, so a large workspace gets its links over a few ticks.
LINKS_PER_TICK = 200
log = logging.getLogger("mlplan.slack")
# The last digest rendered, by slash command: a tick renders one digest for many subscribers.
_LAST_DIGEST: dict[str, tuple[Digest, list[dict[str, Any]]]] = {}
# A channel as Slack sends it in a slash command (<#C123|name>), or a bare channel id.
_CHANNEL = re.compile(r"^(?:<#(?P<ref>[CG][A-Z0-9]+)(?:\|[^>]*)?>|(?P<bare>[CG][A-Z0-9]{6,}))$")


@dataclass(frozen=True)
class SlackPlacement:
    """Where one Slack request's replies go.

    `answers_at_once`: a slash command answers privately in its own response (its ack), so
    private replies are handed back instead of queued; events and buttons post them ephemerally.
    """

    channel: str
    prefix: str = "/mlplan"
    response_url: str | None = None
    answers_at_once: bool = False
    # The thread of a direct conversation the person wrote in, where replies to them go.
    thread: str | None = None

    references: dict[str, dict[str, Any]] = field(default_factory=dict)  # Slack keeps none

    platform = PLATFORM
    remembers_speaker = False

    @property
    def here(self) -> str:
        """Subscribe the channel the command was typed in."""
        return self.channel

    def channel_of(self, text: str) -> str | None:
        """Read a channel link (`<#C123|ml>`) or a bare channel id."""
        match = _CHANNEL.match(text)
        return (match["ref"] or match["bare"]) if match else None

    def project_references(self, project_id: int) -> dict[str, dict[str, Any]]:
        """Slack reaches a project through its thread: nothing to keep."""
        return {}

    def rows(
        self,
        kind: str,
        reply: Reply | None,
        outcome: Outcome,
        speaker: Speaker,
        pressed: PressedMessage | None,
    ) -> list[Row] | None:
        """Place one message: an ephemeral, a thread reply, the parent message or an update."""
        project = outcome.project
        project_id = project.id if project else None
        if kind == "private":
            if self.answers_at_once:
                return None
            message = render.render(reply, project_id=project_id or 0, slash_command=self.prefix)
            message.pop("metadata", None)
            in_thread = project is not None and (project.thread is not None or outcome.created)
            return [
                Row(
                    message,
                    method="ephemeral",
                    channel=self.channel,
                    user_id=speaker.id,
                    in_thread=in_thread,
                )
            ]
        if kind == "reply" and outcome.in_direct:  # the direct conversation written in
            message = render.render(reply, project_id=project_id, slash_command=self.prefix)
            if self.thread:
                message["thread_ts"] = self.thread
            return [Row(message, channel=self.channel)]
        if kind == "reply":
            message = render.render(reply, project_id=project_id, slash_command=self.prefix)
            return [
                Row(message, channel=self.channel, in_thread=True, response_url=self.response_url)
            ]
        if kind == "direct":  # a direct message: Slack opens it from the person's id
            message = render.render(reply, project_id=project_id, slash_command=self.prefix)
            return [Row(message, channel=outcome.assignee["id"])]
        if kind == "thread":  # the project's own thread, wherever the person wrote
            message = render.render(reply, project_id=project_id, slash_command=self.prefix)
            return [Row(message, in_thread=True)]
        if kind == "answered":
            note = render.answered_note(
                question_label=pressed.label, shown=pressed.shown, person=speaker.person()
            )
            return [Row(note, method="update", channel=self.channel, target_id=pressed.message_id)]
        parent = render.parent_message(
            name=project.name, owner=project.owner, progress=project.progress
        )
        if kind == "parent":
            return [
                Row(
                    parent,
                    channel=self.channel,
                    starts_thread=True,
                    response_url=self.response_url,
                )
            ]
        return [Row(parent, method="update", channel=self.channel, in_thread=True)]

    def shown_of(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Read a queued message's blocks."""
        return list(payload.get("blocks", []))

    def reminder_update(self, current: Any, acted: Any, speaker: Speaker, message_id: str) -> Row:
        """Replace the reminder's buttons for the item acted on with what was done."""
        payload = reminder_blocks.reminder_after_action(
            current,
            ref=f"{acted.kind}:{acted.item_id}",
            title=acted.title,
            shown=acted.shown,
            person=speaker.person(),
        )
        return Row(payload, method="update", channel=self.channel, target_id=message_id)


@dataclass(frozen=True)
class SlackDirections:
    """Reach people directly in Slack: a direct message goes to the user's id as its channel."""

    slash_command: str = "/mlplan"
    # The Web API client of a team, to find the links to projects' threads (None: no links).
    client_for: Callable[[str], Awaitable[Any]] | None = None

    platform = PLATFORM

    def to_person(self, person_id: str, reply: Reply) -> Row:
        """Place a direct message."""
        project_id = getattr(reply, "project_id", 0)
        payload = render.render(reply, project_id=project_id, slash_command=self.slash_command)
        return Row(payload, channel=person_id)

    def to_project(self, project_id: int, reply: Reply) -> Row:
        """Place a message in a project's thread."""
        payload = render.render(reply, project_id=project_id, slash_command=self.slash_command)
        return Row(payload, in_thread=True, project_id=project_id)

    def digest(self, target_id: str, digest: Digest) -> list[Row]:
        """Place a digest to a person or a channel, in as few messages as Slack's limits allow."""
        return [Row(payload, channel=target_id) for payload in self._rendered(digest)]

    def _rendered(self, digest: Digest) -> list[dict[str, Any]]:
        """Render a digest once for all the subscribers who get the same one (the last one kept)."""
        last = _LAST_DIGEST.get(self.slash_command)
        if last is None or last[0] is not digest:
            last = (digest, digest_blocks.digest_messages(digest, slash_command=self.slash_command))
            _LAST_DIGEST[self.slash_command] = last
        return last[1]

    async def links(self, workspace: str, targets: Sequence[LinkTarget]) -> dict[int, str]:
        """Ask Slack for the permalink of each project's parent message (a few each tick)."""
        if self.client_for is None:
            return {}
        client = await self.client_for(workspace)
        found: dict[int, str] = {}
        for target in [t for t in targets if t.channel and t.thread][:LINKS_PER_TICK]:
            try:
                answer = await client.chat_getPermalink(
                    channel=target.channel, message_ts=target.thread
                )
            except SlackApiError as error:  # a thread gone or out of reach: no link, no harm
                log.info("no permalink for project %s: %s", target.project_id, error)
                continue
            if isinstance(answer.get("permalink"), str):
                found[target.project_id] = answer["permalink"]
        return found
