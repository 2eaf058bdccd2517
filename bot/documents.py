"""Assemble a project's whole plan as one document, for `mlplan export` and the terminal's `/export`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from flows import export
from flows.model import Flow
from storage import projects as store
from storage import tracked


class Documents:
    """Read a project's answers, their versions and its tracked items, across workspaces."""

    def __init__(self, *, sessions: async_sessionmaker, flow: Flow):
        self.sessions = sessions
        self.flow = flow

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
