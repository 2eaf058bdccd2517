"""Text helpers every platform's renderer shares: a progress bar, and where text may be cut."""

from __future__ import annotations

import math
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
