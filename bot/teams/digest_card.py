"""Render the weekly digest for Teams: needs-you lines, facts, the ranked projects as a Table."""

from __future__ import annotations

import re
from typing import Any

from bot.teams import adaptive as ac
from flows.replies import (
    spell,
)

# The digest: needs-you lines, facts that name projects, then the ranked projects as a Table,
# each linked to its conversation with Status and Snooze buttons. One TextBlock per line, so
# that line breaks stay line breaks.
DIGEST_ACTIONS = (("status", "Status"), ("snooze7", "Snooze a week"))
_TOKEN = re.compile(r"@\{(?P<id>[^|{}\s]+)(?:\|(?P<name>[^{}]*))?\}")
DIGEST_LINE_LIMIT = 400


def _digest_line(text: str, mentions: ac.Mentions, limit: int = DIGEST_LINE_LIMIT) -> str:
    """Make one line of a digest safe for Teams, its neutral mentions as Teams mentions."""

    def person(match: re.Match[str]) -> str:
        who = {"id": match["id"], "name": match["name"] or match["id"]}
        return mentions.tag(who) or "@" + who["name"]

    line = ac.LIST_START.sub(r"\1\2\\\3", ac.SPACES.sub(" ", ac.teams_text(text)))
    return _TOKEN.sub(person, ac.cut(line, limit))


def _link(name: str, url: str | None) -> str:
    label = ac.cut(ac.teams_text(name), ac.LABEL_LIMIT).replace("[", "(").replace("]", ")")
    if url and url.startswith("https://"):
        return f"[{label}]({url.replace(')', '%29').replace(' ', '%20')})"
    return label


def _digest_head(digest, mentions: ac.Mentions) -> list[dict[str, Any]]:
    body = [ac.heading(ac.fit(digest.title, ac.TITLE_LIMIT))]
    body.append(ac.text_block("**Needs you this week**", spacing="Medium"))
    for line in digest.needs_you or ("Nothing.",):
        body.append(ac.text_block("• " + _digest_line(line, mentions), spacing="None"))
    facts = [
        {
            "title": ac.cut(ac.teams_text(f.label), ac.LABEL_LIMIT),
            "value": _digest_line(f.value, mentions),
        }
        for f in (*digest.summary, *digest.totals)
    ]
    if facts:
        body.append({"type": "FactSet", "facts": facts, "spacing": "Medium"})
    if digest.trend:
        body.append(ac.text_block("**Since the last digest**", spacing="Medium"))
        body.extend(
            ac.text_block("• " + _digest_line(line, mentions), spacing="None")
            for line in digest.trend
        )
    return body


def _digest_row(entry, mentions: ac.Mentions) -> dict[str, Any]:
    """One ranked project: rank, name linked to its conversation with what matters, buttons, owner."""
    head = f"**{_link(entry.name, entry.link)}** · {_digest_line(entry.headline, mentions)}"
    details = list(entry.facts) + (["changed"] if entry.changed and not entry.delivered else [])
    project = [ac.text_block(head)]
    if details:
        project.append(ac.subtle(_digest_line(" · ".join(details), mentions)))
    project.append(
        {
            "type": "ActionSet",
            "actions": [
                ac.submit(label, {"mlplan_digest": {"verb": verb, "project_id": entry.project_id}})
                for verb, label in DIGEST_ACTIONS
            ],
        }
    )
    owner = ac.who(entry.owner, mentions) if entry.owner else ""
    return {
        "type": "TableRow",
        "cells": [
            {"type": "TableCell", "items": [ac.text_block(f"{entry.rank}.")]},
            {"type": "TableCell", "items": project},
            {"type": "TableCell", "items": [ac.text_block(owner or "–")]},
        ],
    }


def _digest_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    header = {
        "type": "TableRow",
        "style": "accent",
        "cells": [
            {"type": "TableCell", "items": [ac.text_block(t, weight="Bolder")]}
            for t in ("#", "Project", "Owner")
        ],
    }
    return {
        "type": "Table",
        "firstRowAsHeader": True,
        "showGridLines": False,
        "columns": [{"width": 1}, {"width": 8}, {"width": 3}],
        "rows": [header, *rows],
    }


def digest_messages(digest) -> list[dict[str, Any]]:
    """Render a digest as few activities as Teams' size allows: the head, then the ranked table."""
    mentions = ac.Mentions()  # one for the digest, so one name never stands for two people
    head = _digest_head(digest, mentions)
    rows = [_digest_row(entry, mentions) for entry in digest.projects]
    footer = ac.subtle(ac.fit(spell(digest.footer, ac.command_text), ac.NOTE_LIMIT))
    longest_text = f"{digest.title} (9 of 9)"

    def build(text: str, body: list[dict[str, Any]]) -> dict[str, Any]:
        return ac.message(text, ac.adaptive_card(body, mentions=mentions))

    def body_of(first: bool, part: list[dict[str, Any]], last: bool) -> list[dict[str, Any]]:
        return [
            *(head if first else []),
            *([_digest_table(part)] if part else []),
            *([footer] if last else []),
        ]

    parts: list[list[dict[str, Any]]] = [[]]
    for row in rows:
        trial = body_of(len(parts) == 1, [*parts[-1], row], True)
        if parts[-1] and not ac.fits(build(longest_text, trial)):
            parts.append([row])
        else:
            parts[-1].append(row)
    total = len(parts)
    return [
        build(
            digest.title if total == 1 else f"{digest.title} ({n} of {total})",
            body_of(n == 1, part, n == total),
        )
        for n, part in enumerate(parts, 1)
    ]
