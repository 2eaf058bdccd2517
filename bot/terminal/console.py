"""Read what a person types in the terminal, and keep control characters out of what it shows."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import contextmanager, suppress
from dataclasses import fields, is_dataclass, replace
from typing import TextIO

from bot.text import strip_controls


def scrub(value):
    """Return a reply (or any value in it) with control characters removed from its texts.

    Questions and sections (pydantic models of mlplan's own flow files) are left as they are.
    """
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, tuple):
        return tuple(scrub(item) for item in value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: scrub(getattr(value, f.name)) for f in fields(value) if f.init}
        return replace(value, **changes)
    return value


def typed_lines(stdin: TextIO = sys.stdin, prompt: str = "> ") -> AsyncIterator[str]:
    """Yield the lines typed after a prompt, until the end of input (or Ctrl-C at a terminal)."""
    return _edited_lines(prompt) if stdin.isatty() else _piped_lines(stdin, prompt)


async def _piped_lines(stdin: TextIO, prompt: str) -> AsyncIterator[str]:
    while True:
        print(prompt, end="", flush=True)
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            print()
            return
        yield line


async def _edited_lines(prompt: str) -> AsyncIterator[str]:
    with suppress(ImportError):  # a Python built without readline: plain input() still works
        import readline  # noqa: F401 (input() then edits lines and keeps a history, in memory only)
    while True:
        # input() runs in the main thread, holding up the loop while the person types: nothing
        # else runs in a chat, and only there does Ctrl-C interrupt it (and readline clean up).
        try:
            with _interruptible():
                line = input(prompt)
        except (EOFError, KeyboardInterrupt):
            print()
            return
        yield line


@contextmanager
def _interruptible():
    """Let Ctrl-C raise at once: asyncio's own handler would only cancel at the next await."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
