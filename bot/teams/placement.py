"""Place mlplan's messages in Teams: the conversation a message came from, or a project's own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from bot.context import Speaker
from bot.notify import LinkTarget
from bot.outcome import Outcome
from bot.placement import PressedMessage, Row
from bot.teams import adaptive, digest_card, reminder_card, render
from bot.teams.delivery import PLATFORM, digest_key, person_key, project_key
from flows.digest import Digest
from flows.replies import Reply

# The last digest rendered: a tick renders one digest for the many subscribers who get it.
_LAST_DIGEST: dict[str, Any] = {}


def to(key: str, activity: dict[str, Any], **options: Any) -> Row:
    """Make an outbox row that sends an activity to a conversation key (`storage.references`)."""
    return Row({"to": key, "activity": activity}, channel=key, **options)


@dataclass(frozen=True)
class TeamsPlacement:
    """Where one activity's replies go.

    `here` is the key of the conversation (or channel reply chain) the activity came from:
    Teams has no private replies, so what Slack says privately is said there. A project's
    messages go to the conversation its intake lives in.
    """

    here_key: str
    reference: dict[str, Any]
    subscribes: str | None = None  # what `digest subscribe here` means: None is the person
    references: dict[str, dict[str, Any]] = field(default_factory=dict)

    platform = PLATFORM
    prefix = ""
    remembers_speaker = True

    @property
    def here(self) -> str | None:
        return self.subscribes

    def channel_of(self, text: str) -> str | None:
        """Teams commands name no channels: `digest subscribe here` is typed in the channel."""
        return None

    def project_references(self, project_id: int) -> dict[str, dict[str, Any]]:
        """A new project's conversation is the one its first command came from."""
        return {project_key(project_id): self.reference}

    def rows(
        self,
        kind: str,
        reply: Reply | None,
        outcome: Outcome,
        speaker: Speaker,
        pressed: PressedMessage | None,
    ) -> list[Row]:
        """Place one message: here, in the project's conversation, or as an update of a card."""
        project = outcome.project
        project_id = project.id if project else None
        there = project_key(project.id) if project is not None else self.here_key
        if kind == "private" and isinstance(reply, Digest):
            return [to(self.here_key, activity) for activity in digest_card.digest_messages(reply)]
        if kind == "direct":  # their personal chat (the sender opens one if need be)
            name = project.name if project is not None else None
            activity = render.render(reply, project_id=project_id or 0, project=name)
            return [to(person_key(outcome.assignee["id"]), activity)]
        if kind == "thread":  # the project's own conversation, wherever the person wrote
            name = project.name if project is not None else None
            return [to(there, render.render(reply, project_id=project_id or 0, project=name))]
        if kind == "reply" and outcome.in_direct:
            kind = "private"  # said where the person wrote: their personal chat
        if kind in ("private", "reply"):
            key = self.here_key if kind == "private" else there
            name = project.name if project is not None else None
            return [to(key, render.render(reply, project_id=project_id or 0, project=name))]
        if kind == "answered":
            note = render.answered_note(
                question_label=pressed.label, shown=pressed.shown, person=speaker.person()
            )
            return [to(self.here_key, note, method="update", target_id=pressed.message_id)]
        parent = render.parent_message(
            name=project.name, owner=project.owner, progress=project.progress
        )
        if kind == "parent":
            return [to(there, parent, starts_thread=True)]
        return [to(there, parent, method="update", in_thread=True)]

    def shown_of(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Read the Adaptive Card of a queued activity."""
        for attachment in payload.get("activity", {}).get("attachments") or []:
            if attachment.get("contentType") == adaptive.CARD_CONTENT_TYPE:
                return attachment["content"]
        return None

    def reminder_update(self, current: Any, acted: Any, speaker: Speaker, message_id: str) -> Row:
        """Replace the reminder card's buttons for the item acted on with what was done."""
        activity = reminder_card.reminder_after_action(
            current,
            ref=f"{acted.kind}:{acted.item_id}",
            title=acted.title,
            shown=acted.shown,
            person=speaker.person(),
        )
        return to(self.here_key, activity, method="update", target_id=message_id)


class TeamsDirections:
    """Reach people in Teams directly: their personal chat with the bot, or a subscribed chat."""

    platform = PLATFORM

    def to_person(self, person_id: str, reply: Reply) -> Row:
        """Place a direct message (opened by the sender if the person never chatted with mlplan)."""
        project_id = getattr(reply, "project_id", None)
        activity = render.render(reply, project_id=project_id or 0)
        return to(person_key(person_id), activity, project_id=project_id)

    def to_project(self, project_id: int, reply: Reply) -> Row:
        """Place a message in the conversation a project's intake lives in."""
        activity = render.render(reply, project_id=project_id)
        return to(project_key(project_id), activity, project_id=project_id)

    def digest(self, target_id: str, digest: Digest) -> list[Row]:
        """Place a digest, in as few messages as Teams' size limit allows."""
        if _LAST_DIGEST.get("digest") is not digest:  # one rendering for the same digest
            _LAST_DIGEST.update(digest=digest, activities=digest_card.digest_messages(digest))
        return [to(digest_key(target_id), activity) for activity in _LAST_DIGEST["activities"]]

    async def links(self, workspace: str, targets: Sequence[LinkTarget]) -> dict[int, str]:
        """Deep-link each project's conversation from its stored reference."""
        found = {}
        for target in targets:
            link = deep_link(target.reference)
            if link:
                found[target.project_id] = link
        return found


def deep_link(reference: dict[str, Any] | None) -> str | None:
    """Write a Teams deep link to a conversation reference's chat, or channel post."""
    conversation = (reference or {}).get("conversation") or {}
    conversation_id = conversation.get("id")
    if not isinstance(conversation_id, str) or not conversation_id:
        return None
    tenant = conversation.get("tenantId")
    chain, _, message = conversation_id.partition(";messageid=")
    if message:  # a channel post's reply chain: link the post
        query = {"parentMessageId": message, **({"tenantId": tenant} if tenant else {})}
        return (
            f"https://teams.microsoft.com/l/message/{quote(chain, safe='')}/{quote(message)}"
            f"?{urlencode(query)}"
        )
    return f"https://teams.microsoft.com/l/chat/{quote(conversation_id, safe='')}/conversations"
