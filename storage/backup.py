"""Read projects in batches for `export --all`, write them back in bulk for `import`, carry what was told."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from flows.reminders import LEAD_DAYS, STAGE_DOCS, next_day, reminder_time
from storage import models
from storage.assignments import Assignment
from storage.deliveries import recipient
from storage.open_questions import OpenQuestion
from storage.projects import Answer, Project, name_key
from storage.tracked import MODELS, Item, advance
from storage.workspaces import Workspace

PROJECTS = models.Project.__table__
ANSWERS = models.Answer.__table__
WORKSPACES = models.Workspace.__table__
DELIVERIES = models.Delivery.__table__
OPEN_QUESTIONS = models.OpenQuestion.__table__
ASSIGNMENTS = models.Assignment.__table__
DIGEST_PROJECTS = models.DigestProject.__table__
SUBSCRIPTIONS = models.DigestSubscription.__table__
PEOPLE = models.Person.__table__
REFERENCES = models.ConversationReference.__table__
SNAPSHOTS = models.DigestSnapshot.__table__
PROJECT_REFERENCE = "project:"  # the key prefix of a project's Teams conversation reference


@dataclass(frozen=True)
class Batch:
    """Projects read together, with every version of their answers, their items, what is
    owed them (open questions, sections assigned and not answered), what digests keep of
    them (tags, snooze, link) and the Teams reference of their conversation."""

    projects: tuple[tuple[Project, Workspace], ...]
    answers: Mapping[int, tuple[Answer, ...]]
    items: Mapping[int, Mapping[str, tuple[Item, ...]]]
    open_questions: Mapping[int, tuple[OpenQuestion, ...]] = field(default_factory=dict)
    assignments: Mapping[int, tuple[Assignment, ...]] = field(default_factory=dict)
    digest: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    references: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)


def _project(row: sa.Row) -> Project:
    fields = {name: getattr(row, name) for name in Project.__dataclass_fields__}
    return Project(**(fields | {"sections": tuple(row.sections or ())}))


def _item(kind: str, row: sa.Row) -> Item:
    fields = {
        name: getattr(row, name, None) for name in Item.__dataclass_fields__ if name != "kind"
    }
    return Item(kind=kind, **fields)


async def workspace_named(
    *, session: AsyncSession, platform: str, external_id: str
) -> Workspace | None:
    """Return the workspace of a platform's id, if mlplan knows it (for the operator's commands)."""
    row = (
        await session.execute(
            sa.select(WORKSPACES).where(
                WORKSPACES.c.platform == platform, WORKSPACES.c.external_id == external_id
            )
        )
    ).first()
    return Workspace(row.id, row.platform, row.external_id) if row else None


async def workspace_names(*, session: AsyncSession) -> list[str]:
    """List every workspace as `platform:id`, to say which exist when one is mistyped."""
    rows = await session.execute(
        sa.select(WORKSPACES.c.platform, WORKSPACES.c.external_id).order_by(
            WORKSPACES.c.platform, WORKSPACES.c.external_id
        )
    )
    return [f"{platform}:{external_id}" for platform, external_id in rows]


async def count_projects(*, session: AsyncSession, workspace_id: int | None = None) -> int:
    """Count the projects of a workspace, or of every workspace."""
    query = sa.select(sa.func.count()).select_from(PROJECTS)
    if workspace_id is not None:
        query = query.where(PROJECTS.c.workspace_id == workspace_id)
    return await session.scalar(query)


async def project_batch(
    *,
    session: AsyncSession,
    after: int = 0,
    limit: int = 500,
    workspace_id: int | None = None,
    project_ids: Iterable[int] | None = None,
    with_answers: bool = True,
) -> Batch:
    """Read up to `limit` projects with ids above `after` (keyset order), and all they hold.

    Answers and items come in one `IN` query each for the whole batch, not one per project.
    `project_ids` reads exactly those projects instead; `with_answers=False` leaves answers out.
    """
    query = (
        sa.select(PROJECTS, WORKSPACES.c.platform, WORKSPACES.c.external_id)
        .join(WORKSPACES, WORKSPACES.c.id == PROJECTS.c.workspace_id)
        .where(PROJECTS.c.id > after)
        .order_by(PROJECTS.c.id)
        .limit(limit)
    )
    if workspace_id is not None:
        query = query.where(PROJECTS.c.workspace_id == workspace_id)
    if project_ids is not None:
        query = query.where(PROJECTS.c.id.in_(list(project_ids)))
    projects = tuple(
        (_project(row), Workspace(row.workspace_id, row.platform, row.external_id))
        for row in await session.execute(query)
    )
    ids = [project.id for project, _ in projects]
    answers: dict[int, list[Answer]] = defaultdict(list)
    items: dict[int, dict[str, list[Item]]] = defaultdict(lambda: {k: [] for k in MODELS})
    if ids and with_answers:
        rows = await session.execute(
            sa.select(ANSWERS)
            .where(ANSWERS.c.project_id.in_(ids))
            .order_by(ANSWERS.c.project_id, ANSWERS.c.question_id, ANSWERS.c.version)
        )
        for row in rows:
            answers[row.project_id].append(
                Answer(**{name: getattr(row, name) for name in Answer.__dataclass_fields__})
            )
    if ids:
        for kind, model in MODELS.items():
            table = model.__table__
            rows = await session.execute(
                sa.select(table)
                .where(table.c.project_id.in_(ids))
                .order_by(table.c.project_id, table.c.due.is_(None), table.c.due, table.c.id)
            )
            for row in rows:
                items[row.project_id][kind].append(_item(kind, row))
    asks, owed = await _owed(session, ids)
    return Batch(
        projects=projects,
        answers={k: tuple(v) for k, v in answers.items()},
        items={k: {kind: tuple(v) for kind, v in lists.items()} for k, lists in items.items()},
        open_questions=asks,
        assignments=owed,
        **await _kept(session, {project.id: ws.id for project, ws in projects}),
    )


async def _kept(
    session: AsyncSession, workspaces: Mapping[int, int]
) -> dict[str, dict[int, dict[str, Any]]]:
    """Read what digests keep of these projects (id to workspace id) and the Teams references
    of their conversations."""
    ids = list(workspaces)
    if not ids:
        return {}
    digest = {
        row.project_id: {
            "tags": list(row.tags or ()),
            "snoozed_until": row.snoozed_until,
            "snoozed_by": row.snoozed_by,
            "link": row.link,
        }
        for row in await session.execute(
            sa.select(DIGEST_PROJECTS).where(DIGEST_PROJECTS.c.project_id.in_(ids))
        )
    }
    keys = {f"{PROJECT_REFERENCE}{i}": i for i in ids}
    references = {
        keys[row.key]: _reference(row)
        for row in await session.execute(
            sa.select(REFERENCES).where(
                REFERENCES.c.workspace_id.in_(set(workspaces.values())),
                REFERENCES.c.key.in_(list(keys)),
            )
        )
        if workspaces[keys[row.key]] == row.workspace_id
    }
    return {"digest": digest, "references": references}


def _reference(row: sa.Row) -> dict[str, Any]:
    return {
        "reference": row.reference,
        "broken_at": row.broken_at,
        "broken_reason": row.broken_reason,
        "updated_at": row.updated_at,
    }


async def first_projects(*, session: AsyncSession, workspace_ids: Iterable[int]) -> set[int]:
    """Return the id of each workspace's first project: its document carries the workspace's."""
    rows = await session.scalars(
        sa.select(sa.func.min(PROJECTS.c.id))
        .where(PROJECTS.c.workspace_id.in_(list(workspace_ids)))
        .group_by(PROJECTS.c.workspace_id)
    )
    return set(rows)


async def shown(*, session: AsyncSession, workspace_id: int) -> dict[str, dict[str, Any]]:
    """Read what the last digests of a workspace's subscribers showed: per snapshot (its id, as
    text) the facts of each project (its id, as text) that the next digest compares with."""
    used = sa.select(SUBSCRIPTIONS.c.last_snapshot_id).where(
        SUBSCRIPTIONS.c.workspace_id == workspace_id
    )
    rows = await session.execute(
        sa.select(SNAPSHOTS.c.id, SNAPSHOTS.c.state).where(
            SNAPSHOTS.c.workspace_id == workspace_id, SNAPSHOTS.c.id.in_(used)
        )
    )
    return {str(snapshot_id): state for snapshot_id, state in rows}


async def workspace_state(*, session: AsyncSession, workspace_id: int) -> dict[str, list[dict]]:
    """Read what a workspace keeps beside its projects: who gets its digest, what mlplan knows
    of its people (names, emails, time zones), and the Teams references of its people and
    chats (a project's own goes with the project)."""
    subscriptions = await session.execute(
        sa.select(SUBSCRIPTIONS)
        .where(SUBSCRIPTIONS.c.workspace_id == workspace_id)
        .order_by(SUBSCRIPTIONS.c.id)
    )
    people = await session.execute(
        sa.select(PEOPLE).where(PEOPLE.c.workspace_id == workspace_id).order_by(PEOPLE.c.id)
    )
    references = await session.execute(
        sa.select(REFERENCES)
        .where(
            REFERENCES.c.workspace_id == workspace_id,
            REFERENCES.c.key.not_like(f"{PROJECT_REFERENCE}%"),
        )
        .order_by(REFERENCES.c.id)
    )
    return {
        "digests": [
            {
                "target_kind": row.target_kind,
                "target_id": row.target_id,
                "timezone": row.timezone,
                "scope_kind": row.scope_kind,
                "scope_value": row.scope_value,
                "every_weeks": row.every_weeks,
                "created_by": row.created_by,
                "created_at": row.created_at,
                "last_sent_at": row.last_sent_at,
                # What its last digest showed, to say what changed since: see `shown`.
                "last_shown": None if row.last_snapshot_id is None else str(row.last_snapshot_id),
            }
            for row in subscriptions
        ],
        "people": [
            {
                "id": row.external_id,
                "name": row.name,
                "email": row.email,
                "timezone": row.timezone,
                "updated_at": row.updated_at,
            }
            for row in people
        ],
        "conversations": [{"key": row.key, **_reference(row)} for row in references],
    }


async def _owed(
    session: AsyncSession, ids: list[int]
) -> tuple[dict[int, tuple[OpenQuestion, ...]], dict[int, tuple[Assignment, ...]]]:
    """Read the open questions and the sections owed of these projects: one statement each."""
    if not ids:
        return {}, {}
    asks: dict[int, list[OpenQuestion]] = defaultdict(list)
    owed: dict[int, list[Assignment]] = defaultdict(list)
    for row in await session.execute(
        sa.select(OPEN_QUESTIONS)
        .where(OPEN_QUESTIONS.c.project_id.in_(ids), OPEN_QUESTIONS.c.closed_at.is_(None))
        .order_by(OPEN_QUESTIONS.c.project_id, OPEN_QUESTIONS.c.id)
    ):
        asks[row.project_id].append(OpenQuestion.of(row))
    for row in await session.execute(
        sa.select(ASSIGNMENTS)
        .where(ASSIGNMENTS.c.project_id.in_(ids), ASSIGNMENTS.c.done_at.is_(None))
        .order_by(ASSIGNMENTS.c.project_id, ASSIGNMENTS.c.id)
    ):
        owed[row.project_id].append(Assignment.of(row))
    return {k: tuple(v) for k, v in asks.items()}, {k: tuple(v) for k, v in owed.items()}


async def taken_names(
    *, session: AsyncSession, workspace_id: int, names: Iterable[str]
) -> dict[str, str]:
    """Return which of these project names the workspace already has: name key to stored name."""
    keys = sorted({name_key(n) for n in names})
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        rows = await session.execute(
            sa.select(PROJECTS.c.name_key, PROJECTS.c.name).where(
                PROJECTS.c.workspace_id == workspace_id,
                PROJECTS.c.name_key.in_(keys[start : start + 500]),
            )
        )
        found.update({key: name for key, name in rows})
    return found


async def remove_projects(*, session: AsyncSession, workspace_id: int, names: Iterable[str]) -> int:
    """Delete the workspace's projects of these names with all they hold; return how many went."""
    keys = sorted({name_key(n) for n in names})
    removed = 0
    for start in range(0, len(keys), 500):
        result = await session.execute(
            sa.delete(PROJECTS).where(
                PROJECTS.c.workspace_id == workspace_id,
                PROJECTS.c.name_key.in_(keys[start : start + 500]),
            )
        )
        removed += result.rowcount
    return removed


async def insert_projects(*, session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert project rows in bulk (`name_key` is derived here); return their ids, in order."""
    if not rows:
        return []
    result = await session.execute(
        sa.insert(PROJECTS).returning(PROJECTS.c.id, sort_by_parameter_order=True),
        [row | {"name_key": name_key(row["name"])} for row in rows],
    )
    return list(result.scalars())


def _plain(value: Any) -> str:
    if isinstance(value, date):  # datetimes too: ISO 8601, with their offsets
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} in bulk")


async def _bulk(session: AsyncSession, insert: sa.Insert, rows: list[dict[str, Any]]) -> None:
    """Insert rows in bulk: on PostgreSQL one statement reading every row from one JSON array.

    An executemany there costs a round of the protocol a row, a thousand-row VALUES list costs
    the driver more to parse than to send, and arrays more to escape: one JSON text is cheapest.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(insert, rows)
        return
    table = insert.table
    columns = [table.c[name] for name in rows[0]]
    document = sa.cast(sa.bindparam("rows", json.dumps(rows, default=_plain)), postgresql.JSONB)
    read = (
        sa.func.jsonb_to_recordset(document)
        .table_valued(*(sa.column(c.name, c.type) for c in columns))
        .render_derived(with_types=True)
    )
    await session.execute(
        insert.from_select(columns, sa.select(*(read.c[c.name] for c in columns)))
    )


async def insert_answers(*, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert answer versions in bulk."""
    await _bulk(session, sa.insert(ANSWERS), rows)


async def insert_items(*, session: AsyncSession, kind: str, rows: list[dict[str, Any]]) -> None:
    """Insert milestones (`kind` "milestone") or documentation items ("doc") in bulk."""
    await _bulk(session, sa.insert(MODELS[kind].__table__), rows)


async def insert_owed(
    *, session: AsyncSession, questions: list[dict[str, Any]], sections: list[dict[str, Any]]
) -> None:
    """Insert open questions and owed sections in bulk, with when they are due and were sent."""
    await _bulk(session, sa.insert(OPEN_QUESTIONS), questions)
    await _bulk(session, sa.insert(ASSIGNMENTS), sections)


def _new_only(session: AsyncSession, table: sa.Table, *unique: str) -> sa.Insert:
    """An INSERT that leaves alone the rows already there (the target's own are newer)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))


async def insert_kept(
    *, session: AsyncSession, digest: list[dict[str, Any]], references: list[dict[str, Any]]
) -> None:
    """Insert what digests keep of projects and their conversations' references, in bulk."""
    await _bulk(session, sa.insert(DIGEST_PROJECTS), digest)
    await _bulk(session, _new_only(session, REFERENCES, "workspace_id", "key"), references)


async def insert_workspace_state(
    *, session: AsyncSession, workspace_id: int, state: Mapping[str, list[dict[str, Any]]]
) -> None:
    """Write what `workspace_state` read into a workspace, keeping what it has already: a
    subscriber, a person or a reference the target knows stays as the target has it."""
    ours = {"workspace_id": workspace_id}
    await _bulk(
        session,
        _new_only(session, SUBSCRIPTIONS, "workspace_id", "target_kind", "target_id"),
        [ours | {k: v for k, v in row.items() if k != "last_shown"} for row in state["digests"]],
    )
    people = [
        ours | {"external_id": row["id"]} | {k: v for k, v in row.items() if k != "id"}
        for row in state["people"]
    ]
    await _bulk(session, _new_only(session, PEOPLE, "workspace_id", "external_id"), people)
    await _bulk(
        session,
        _new_only(session, REFERENCES, "workspace_id", "key"),
        [ours | row for row in state["conversations"]],
    )


async def restore_shown(
    *,
    session: AsyncSession,
    workspace_id: int,
    shown: Mapping[str, dict[str, Any]],
    subscribers: Mapping[str, list[tuple[str, str]]],
    now: datetime,
) -> None:
    """Keep again what the last digests showed: one snapshot per label of the file (its facts
    keyed by the projects' new ids), and point the subscribers (kind, id) that showed it at it.

    A subscriber the workspace had already keeps its own.
    """
    for label, state in shown.items():
        snapshot_id = await session.scalar(
            sa.insert(SNAPSHOTS)
            .values(workspace_id=workspace_id, taken_at=now, state=state)
            .returning(SNAPSHOTS.c.id)
        )
        targets = subscribers.get(label, [])
        if targets:
            await session.execute(
                sa.update(SUBSCRIPTIONS)
                .where(
                    SUBSCRIPTIONS.c.workspace_id == workspace_id,
                    SUBSCRIPTIONS.c.last_snapshot_id.is_(None),
                    sa.tuple_(SUBSCRIPTIONS.c.target_kind, SUBSCRIPTIONS.c.target_id).in_(targets),
                )
                .values(last_snapshot_id=snapshot_id)
            )


# The zone whose day begins first (UTC+14): nine o'clock there is the earliest moment at which
# any recipient's day, wherever they are, reaches the hour reminders go out.
EARLIEST_ZONE = timezone(timedelta(hours=14))


def _first_looks(
    items: list[Item], claimed: set[str], today: date, moment: datetime
) -> list[tuple[str, int, datetime | None]]:
    """When the tick should first look at each open item of a restored project.

    Nine, in the earliest zone, of the first day from `today` with an occasion not claimed
    (`flows.reminders.next_day`, as the tick reckons it): no recipient can be due a reminder
    before then, so the first tick after a restore looks only at what may be due, and works
    out each item's exact time in its recipient's zone when it does. Never after the moment's
    own look for what is due now; None for an item with no occasion to come.
    """
    tracked = [item.tracked() for item in items]
    looks = []
    for item, seen in zip(items, tracked, strict=True):
        if item.status != "open":
            continue
        day = next_day(tracked, seen, start=today, claimed=claimed)
        at = reminder_time(day, EARLIEST_ZONE) if day is not None else None
        looks.append((item.kind, item.id, at if at is None or at > moment else moment))
    return looks


def _occasions_until(item: Item, today: date) -> list[str]:
    """List the reminder occasions of an item from its due date that fall on `today` or before.

    They are the keys `flows.reminders.due_items` gives on each day up to `today` for the item
    as it is now (its due date and snooze): a few days before, on the day, each overdue week.
    """
    if item.status != "open" or item.due is None:
        return []
    start = item.snoozed_until  # no reminder is given before a snooze ends
    suffix = f":after-snooze:{start.isoformat()}" if start else ""
    base = f"{item.kind}:{item.id}:{item.due.isoformat()}"

    def reached(first: date, last: date) -> bool:
        """Tell whether some day of [first, last] is on or before today and not snoozed."""
        last = min(last, today)
        return first <= last and (start is None or start <= last)

    found = []
    if reached(item.due - timedelta(days=LEAD_DAYS), item.due - timedelta(days=1)):
        found.append(f"{base}:before{suffix}")
    if reached(item.due, item.due):
        found.append(f"{base}:today{suffix}")
    week = 0
    while item.due + timedelta(days=7 * week + 1) <= today:
        if reached(
            item.due + timedelta(days=7 * week + 1), item.due + timedelta(days=7 * week + 7)
        ):
            found.append(f"{base}:overdue:{week}{suffix}")
        week += 1
    return found


def _after_stage(items: list[Item], today: date) -> list[tuple[Item, str]]:
    """List the "document it as you go" nudges that a tick would give today, as (doc, key)."""
    done = {i.key for i in items if i.kind == "milestone" and i.status == "done" and i.key}
    docs = {i.key: i for i in items if i.kind == "doc" and i.key}
    found = []
    for stage, doc_keys in STAGE_DOCS.items():
        for doc_key in doc_keys if stage in done else ():
            doc = docs.get(doc_key)
            if doc is None or doc.status != "open" or doc.link:
                continue
            if doc.snoozed_until is not None and today < doc.snoozed_until:
                continue
            found.append((doc, f"doc:{doc.id}:after:{stage}"))
    return found


async def mark_told_until(
    *, session: AsyncSession, project_ids: Iterable[int], moment: datetime, today: date
) -> int:
    """Count as already sent what a restore carries: every owner notice and past reminder.

    The rule, for the items of these projects: every owner notice for the current owner, and
    every reminder occasion up to the import moment (`today` is its day where reminders are
    reckoned), count as sent; later occasions are reminded as usual. Written as claimed delivery
    keys (`assigned:…`, `occasion:…`, as bot/scheduler.py claims them), with each item's
    owner_notice_at cleared and remind_at set to its first look (`_first_looks`); return how
    many keys.
    """
    batch = await project_batch(
        session=session, project_ids=project_ids, limit=10**9, with_answers=False
    )
    rows = []
    looks: list[tuple[str, int, datetime | None]] = []  # (kind, id, first look)
    for project, workspace in batch.projects:
        lists = batch.items.get(project.id, {})
        every = [*lists.get("milestone", ()), *lists.get("doc", ())]
        told: list[tuple[str, str, str]] = []  # (key, kind, target)
        for item in every:
            who, _ = recipient(item.owner, project.owner)
            if item.owner and item.owner.get("id"):
                told.append((f"assigned:{item.kind}:{item.id}:{who}", "assigned", who))
            told += [(f"occasion:{k}", "occasion", who) for k in _occasions_until(item, today)]
        for doc, key in _after_stage(every, today):
            told.append((f"occasion:{key}", "occasion", recipient(doc.owner, project.owner)[0]))
        claimed = {key.removeprefix("occasion:") for key, kind, _ in told if kind == "occasion"}
        looks += _first_looks(every, claimed, today, moment)
        rows += [
            {
                "key": key,
                "kind": kind,
                "workspace_id": workspace.id,
                "target_id": target,
                "status": "restored",
                "attempts": 0,
                "claimed_at": moment,
            }
            for key, kind, target in told
        ]
    await _bulk(session, _new_only(session, DELIVERIES, "key"), rows)
    # The owners count as told; each open item is looked at first when its next occasion
    # (after those claimed above) can come, and the tick works out the exact time then.
    ids = [project.id for project, _ in batch.projects]
    for model in MODELS.values():
        await session.execute(
            sa.update(model)
            .where(model.project_id.in_(ids))
            .values(
                owner_notice_at=None,
                remind_at=sa.case((model.status == "open", moment), else_=None),
            )
            .execution_options(synchronize_session=False)
        )
    for kind in MODELS:
        await advance(
            session=session,
            kind=kind,
            times=[(i, moment, at) for k, i, at in looks if k == kind and at != moment],
        )
    return len(rows)
