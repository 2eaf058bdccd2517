"""A scripted person answering the intake (the plan's core), and the pure engine as the oracle."""

from __future__ import annotations

import re
from datetime import datetime
from itertools import count

from flows import engine
from flows.model import Question
from flows.parse import mention_token
from flows.replies import Ask, DeepDives, IntakeDone
from flows.state import State
from tests.conftest import NOW

PROJECT = "Churn model"
_TOKEN = re.compile(r"@\{(?P<id>[^|{}]+)(?:\|(?P<name>[^{}]*))?\}")


def mentioned(text: str) -> tuple[str, str] | None:
    """Return the (id, name) of a person when the text is only a neutral mention of them."""
    match = _TOKEN.fullmatch(text)
    return (match["id"], match["name"] or "") if match else None


class Script:
    """Choose a person's inputs for each open question: first a bad answer per kind, then a good one."""

    def __init__(self, now: datetime = NOW):
        self.refused_kinds: set[str] = set()
        self.dates = count(1)
        self.future_year = now.year + 4  # due dates well after the day the plan is made
        self.did = {"help": False, "status": False, "back": False, "skip": False}

    def good_answer(self, question) -> str:
        match question.kind:
            case "text":
                return f"Our answer to {question.id}"
            case "number":
                return "12"
            case "money":
                return "€1.5M" if question.id == "infrastructure" else "$12k"
            case "percent":
                return "10-30%" if question.allow_range else "95%"
            case "date":
                return f"{self.future_year}-01-{next(self.dates):02d}"
            case "user":
                if question.id.endswith("owner"):
                    return mention_token("U024BE7LH", "bob")
                return "carol@example.com"
            case "choice":
                return (
                    question.choices[-1]
                    if question.id == "workflow_clarity"
                    else question.choices[0]
                )
            case _:
                return "yes"

    def inputs_for(self, question: Question) -> list[str]:
        bad = {
            "money": "a lot of money",
            "number": "a few",
            "date": "2020-01-06",  # in the past: refused for due dates
            "user": "bob",
            "choice": "42",
            "yesno": "maybe",
            "percent": "150%",
        }
        lines = []
        if question.kind in bad and question.kind not in self.refused_kinds:
            self.refused_kinds.add(question.kind)
            lines.append(bad[question.kind])
        good = self.good_answer(question)
        if question.id == "value_proposition" and not self.did["back"]:
            self.did["back"] = True
            return [*lines, "back", "Customers leave without warning", good]
        if question.id == "target_users" and not self.did["help"]:
            self.did["help"] = True
            lines.append("help")
        if question.id == "decisions" and not self.did["skip"]:
            self.did["skip"] = True
            return [*lines, "skip"]
        if question.id == "data_sources" and not self.did["status"]:
            self.did["status"] = True
            lines.append("status")
        return [*lines, good]


def plan_inputs(flow, now: datetime = NOW) -> tuple[list[str], State, list[str]]:
    """Walk the intake through the pure engine as the oracle at `now`.

    Return the inputs to type, the final state and the refusals.
    """
    turn = engine.start(flow, State(name=PROJECT, sections=flow.core))
    script, inputs, refusals = Script(now), [], []
    pending = list(script.inputs_for(turn.replies[-1].question))
    while pending:
        text = pending.pop(0)
        inputs.append(text)
        turn = engine.advance(flow, turn.state, text, now=now)
        last = turn.replies[-1]
        if isinstance(last, Ask) and last.refusal:
            refusals.append(last.refusal)
        if not pending and isinstance(last, Ask):
            # A follow-up asks about the answer just saved: the scripted person keeps it.
            pending = ["keep"] if last.follow_up else script.inputs_for(last.question)
    assert isinstance(turn.replies[-2], IntakeDone), "the oracle should finish the intake"
    assert isinstance(turn.replies[-1], DeepDives), "and offer the deep dives"
    return inputs, turn.state, refusals
