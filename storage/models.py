"""Declare mlplan's tables: workspaces, people, projects, answers, tracked items, outbox, deliveries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage import slack_oauth

JSONValue = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Store aware datetimes as UTC and read them back aware, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONValue, list[Any]: JSONValue, datetime: UTCDateTime}


class Workspace(Base):
    """A Slack team, a Teams tenant or the local terminal: the boundary of every query."""

    __tablename__ = "workspaces"
    __table_args__ = (sa.UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime]


class Person(Base):
    """Someone mlplan talks to: display name, time zone, and how to reach them proactively."""

    __tablename__ = "people"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime]


class Project(Base):
    """An ML project being planned, and where its conversation lives."""

    __tablename__ = "projects"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "name_key"),
        sa.Index("ix_projects_thread", "workspace_id", "channel_id", "thread_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_key: Mapped[str] = mapped_column(sa.String(200))
    owner: Mapped[dict[str, Any]]
    stage: Mapped[str | None] = mapped_column(sa.String(32))
    channel_id: Mapped[str | None] = mapped_column(sa.String(128))
    thread_id: Mapped[str | None] = mapped_column(sa.String(128))
    sections: Mapped[list[Any]]
    current_question_id: Mapped[str | None] = mapped_column(sa.String(64))
    # The section being walked again question by question (`ask`), answered or not.
    walking_section: Mapped[str | None] = mapped_column(sa.String(64))
    # Bumped by every stored turn: a compare-and-set on it lets one of two racing answers win.
    turn: Mapped[int] = mapped_column(default=0)
    intake_done_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Answer(Base):
    """One version of the answer to one question; a changed answer is a new row."""

    __tablename__ = "answers"
    __table_args__ = (sa.UniqueConstraint("project_id", "question_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int]
    value: Mapped[Any] = mapped_column(JSONValue, nullable=True)
    raw: Mapped[str] = mapped_column(sa.Text)
    skipped: Mapped[bool] = mapped_column(default=False)
    author: Mapped[dict[str, Any]]
    # The platform's id of the message that gave this answer, so an edit of it makes a new version.
    source_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    created_at: Mapped[datetime]


class _Tracked:
    """Columns shared by milestones and documentation items."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    owner: Mapped[dict[str, Any] | None]
    due: Mapped[date | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    done_at: Mapped[datetime | None]
    done_by: Mapped[dict[str, Any] | None]
    # No reminders before this day (a snooze).
    snoozed_until: Mapped[date | None]
    # When the scheduler next looks at this item's project for a reminder: the 9:00 of its next
    # occasion in the recipient's zone, or (after a change) the moment of the change; None when
    # no reminder can come. Never later than the next reminder, so a tick reads only these rows.
    remind_at: Mapped[datetime | None]
    # Since when its owner is to be told they own it; None once told (or nobody to tell).
    owner_notice_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Milestone(_Tracked, Base):
    """A stage of the project with an owner and a due date."""

    __tablename__ = "milestones"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "key"),
        sa.Index("ix_milestones_remind_at", "remind_at"),
        sa.Index("ix_milestones_owner_notice_at", "owner_notice_at"),
    )

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))


class DocItem(_Tracked, Base):
    """A piece of documentation that is due: what, owner, link, due date."""

    __tablename__ = "doc_items"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "key"),
        sa.Index("ix_doc_items_remind_at", "remind_at"),
        sa.Index("ix_doc_items_owner_notice_at", "owner_notice_at"),
    )

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    link: Mapped[str | None] = mapped_column(sa.String(2000))


