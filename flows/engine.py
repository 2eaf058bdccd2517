"""Walk a flow one answer at a time: a pure function from state and input to the next turn."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from flows import confirm, summary
from flows.dates import format_day
from flows.display import display
from flows.model import Flow, Question
from flows.parse import ParseError
from flows.progress import progress
from flows.replies import (
    Ask,
    CommandRef,
    DeepDives,
    IntakeDone,
    Offered,
    Reply,
    Say,
    SectionDone,
    Show,
)
from flows.state import Recorded, State, Turn

COMMANDS = ("skip", "later", "keep", "back", "status", "help", "edit")
COMMAND_HELP = (
    "Reply to answer the open question. `skip` says it does not apply, `later` leaves it as an"
    " open question that `status` lists until it is answered, `keep` keeps its current answer,"
    " `back` returns to the previous one, `edit <question>` asks an earlier one again, `status`"
    " shows how far the plan is, `help` explains the open question."
)
# What an answer left for later is stored as (skipped, with this as what was said): an open
# question with whoever said it as its owner, to revisit within REVISIT_DAYS.
LATER = "later"
REVISIT_DAYS = 7


def in_scope(flow: Flow, state: State) -> list[Question]:
    """List the questions of the state's sections that apply, in order."""
    return [q for q in flow.walk(state.sections) if q.applies(state.answers)]


def next_open(flow: Flow, state: State) -> Question | None:
    """Return the first applicable question in scope not yet answered or skipped."""
    return next((q for q in in_scope(flow, state) if q.id not in state.answers), None)


def start(flow: Flow, state: State, *, was_complete: bool = False) -> Turn:
    """Ask the open question, or the first unanswered one; report the plan if none is left.

    `was_complete`: the intake had ended before this turn, so its end is not announced again.
    """
    questions = in_scope(flow, state)
    open_ids = {q.id for q in questions}
    current = state.current if state.current in open_ids else None
    question = flow.questions[current] if current else next_open(flow, state)
    if question is None:
        final = replace(state, current=None)
        ended = _finish(flow, final, was_complete=was_complete)
        return Turn(final, ended, done=_complete(flow, final))
    state = replace(state, current=question.id)
    return Turn(state, (_ask(flow, state, question, opens=True),))


def advance(flow: Flow, state: State, text: str, *, now: datetime) -> Turn:
    """Take one input from the person: an answer to the open question or a command."""
    command = text.strip().lower()
    if command == "help":
        return Turn(state, (Say(_help(flow, state)),))
    if command == "status":
        shown: tuple[Reply, ...] = (Show(summary.status_card(flow, state)),)
        if state.current is not None:  # and the open question again, to answer it from here
            shown += (_ask(flow, state, flow.questions[state.current]),)
        return Turn(state, shown)
    if command == "back":
        return _back(flow, state)
    if command.startswith("edit "):
        chosen = flow.find_question(text.strip()[5:])
        if chosen is not None:  # else it is an answer that starts with "edit"
            return start_edit(flow, state, chosen.id)
    if state.current is None:
        return Turn(state, (Say(_finished_text(flow, state)),))

    question = flow.questions[state.current]
    if command == "keep":
        if question.id not in state.answers:
            nothing = "There is no answer to keep yet: answer the question, or `skip` it."
            return Turn(state, (_ask(flow, state, question, refusal=nothing),))
        return _move_on(flow, state, question, recorded=())
    if command == "skip":
        if question.id in state.answers:
            return _move_on(flow, state, question, recorded=())
        return _move_on(flow, state, question, (Recorded(question.id, None, text, skipped=True),))
    if command == LATER:
        if state.answers.get(question.id) is not None:  # an answer already: keep it
            return _move_on(flow, state, question, recorded=())
        revisit = format_day(now.date() + timedelta(days=REVISIT_DAYS))
        moved = _move_on(flow, state, question, (Recorded(question.id, None, LATER, skipped=True),))
        noted = Say(
            f"“{question.label}” is an open question now, yours to answer by {revisit}:"
            " `status` lists it until it is answered."
        )
        return replace(moved, replies=(noted, *moved.replies))
    try:
        value = question.parse(text, now=now)
    except ParseError as err:
        return Turn(state, (_ask(flow, state, question, refusal=str(err)),))
    return _take(flow, state, question, Recorded(question.id, value, text))


