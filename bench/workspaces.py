"""Build a bench's workspace through `mlplan import`: its projects and its digest subscribers.

A figure writes its projects as `mlplan export --all` writes them and imports the file with the
restore of `mlplan import` (`bot.backup.restore`, in process): what was due up to the import
counts as already sent, as after any restore. The file's first document carries the digest
subscribers (`leads`), as `export --all` writes what a workspace keeps.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.backup import Restored, restore
from flows.model import Flow
from storage import models

UTC = ZoneInfo("UTC")
CHANNELS = 50  # projects are spread over this many channels; a tenth of subscribers follow one


def channel(number: int) -> str:
    """Name the channel of the project numbered `number` (from 0)."""
    return f"C{number % CHANNELS:04d}"


@dataclass(frozen=True)
class Imported:
    """What building a workspace took: the import's report and its time, the workspace's id."""

    restored: Restored
    seconds: float
    workspace_id: int


async def import_file(
    sessions: async_sessionmaker,
    flow: Flow,
    path: Path,
    *,
    workspace: str,
    now: datetime,
    tz: ZoneInfo = UTC,
) -> Imported:
    """Import a backup file into `workspace` (`platform:id`) as `mlplan import --now` does.

    `tz` is mlplan's default time zone (MLPLAN_TIMEZONE), where the import's day is reckoned.
    """
    started = time.perf_counter()
    restored = await restore(
        sessions=sessions,
        flow=flow,
        path=path,
        workspace=workspace,
        replace=False,
        now=now,
        today=now.astimezone(tz).date(),
    )
    seconds = time.perf_counter() - started
    platform, _, external_id = workspace.partition(":")
    async with sessions() as session:
        workspace_id = await session.scalar(
            sa.select(models.Workspace.id).where(
                models.Workspace.platform == platform, models.Workspace.external_id == external_id
            )
        )
    return Imported(restored, seconds, workspace_id)


def leads(subscribers: int, *, at: datetime) -> dict[str, list[dict]]:
    """What a workspace keeps when `subscribers` leads subscribed to its weekly digest at `at`,
    as its first project's document carries it (`workspace`).

    Most follow every project; every tenth one channel's projects, so their digests differ.
    """
    return {
        "digests": [
            {
                "target_kind": "user",
                "target_id": f"ULEAD{s:05d}",
                "timezone": "UTC",
                "created_by": {"id": f"ULEAD{s:05d}"},
                "created_at": at.isoformat(),
                "scope_kind": "channel" if s % 10 == 0 else None,
                "scope_value": channel(s) if s % 10 == 0 else None,
                "every_weeks": 1,
            }
            for s in range(subscribers)
        ]
    }


def carrying(line: str, kept: dict[str, list[dict]]) -> str:
    """Return a document's line with what its workspace keeps (for its first project)."""
    return json.dumps(json.loads(line) | {"workspace": kept}, ensure_ascii=False)
