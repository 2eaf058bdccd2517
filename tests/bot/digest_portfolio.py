"""Put issue 13's eight-project portfolio into a real database, behind projects started in a chat."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from flows.model import Flow
from storage import models
from tests.flows.portfolio import Planned, portfolio


async def seed(sessions, flow: Flow, project_ids: dict[str, int], now: datetime) -> list[Planned]:
    """Give each started project its owner, answers, items and last activity from the portfolio."""
    planned = portfolio(flow)
    async with sessions() as session:
        for p in planned:
            project = await session.get(models.Project, project_ids[p.name])
            at = now - timedelta(days=p.idle_days)
            project.owner = p.owner
            project.stage = p.answers.get("stage")
            project.current_question_id = None if p.intake_done else p.current_question
            project.intake_done_at = at if p.intake_done else None
            project.created_at = project.updated_at = at - timedelta(days=1)
            await session.execute(
                sa.delete(models.Answer).where(models.Answer.project_id == project.id)
            )
            for question_id, value in p.answers.items():
                session.add(
                    models.Answer(
                        project_id=project.id,
                        question_id=question_id,
                        version=1,
                        value=value,
                        raw="" if value is None else str(value),
                        skipped=value is None,
                        author=p.owner,
                        created_at=at,
                    )
                )
            for item in p.items:
                model = models.Milestone if item.kind == "milestone" else models.DocItem
                session.add(
                    model(
                        project_id=project.id,
                        key=item.key,
                        title=item.title,
                        owner=item.owner,
                        due=now.date() + timedelta(days=item.due_in),
                        status="done" if item.done else "open",
                        done_at=at if item.done else None,
                        created_at=at,
                        updated_at=at,
                    )
                )
            if p.tags:
                session.add(
                    models.DigestProject(
                        project_id=project.id, workspace_id=project.workspace_id, tags=list(p.tags)
                    )
                )
        await session.commit()
    return planned