def _take(flow: Flow, state: State, question: Question, recorded: Recorded) -> Turn:
    """Store an answer; confirm how it was understood, and ask about it once if it is doubtful.

    A follow-up is the same question again, its answer saved: `keep` (or `skip`) keeps it.
    """
    saved = confirm.confirmation(question, recorded.value)
    doubt = confirm.doubt(flow, question, recorded.value, state.answers)
    if doubt is not None:
        asking = replace(
            state,
            answers={**state.answers, question.id: recorded.value},
            later=state.later - {question.id},  # answered now: no longer an open question
            # Resolved now, before the answer counts: the core's last answer, followed up,
            # ends the intake only once the person keeps or changes it.
            intake_done=_intake_done(flow, state),
        )
        ask = _ask(flow, asking, question)
        ask = replace(ask, confirmation=saved, follow_up=doubt.text)
        return Turn(asking, (ask,), (recorded,))
    moved = _move_on(flow, state, question, (recorded,))
    first = moved.replies[0] if moved.replies else None
    if saved is not None and isinstance(first, Ask):  # a card shows the answer itself
        moved = replace(moved, replies=(replace(first, confirmation=saved), *moved.replies[1:]))
    return moved


def _intake_done(flow: Flow, state: State) -> bool:
    """Tell whether the intake's end has come: as the state says, else by its answers."""
    return _complete(flow, state) if state.intake_done is None else state.intake_done


def revise(flow: Flow, state: State, question_id: str, text: str, *, now: datetime) -> Turn:
    """Take a changed earlier answer: a new version of it, the open question left as it is."""
    question = flow.questions[question_id]
    try:
        value = question.parse(text, now=now)
    except ParseError as err:
        return Turn(state, (Say(f"Your change to “{question.label}” was not saved. {err}"),))
    revised = replace(state, answers={**state.answers, question_id: value})
    shown = display(flow, question, value, revised.answers)
    said = f"Updated “{question.label}” to {shown}."
    doubt = confirm.doubt(flow, question, value, state.answers)
    reply = Say(said if doubt is None else f"{said} {doubt.finding}")
    return Turn(
        revised, (reply,), (Recorded(question_id, value, text),), done=_complete(flow, revised)
    )


def start_walk(flow: Flow, state: State, section_id: str) -> Turn:
    """Walk one section again from its first question, each asked with its current answer."""
    section = flow.section(section_id)
    sections = state.sections if section_id in state.sections else (*state.sections, section_id)
    walking = replace(state, sections=sections, walk=section_id)
    first = next((q for q in section.questions if q.applies(state.answers)), None)
    if first is None:
        return start(flow, replace(walking, walk=None))
    walking = replace(walking, current=first.id)
    return Turn(walking, (_ask(flow, walking, first, opens=True),))


def start_edit(flow: Flow, state: State, question_id: str) -> Turn:
    """Ask one question again with its current answer; then on with what is still open."""
    question = flow.questions[question_id]
    if not question.applies(state.answers):
        why = f"“{question.label}” does not apply to this plan, given its other answers."
        return Turn(state, (Say(why),))
    section = flow.section_of[question_id].id
    sections = state.sections if section in state.sections else (*state.sections, section)
    editing = replace(state, sections=sections, walk=None, current=question_id)
    return Turn(editing, (_ask(flow, editing, question, opens=True),))


def _next_in_walk(flow: Flow, state: State, question: Question) -> Question | None:
    """Return the walked section's next applicable question after this one, answered or not."""
    section = flow.section(state.walk)
    ids = [q.id for q in section.questions]
    later = section.questions[ids.index(question.id) + 1 :] if question.id in ids else ()
    return next((q for q in later if q.applies(state.answers)), None)


def _move_on(flow: Flow, state: State, question: Question, recorded: tuple[Recorded, ...]) -> Turn:
    answers = dict(state.answers)
    later = set(state.later)
    for item in recorded:
        answers[item.question_id] = item.value
        if item.skipped and item.raw == LATER:
            later.add(item.question_id)
        else:
            later.discard(item.question_id)
    moved = replace(state, answers=answers, later=frozenset(later))
    if moved.walk:  # a section walked again: its next question, or the end of the sitting
        following = _next_in_walk(flow, moved, question)
        moved = moved if following is not None else replace(moved, walk=None)
    else:
        following = next_open(flow, moved)
    replies: list[Reply] = []
    section = flow.section_of[question.id]
    section_visited = all(q.id in answers for q in section.questions if q.applies(answers))
    leaves_section = following is None or flow.section_of[following.id] is not section
    if section_visited and leaves_section:
        card = summary.section_card(flow, section, answers, later=moved.later)
        replies.append(SectionDone(section.id, card))
    if following is None:
        final = replace(moved, current=None)
        ended = _finish(flow, final, was_complete=_intake_done(flow, state))
        done = _complete(flow, final)
        if done and final.intake_done is not None:
            final = replace(final, intake_done=True)
        return Turn(final, (*replies, *ended), recorded, done=done)
    moved = replace(moved, current=following.id)
    replies.append(_ask(flow, moved, following, opens=leaves_section))
    return Turn(moved, tuple(replies), recorded)


