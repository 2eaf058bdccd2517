"""Declare the planning flow as data and load it strictly from the section files."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flows.measurable import Need, missing
from flows.parse import parse_answer

Kind = Literal["text", "number", "money", "percent", "date", "user", "choice", "yesno"]
KINDS: tuple[str, ...] = Kind.__args__

SEEDS = ("000", "001", "002", "003", "004")
_ID = r"^[a-z][a-z0-9_]*$"


class FlowError(ValueError):
    """A flow declaration that cannot be used: unknown keys, duplicate ids, bad references."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """Test earlier answers: one question's answer, or all or any of several conditions.

    `equals`, `in` and `not_in` hold only for an answer given (a skip never matches them);
    `is` tests the visit itself: `skipped`, `unanswered` (skipped or not yet asked), `visited`;
    `lacks` holds for a text answer that names no figure or no time frame (flows.measurable).
    """

    question: str | None = Field(default=None, pattern=_ID)
    equals: Any = None
    one_of: tuple[Any, ...] | None = Field(default=None, alias="in")
    not_in: tuple[Any, ...] | None = None
    state: Literal["skipped", "unanswered", "visited"] | None = Field(default=None, alias="is")
    lacks: tuple[Need, ...] | None = Field(default=None, min_length=1)
    every: tuple[Condition, ...] | None = Field(default=None, alias="all", min_length=1)
    some: tuple[Condition, ...] | None = Field(default=None, alias="any", min_length=1)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.equals, self.one_of, self.not_in, self.state, self.lacks]
        given = sum(test is not None for test in tests)
        groups = sum(group is not None for group in (self.every, self.some))
        if self.question is None:
            if groups != 1 or given:
                raise ValueError("a condition needs a `question` with one test, or `all` or `any`")
        elif given != 1 or groups:
            raise ValueError(
                "a condition needs exactly one of `equals` or `in` (or `not_in`, `is`, `lacks`)"
            )
        return self

    def holds(self, answers: Mapping[str, Any]) -> bool:
        """Tell whether the answers satisfy this condition."""
        if self.every is not None:
            return all(part.holds(answers) for part in self.every)
        if self.some is not None:
            return any(part.holds(answers) for part in self.some)
        value = answers.get(self.question)
        if self.state is not None:
            visited = self.question in answers
            return {
                "skipped": visited and value is None,
                "unanswered": value is None,
                "visited": visited,
            }[self.state]
        if value is None:
            return False
        if self.lacks is not None:
            return isinstance(value, str) and bool(missing(value, self.lacks))
        if self.one_of is not None:
            return value in self.one_of
        if self.not_in is not None:
            return value not in self.not_in
        return value == self.equals

    def tests(self) -> Iterator[Condition]:
        """Yield the single-question tests inside this condition."""
        if self.question is not None:
            yield self
        for part in (*(self.every or ()), *(self.some or ())):
            yield from part.tests()

    def values(self) -> tuple[Any, ...]:
        """Return the answer values a single-question test compares with."""
        if self.state is not None or self.lacks is not None:
            return ()
        for values in (self.one_of, self.not_in):
            if values is not None:
                return values
        return (self.equals,)


class Tracked(_Strict):
    """Tie an answer to a milestone or documentation item that the plan keeps and reminds of."""

    key: str = Field(pattern=_ID)
    field: Literal["owner", "due"]
    title: str = Field(min_length=1)


class FollowUp(_Strict):
    """Ask once more when an answer names no figure or no time frame: what it needs, and how."""

    needs: tuple[Need, ...] = Field(min_length=1)
    ask: str = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> FollowUp:
        if len(set(self.needs)) != len(self.needs):
            raise ValueError("a follow-up names each need once")
        return self


class Question(_Strict):
    """One question of a section: stable id, kind, prompt with an example, help and origin."""

    id: str = Field(pattern=_ID)
    kind: Kind
    label: str = Field(min_length=1, max_length=60)
    prompt: str = Field(min_length=1)
    example: str = Field(min_length=1)
    help: str = Field(min_length=1)
    seed: str = Field(min_length=5)
    choices: tuple[str, ...] = ()
    when: Condition | None = None
    allow_range: bool = False
    future_only: bool = False
    milestone: Tracked | None = None
    doc: Tracked | None = None
    # An earlier question whose answer stands in while this one has none (a document due with
    # its milestone): the plan uses it and says so.
    default: str | None = Field(default=None, pattern=_ID)
    # Asked once more, after the answer is saved, when it lacks what a measurable one names.
    follow_up: FollowUp | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Question:
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError("`choices` are required for kind choice and only for it")
        if len(set(c.lower() for c in self.choices)) != len(self.choices):
            raise ValueError("duplicate choices")
        if self.allow_range and self.kind != "percent":
            raise ValueError("`allow_range` applies to percent questions only")
        if self.future_only and self.kind != "date":
            raise ValueError("`future_only` applies to date questions only")
        for tracked in (self.milestone, self.doc):
            if tracked and {"owner": "user", "due": "date"}[tracked.field] != self.kind:
                wanted = {"owner": "user", "due": "date"}[tracked.field]
                raise ValueError(f"a tracked `{tracked.field}` must be a {wanted} question")
        if self.follow_up and self.kind != "text":
            raise ValueError("`follow_up` applies to text questions only")
        if self.milestone and self.doc:
            raise ValueError("a question tracks a milestone or a document, not both")
        if self.seed[:3] not in SEEDS:
            raise ValueError(f"`seed` must start with one of {', '.join(SEEDS)}")
        return self

    def applies(self, answers: Mapping[str, Any]) -> bool:
        """Tell whether this question's condition on earlier answers holds (skipped never does)."""
        return self.when is None or self.when.holds(answers)

    def parse(self, text: str, *, now: datetime) -> Any:
        """Parse an answer to this question with its kind, choices and limits (raises ParseError)."""
        return parse_answer(
            self.kind,
            text,
            now=now,
            choices=self.choices,
            allow_range=self.allow_range,
            future_only=self.future_only,
        )


