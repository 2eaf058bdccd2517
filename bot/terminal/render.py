"""Render neutral replies as terminal text, coloured where the terminal supports it."""

from __future__ import annotations

import os
from typing import TextIO

from flows.counting import counted
from flows.replies import (
    Ask,
    Card,
    CommandRef,
    DeepDives,
    IntakeDone,
    Reply,
    Say,
    SectionDone,
    Show,
    spell_card,
    spell_reply,
)

CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def supports_colour(stream: TextIO) -> bool:
    """Tell whether to colour output: a terminal, and neither NO_COLOR nor TERM=dumb set."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def command_text(ref: CommandRef) -> str:
    """Write a command as a person types it in `mlplan chat`: `/status Churn`."""
    return "`/" + " ".join((ref.verb, *ref.args)) + "`"


class TerminalRenderer:
    """Turn replies into lines of text."""

    def __init__(self, *, colour: bool):
        self.colour = colour

    def _c(self, style: str, text: str) -> str:
        return f"\033[{CODES[style]}m{text}\033[0m" if self.colour else text

    def render(self, reply: Reply) -> str:
        """Render one reply."""
        reply = spell_reply(reply, command_text)
        if isinstance(reply, Ask):
            return self._ask(reply)
        if isinstance(reply, Say):
            return reply.text
        if isinstance(reply, SectionDone | IntakeDone | Show):
            heading = "Plan complete" if isinstance(reply, IntakeDone) else None
            return self.card(reply.card, heading=heading)
        if isinstance(reply, DeepDives):
            lines = [reply.text]
            for offered in reply.sections:
                lines.append(
                    f"  - {offered.title} ({offered.open_questions} open): {offered.section_id}"
                )
            lines.append(
                self._c(
                    "dim",
                    "  Start one with /ask <project> <section>, or hand it to someone with /assign <project> <section> @name.",
                )
            )
            return "\n".join(lines)
        raise TypeError(f"no terminal rendering for {type(reply).__name__}")

    def _ask(self, ask: Ask) -> str:
        lines = []
        if ask.confirmation:
            lines.append(self._c("green", f"✓ {ask.confirmation}"))
        if ask.refusal:
            lines.append(self._c("red", ask.refusal))
        elif ask.follow_up:
            lines.append(self._c("yellow", f"👉 {ask.follow_up}"))
        if ask.opens_section and not ask.refusal and not ask.follow_up:
            section = ask.section
            lines += [
                "",
                self._c("bold", f"== {section.order}. {section.title} =="),
                self._c("dim", section.intro),
            ]
        lines.append(
            self._c("cyan", f"[question {ask.number} of {ask.total}]") + " " + ask.question.prompt
        )
        for i, choice in enumerate(ask.question.choices, 1):
            lines.append(f"  {i}. {choice}")
        if ask.current is not None:
            lines.append(
                self._c(
                    "dim",
                    f"  Current answer: {ask.current} (reply to change it, `keep` to keep it)",
                )
            )
        lines.append(self._c("dim", f"  e.g. {ask.question.example}"))
        return "\n".join(lines)

    def card(self, card: Card, *, heading: str | None = None) -> str:
        """Render a card as a titled block of fields."""
        card = spell_card(card, command_text)
        lines = [""]
        if heading:
            lines.append(self._c("green", f"*** {heading} ***"))
        lines.append(self._c("bold", card.title))
        if card.progress:
            done, total = card.progress
            filled = round(20 * done / total) if total else 0
            bar = f"[{'#' * filled}{'.' * (20 - filled)}]"
            lines.append(f"  {bar} {done} of {counted(total, 'question')}")
        for field in card.fields:
            lines.append(f"  {field.label}: {field.value}")
        for warning in card.warnings:
            lines.append(self._c("yellow", f"  ! {warning}"))
        if card.footer:
            lines.append(self._c("dim", f"  {card.footer}"))
        return "\n".join(lines)