def _complete(flow: Flow, state: State) -> bool:
    """Tell whether the core of the plan (what `new` asks) is visited: the intake is done."""
    done, total = progress(flow, state.answers, flow.core)
    return done == total


def deep_dives(flow: Flow, state: State) -> DeepDives | None:
    """Offer the deep-dive sections with questions still open; None when every one is done."""
    offered = []
    for section_id in flow.deep:
        done, total = progress(flow, state.answers, (section_id,))
        if done < total:
            offered.append(Offered(section_id, flow.section(section_id).title, total - done))
    if not offered:
        return None
    text = (
        f"Deep dives for {state.name!r}: start one now, assign it to someone, or leave it for"
        " later (",
        CommandRef("ask", (state.name, "<section>")),
        " opens one any time).",
    )
    return DeepDives(text, tuple(offered))


def _finish(flow: Flow, state: State, *, was_complete: bool = False) -> tuple[Reply, ...]:
    """End a sitting: the plan's card once the core is done, then the deep dives still open.

    The intake's end (the plan's card) comes once, in the turn that completes the core; a
    later sitting (a deep dive, a section asked again) ends with the deep dives still open.
    """
    if _complete(flow, state):
        offer = deep_dives(flow, state)
        if was_complete:
            last = "That was the last question of this sitting."
            if offer is None:
                last += f" Every section of {state.name!r} is answered."
            head: tuple[Reply, ...] = (Say(last),)
        else:
            head = (IntakeDone(summary.plan_card(flow, state)),)
        return head if offer is None else (*head, offer)
    still_open = []
    for section_id in flow.core:
        done, total = progress(flow, state.answers, (section_id,))
        if done < total:
            still_open.append(flow.section(section_id).title)
    return (
        Say(
            (
                f"That was the last question of this sitting. Still open in {state.name!r}: "
                + ", ".join(still_open)
                + ". Use ",
                CommandRef("ask", ("<project>", "<section>")),
                " to answer them.",
            )
        ),
    )


def _back(flow: Flow, state: State) -> Turn:
    questions = in_scope(flow, state)
    ids = [q.id for q in questions]
    position = ids.index(state.current) if state.current in ids else len(ids)
    if position == 0:
        return Turn(state, (Say("This is the first question: there is nothing to go back to."),))
    previous = questions[position - 1]
    moved = replace(state, current=previous.id)
    return Turn(moved, (_ask(flow, moved, previous),))


def _ask(
    flow: Flow,
    state: State,
    question: Question,
    *,
    opens: bool = False,
    refusal: str | None = None,
) -> Ask:
    questions = in_scope(flow, state)
    if state.walk is not None and flow.section_of[question.id].id == state.walk:
        # Walking one section (`ask`, an assignment): count within it, "2 of 3", not the plan's.
        questions = [q for q in questions if flow.section_of[q.id].id == state.walk]
    number = next(i for i, q in enumerate(questions, 1) if q.id == question.id)
    current = None
    if question.id in state.answers:
        current = display(flow, question, state.answers[question.id], state.answers)
    return Ask(
        question=question,
        section=flow.section_of[question.id],
        number=number,
        total=len(questions),
        opens_section=opens,
        current=current,
        refusal=refusal,
    )


def _help(flow: Flow, state: State) -> str:
    if state.current is None:
        return f"{_finished_text(flow, state)} {COMMAND_HELP}"
    question = flow.questions[state.current]
    return f"{question.help}\nFor example: {question.example}\n{COMMAND_HELP}"


def _finished_text(flow: Flow, state: State) -> str:
    everything, total = progress(flow, state.answers)
    if everything == total:
        scope = "the plan"
    elif _complete(flow, state):
        scope = "the core of the plan"
    else:
        scope = "this sitting"
    return (
        f"Every question of {state.name!r} in {scope} is answered. Send `back` to change"
        " the last answer or `status` for the summary."
    )