class ItemAction(Base):
    """What someone did to a milestone or documentation item (done, snooze, new date), and when."""

    __tablename__ = "item_actions"
    __table_args__ = (sa.Index("ix_item_actions_item", "item_kind", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    item_kind: Mapped[str] = mapped_column(sa.String(16))
    item_id: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[Any] = mapped_column(JSONValue, nullable=True)
    by: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class DigestSubscription(Base):
    """A lead or a channel that gets the weekly digest of a workspace."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "target_kind", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(sa.String(16))
    target_id: Mapped[str] = mapped_column(sa.String(128))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    created_by: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    # Which projects: all (None), a channel's ("channel", its id) or a tag's ("tag", the tag).
    scope_kind: Mapped[str | None] = mapped_column(sa.String(16))
    scope_value: Mapped[str | None] = mapped_column(sa.String(200))
    every_weeks: Mapped[int] = mapped_column(default=1, server_default="1")
    # The workspace's facts as the last digest showed them, for the next one's trend.
    last_snapshot_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("digest_snapshots.id", ondelete="SET NULL")
    )
    last_sent_at: Mapped[datetime | None]


class DigestSnapshot(Base):
    """A workspace's projects as one tick's digests saw them, shared by their subscribers."""

    __tablename__ = "digest_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime]
    state: Mapped[dict[str, Any]]


class DigestProject(Base):
    """What digests keep of one project: its thread's link, a snooze, its tags."""

    __tablename__ = "digest_projects"

    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    link: Mapped[str | None] = mapped_column(sa.String(2000))
    snoozed_until: Mapped[date | None]
    snoozed_by: Mapped[dict[str, Any] | None]
    tags: Mapped[list[Any]]


class Delivery(Base):
    """A reminder or digest claimed under a unique key before it is sent, so it goes out once."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    target_id: Mapped[str] = mapped_column(sa.String(128))
    status: Mapped[str] = mapped_column(sa.String(16), default="claimed")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ProcessedEvent(Base):
    """A platform event id seen once, stored in the same transaction as what it changed."""

    __tablename__ = "processed_events"
    __table_args__ = (sa.UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(16))
    event_id: Mapped[str] = mapped_column(sa.String(128))
    received_at: Mapped[datetime]


class Outgoing(Base):
    """A message to send, stored with the change that caused it and sent after; kept until sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
        sa.Index("ix_outbox_conversation", "platform", "conversation", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(sa.String(16))
    # The conversation this message keeps its order in (`project:<id>`, or `to:<where it goes>`):
    # nothing of a conversation is sent while an earlier message of it is still pending.
    conversation: Mapped[str] = mapped_column(sa.String(300), server_default="")
    # Whether a failure for good is told to someone (not for the notices of failures themselves).
    tells_failure: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # post, update or ephemeral
    method: Mapped[str] = mapped_column(sa.String(16))
    channel: Mapped[str | None] = mapped_column(sa.String(128))
    # Post in the project's thread, known only once its parent message is sent.
    in_thread: Mapped[bool] = mapped_column(default=False)
    # This is the project's parent message: its id becomes the project's thread.
    starts_thread: Mapped[bool] = mapped_column(default=False)
    # For an update: the message to change (None with in_thread means the parent message).
    target_id: Mapped[str | None] = mapped_column(sa.String(128))
    user_id: Mapped[str | None] = mapped_column(sa.String(128))
    payload: Mapped[dict[str, Any]]
    response_url: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_id: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ConversationReference(Base):
    """A platform's conversation reference, to reach a person, a chat or a project proactively.

    Only Teams needs these today (a Bot Framework reference), hence the table's name.

    `key` is `person:<user id>` (their personal chat with the bot), `conversation:<id>` (a chat,
    a channel or a channel's reply chain) or `project:<id>` (where a project's intake lives).
    A reference the connector refused (bot removed, chat gone) is marked broken, not retried.
    """

    __tablename__ = "teams_conversations"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(512))
    reference: Mapped[dict[str, Any]]
    broken_at: Mapped[datetime | None]
    broken_reason: Mapped[str | None] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime]


# The OAuth tables of Slack installs live on this metadata too, so that Alembic owns them.
slack_installations, slack_bots, slack_oauth_states = slack_oauth.add_tables(Base.metadata)


class Assignment(Base):
    """A section of a project that one person owes, asked in a direct conversation with them."""

    __tablename__ = "assignments"
    __table_args__ = (
        sa.Index("ix_assignments_assignee", "assignee_id", "done_at"),
        sa.Index("ix_assignments_remind_at", "remind_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    section_id: Mapped[str] = mapped_column(sa.String(64))
    assignee_id: Mapped[str] = mapped_column(sa.String(128))
    assignee: Mapped[dict[str, Any]]
    assigned_by: Mapped[dict[str, Any]]
    # The question open in the direct conversation, None once the section is answered.
    current_question_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    # When the section was handed to its assignee (again: a reassignment starts over).
    assigned_at: Mapped[datetime]
    # When the scheduler next looks at it: nine on the day of the assignee's next reminder
    # (3 days after the assignment, then weekly), or the moment of a change; None once answered.
    remind_at: Mapped[datetime | None]
    # How many reminders went to this assignee, and when the last one did.
    reminded: Mapped[int] = mapped_column(default=0, server_default="0")
    reminded_at: Mapped[datetime | None]


class OpenQuestion(Base):
    """A question left for later (`Answer later`): whose it is, and the day to revisit it by.

    One row per time it was left; the row closes when the question gets any other answer.
    """

    __tablename__ = "open_questions"
    __table_args__ = (
        sa.Index("ix_open_questions_project", "project_id", "question_id"),
        sa.Index("ix_open_questions_remind_at", "remind_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(sa.String(64))
    owner: Mapped[dict[str, Any]]
    owner_id: Mapped[str] = mapped_column(sa.String(128))
    revisit_on: Mapped[date]
    # When the scheduler next looks at it: nine on the revisit day in the owner's zone, or the
    # moment of a change; None once its owner was reminded for this revisit day, or it closed.
    remind_at: Mapped[datetime | None]
    # When the reminder for this revisit day went out (a snooze sets a new day and clears it).
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