class SectionWarning(_Strict):
    """Warn a lead about the plan when the answers meet a condition."""

    id: str = Field(pattern=_ID)
    when: Condition
    text: str = Field(min_length=1)


class Section(_Strict):
    """An ordered group of questions that ends with a summary card, with its warnings."""

    id: str = Field(pattern=_ID)
    order: int = Field(ge=1)
    title: str = Field(min_length=1)
    # Part of the short core that `new` asks; the other sections are deep dives, offered after.
    core: bool = False
    intro: str = Field(min_length=1)
    questions: tuple[Question, ...] = Field(min_length=1)
    warnings: tuple[SectionWarning, ...] = ()
    # Date questions whose answers should come in this order (the milestones'): a date out of
    # order is asked about once, "X is before Y: is that right?".
    dates_in_order: tuple[str, ...] = ()


class Flow:
    """The whole plan: sections in order, every question reachable by its id."""

    def __init__(self, sections: list[Section]):
        self.sections: tuple[Section, ...] = tuple(sorted(sections, key=lambda s: s.order))
        self.questions: dict[str, Question] = {}
        self.section_of: dict[str, Section] = {}
        self._check_sections()
        for section in self.sections:
            for question in section.questions:
                self._add(section, question)
        self._check_warnings()
        self._check_dates_in_order()
        # A flow that marks no section as core is all core (one intake, no deep dives).
        marked = tuple(s.id for s in self.sections if s.core)
        self.core: tuple[str, ...] = marked or tuple(s.id for s in self.sections)
        self.deep: tuple[str, ...] = tuple(s.id for s in self.sections if s.id not in self.core)
        # The questions that declare a milestone or a documentation item, in flow order.
        self.tracking: dict[str, tuple[Question, ...]] = {
            kind: tuple(q for q in self.questions.values() if getattr(q, kind) is not None)
            for kind in ("milestone", "doc")
        }

    def _check_sections(self) -> None:
        for attr in ("id", "order"):
            values = [getattr(s, attr) for s in self.sections]
            dupes = sorted({str(v) for v in values if values.count(v) > 1})
            if dupes:
                raise FlowError(f"duplicate section {attr}: {', '.join(dupes)}")

    def _add(self, section: Section, question: Question) -> None:
        if question.id in self.questions:
            raise FlowError(f"duplicate question id {question.id!r} in section {section.id!r}")
        if question.when is not None:
            self._check_condition(f"question {question.id!r}", question.when, "an earlier question")
        if question.default is not None:
            stand_in = self.questions.get(question.default)
            if stand_in is None or stand_in.kind != question.kind:
                raise FlowError(
                    f"question {question.id!r} defaults to {question.default!r}, which is not"
                    f" an earlier {question.kind} question"
                )
        self.questions[question.id] = question
        self.section_of[question.id] = section

    def _check_warnings(self) -> None:
        seen: set[str] = set()
        for section in self.sections:
            for warning in section.warnings:
                if warning.id in seen:
                    raise FlowError(
                        f"duplicate warning id {warning.id!r} in section {section.id!r}"
                    )
                seen.add(warning.id)
                self._check_condition(f"warning {warning.id!r}", warning.when, "a question")

    def _check_dates_in_order(self) -> None:
        for section in self.sections:
            named = section.dates_in_order
            if len(set(named)) != len(named):
                raise FlowError(f"section {section.id!r} names a date twice in `dates_in_order`")
            for question_id in named:
                question = self.questions.get(question_id)
                if question is None or question.kind != "date":
                    raise FlowError(
                        f"section {section.id!r} orders {question_id!r}, which is not a date"
                        " question"
                    )

    def date_order(self, question_id: str) -> tuple[str, ...]:
        """Return the dates declared in order with this one (itself among them), else ()."""
        for section in self.sections:
            if question_id in section.dates_in_order:
                return section.dates_in_order
        return ()

    def _check_condition(self, owner: str, condition: Condition, known: str) -> None:
        """Refuse a condition on an unknown question, or on a value its question cannot have."""
        for test in condition.tests():
            target = self.questions.get(test.question)
            if target is None:
                raise FlowError(
                    f"{owner} has a condition on {test.question!r}, which is not {known}"
                )
            if test.lacks is not None and target.kind != "text":
                raise FlowError(
                    f"{owner} tests what {target.id!r} lacks, which only a text question can"
                )
            wanted = test.values()
            if target.kind == "choice" and not set(wanted) <= set(target.choices):
                unknown = ", ".join(repr(v) for v in wanted if v not in target.choices)
                raise FlowError(
                    f"{owner} has a condition on {target.id!r} with"
                    f" {unknown}, which is not one of its choices"
                )
            if target.kind == "yesno" and not all(isinstance(v, bool) for v in wanted):
                raise FlowError(
                    f"{owner} has a condition on the yes/no question"
                    f" {target.id!r}: test it with true or false"
                )

    def section(self, section_id: str) -> Section:
        """Return the section with this id."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def find_section(self, text: str) -> Section | None:
        """Find a section by id, order number or a unique prefix of its title."""
        wanted = text.strip().lower()
        for section in self.sections:
            if wanted in (section.id, str(section.order), section.title.lower()):
                return section
        matches = [s for s in self.sections if s.title.lower().startswith(wanted) and wanted]
        return matches[0] if len(matches) == 1 else None

    def find_question(self, text: str) -> Question | None:
        """Find a question by id, by label, or by a unique prefix of its label (any case)."""
        wanted = " ".join(text.split()).lower().strip("“”\"'")
        if not wanted:
            return None
        for question in self.questions.values():
            if wanted in (question.id, question.label.lower()):
                return question
        matches = [q for q in self.questions.values() if q.label.lower().startswith(wanted)]
        return matches[0] if len(matches) == 1 else None

    def walk(self, section_ids: tuple[str, ...]) -> Iterator[Question]:
        """Yield the questions of these sections in flow order."""
        for section in self.sections:
            if section.id in section_ids:
                yield from section.questions

    def tracked(self, kind: Literal["milestone", "doc"]) -> dict[str, str]:
        """Map each milestone or documentation key declared in the flow to its title."""
        found: dict[str, str] = {}
        for question in self.questions.values():
            item = getattr(question, kind)
            if item is not None:
                found.setdefault(item.key, item.title)
        return found


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A safe YAML loader (libyaml's, where PyYAML has it) that refuses a key given twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                first = first_line.get(key)
            except TypeError:  # an unhashable key: the base loader refuses it with its own error
                continue
            if first is None:
                first_line[key] = line
            else:
                raise yaml.constructor.ConstructorError(
                    problem=f"duplicate key {key!r} on line {line} (first given on line {first})"
                )
        return super().construct_mapping(node, deep=deep)


def _read(name: str, text: str) -> Section:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
        return Section.model_validate(data)
    except (yaml.YAMLError, ValidationError) as err:
        raise FlowError(f"{name}: {err}") from err


def load_flow(files: dict[str, str] | None = None) -> Flow:
    """Load and check the flow from the packaged section files (or from given texts)."""
    if files is None:
        folder = resources.files("flows") / "sections"
        files = {
            entry.name: entry.read_text(encoding="utf-8")
            for entry in folder.iterdir()
            if re.fullmatch(r"\d\d_[a-z_]+\.yaml", entry.name)
        }
    if not files:
        raise FlowError("no section files found")
    return Flow([_read(name, text) for name, text in sorted(files.items())])


@cache
def default_flow() -> Flow:
    """Return the packaged flow, loaded once per process."""
    return load_flow()
