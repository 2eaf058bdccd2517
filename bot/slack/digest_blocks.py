"""Render the weekly digest for Slack: needs-you lines, a summary, then the ranked projects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    DividerBlock,
    SectionBlock,
)

from bot.slack import blocks as bk
from flows.replies import (
    spell,
)

# The digest: needs-you lines, a summary that names projects, totals, the trend, then one ranked
# column of projects, each linked to its thread with Status and Snooze buttons (two blocks each).
DIGEST_ACTIONS = (("status", "Status"), ("snooze7", "Snooze a week"))
_TOKEN = re.compile(r"@\{(?P<id>[^|{}\s]+)(?:\|(?P<name>[^{}]*))?\}")


def digest_text(text: str, limit: int = bk.SECTION_TEXT_LIMIT) -> str:
    """Escape a digest's text for mrkdwn and write its neutral mentions as Slack mentions."""

    def person(match: re.Match[str]) -> str:
        return bk.mention({"id": match["id"]}) or f"@{match['name'] or match['id']}"

    return _TOKEN.sub(person, bk.fit(text, limit))


def _lines(title: str, lines: Sequence[str]) -> SectionBlock:
    body = "\n".join(f"• {digest_text(line, bk.FIELD_TIGHT_LIMIT)}" for line in lines)
    return bk.section(f"*{title}*\n{body}"[: bk.SECTION_TEXT_LIMIT])


def _link(name: str, url: str | None) -> str:
    label = bk.fit(name, bk.LABEL_LIMIT)
    if url and url.startswith("https://"):
        return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{label.replace('|', '¦')}>"
    return label


def _digest_project(entry, slash_command: str) -> list[Block]:
    """One project of the ranked column: a line of what matters, then its buttons."""
    owner = bk.person_text(entry.owner) if entry.owner else None
    head = f"*{entry.rank}. {_link(entry.name, entry.link)}* · {digest_text(entry.headline, 300)}"
    details = [*(digest_text(f, 300) for f in entry.facts), *([f"owner {owner}"] if owner else [])]
    if entry.changed and not entry.delivered:
        details.append("changed")
    text = head + (f"\n{' · '.join(details)}" if details else "")
    buttons = [
        bk.button(
            label,
            value=entry.name if verb == "status" else str(entry.project_id),
            action_id=f"digest:{verb}:{entry.project_id}",
        )
        for verb, label in DIGEST_ACTIONS
    ]
    return [bk.section(text[: bk.SECTION_TEXT_LIMIT]), ActionsBlock(elements=buttons)]


def digest_messages(digest, *, slash_command: str = bk.SLASH_COMMAND) -> list[dict[str, Any]]:
    """Render a digest as few messages as Slack's limits allow: ten projects fit in one."""
    command = partial(bk.command_text, slash_command=slash_command)
    head: list[Block] = [bk.header(digest.title)]
    if digest.needs_you:
        head.append(_lines("Needs you this week", digest.needs_you))
    else:
        head.append(bk.section("*Needs you this week*: nothing."))
    summary = [
        f"*{bk.fit(f.label, bk.LABEL_LIMIT)}*: {digest_text(spell(f.value, command), 600)}"
        for f in digest.summary
    ]
    if summary:
        head.append(bk.section("\n".join(summary)[: bk.SECTION_TEXT_LIMIT]))
    if digest.totals:
        totals = [
            f"*{bk.fit(f.label, bk.LABEL_LIMIT)}*: {bk.fit(f.value, 600)}" for f in digest.totals
        ]
        head.append(bk.context("\n".join(totals)[: bk.CONTEXT_LIMIT]))
    if digest.trend:
        head.append(_lines("Since the last digest", digest.trend))
    head.append(DividerBlock())
    groups = [[b.to_dict() for b in head]]
    groups += [
        [b.to_dict() for b in _digest_project(entry, slash_command)] for entry in digest.projects
    ]
    groups.append([bk.context(bk.fit(spell(digest.footer, command), bk.CONTEXT_LIMIT)).to_dict()])
    messages: list[list[dict[str, Any]]] = []
    blocks: list[dict[str, Any]] = []
    for group in groups:
        too_many = len(blocks) + len(group) > bk.MAX_BLOCKS
        too_long = bk.text_size(blocks) + bk.text_size(group) > bk.BLOCKS_TEXT_BUDGET
        if blocks and (too_many or too_long):
            messages.append(blocks)
            blocks = []
        blocks.extend(group)
    if blocks:
        messages.append(blocks)
    total = len(messages)
    return [
        {
            "text": bk.fit(
                digest.title if total == 1 else f"{digest.title} ({n} of {total})", bk.TEXT_LIMIT
            ),
            "blocks": part[: bk.MAX_BLOCKS],
        }
        for n, part in enumerate(messages, 1)
    ]
