"""Tell whether a target or a baseline written in words names a figure and a time frame.

A target such as "improve retention" can be neither met nor missed: mlplan asks once for the
figure and the time frame (a question's `follow_up` in the flow), and warns on the card when
the answer still names none. The checks are lenient on purpose: a word that may be a figure or
a time frame counts as one, so that a careful answer is never questioned.
"""

from __future__ import annotations

import re
from typing import Literal

Need = Literal["figure", "time_frame"]
NEEDS: tuple[str, ...] = Need.__args__

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty"
    "|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|dozen"
    "|half|halve|halves|double|doubles|twice|triple|threefold|tenfold|percent|per cent"
)
_FIGURE = re.compile(rf"[0-9]|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)
_MONTHS = "jan|january|feb|february|mar|march|apr|april|jun|june|jul|july|aug|august|sep|sept"
_MONTHS += "|september|oct|october|nov|november|dec|december"
_TIME_FRAME = re.compile(
    r"\b(?:19|20)[0-9]{2}\b"
    r"|\b(?:q[1-4]|h[12]|fy ?[0-9]{2,4})\b"
    rf"|\b(?:{_MONTHS})\b"
    # "May" is a month only beside a day: "we may improve" is not a date.
    r"|\bmay\s+[0-9]|[0-9]\s*may\b"
    r"|\b(?:day|week|fortnight|month|quarter|year|sprint|semester)s?\b"
    r"|\b(?:daily|weekly|monthly|quarterly|yearly|annual|annually|per annum)\b"
    r"|\b(?:within|until|till|deadline|end of|eo[wmqy]|today|tomorrow)\b"
    r"|\b(?:by|before|after|at|from)\s+(?:the\s+)?"
    r"(?:launch|rollout|roll-out|go-live|go live|release|deployment|pilot)\b",
    re.IGNORECASE,
)
_DETECTORS = {"figure": _FIGURE, "time_frame": _TIME_FRAME}
# How the lack of each need is said: "names no figure and no time frame".
_NAMED = {"figure": "no figure", "time_frame": "no time frame"}


def missing(text: str, needs: tuple[str, ...]) -> tuple[str, ...]:
    """Return the needs (`figure`, `time_frame`) that the text does not name, in order."""
    return tuple(need for need in needs if not _DETECTORS[need].search(text))


def lacking(needs: tuple[str, ...]) -> str:
    """Say what is missing in words, like 'no figure and no time frame'."""
    return " and ".join(_NAMED[need] for need in needs)
