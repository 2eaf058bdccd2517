"""Write a count of things as people say it: "1 project", "2 projects", "1 person", "3 people"."""

from __future__ import annotations

# Nouns whose plural is not the noun with an "s".
_PLURALS = {"person": "people"}


def counted(n: int | float, noun: str, plural: str | None = None) -> str:
    """Write n with its noun, singular for exactly one: counted(2, "project") is '2 projects'."""
    if n == 1:
        return f"1 {noun}"
    many = plural or _PLURALS.get(noun) or f"{noun}s"
    shown = f"{n:,}" if isinstance(n, int) else f"{n:,.2f}".rstrip("0").rstrip(".")
    return f"{shown} {many}"
