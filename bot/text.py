"""Text every platform shares: a progress bar, where text may be cut, and no control characters."""

from __future__ import annotations

import math
import re
import unicodedata

BAR_CELLS = 10
JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}  # zero-width joiner, variation selectors


def attached(char: str) -> bool:
    """Tell whether a character belongs to the one before it (accent, joiner, selector)."""
    return char in JOINERS or unicodedata.combining(char) != 0


def progress_bar(done: int, total: int) -> str:
    """Draw progress as ten cells; full only when everything is done, empty only at zero."""
    if total <= 0:
        filled = 0
    else:
        filled = math.floor(BAR_CELLS * done / total)
        if done > 0:  # floor keeps the bar short of full until everything is done
            filled = max(filled, 1)
    filled = max(0, min(BAR_CELLS, filled))
    return "▰" * filled + "▱" * (BAR_CELLS - filled)


# ANSI escape sequences (CSI, OSC and the string controls, then any other ESC sequence), in
# their 7-bit and C1 forms: a stored answer must not recolour, retitle or clear the terminal.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]",
    re.S,
)
# C0 but tab and newline, DEL, and C1.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Remove escape sequences and control characters (but tab and newline) from a text."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))
