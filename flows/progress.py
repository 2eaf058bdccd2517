"""Count how far a plan is: the applicable questions visited, over sections or the whole plan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import Flow


def progress(
    flow: Flow, answers: Mapping[str, Any], sections: tuple[str, ...] | None = None
) -> tuple[int, int]:
    """Count the applicable questions visited and in all, over some sections or the whole plan."""
    ids = sections or tuple(s.id for s in flow.sections)
    questions = [q for q in flow.walk(ids) if q.applies(answers)]
    return sum(q.id in answers for q in questions), len(questions)


def visited_sections(flow: Flow, answers: Mapping[str, Any]) -> set[str]:
    """Return the ids of the sections with at least one question answered or skipped."""
    return {flow.section_of[qid].id for qid in answers if qid in flow.section_of}
