"""Parse and write days: ISO dates, 'next Friday', 'in 3 weeks', 'end of quarter'."""

import functools
import re
from datetime import date, datetime, timedelta

from dateparser.date import DateDataParser

from flows.refusal import ParseError

# Long enough for "end of next quarter" or "4 December 2026 at 5pm"; longer input is prose,
# and dateparser gets slow on it.
MAX_DATE_CHARS = 60

_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}
_END_OF = re.compile(
    r"(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(?P<which>this\s+|next\s+)?"
    r"(?P<unit>[a-z]+|[0-9]{4})(?:\s+(?P<year>[0-9]{4}))?"
)
_END_OF_SHORT = re.compile(r"(?:by\s+)?eo(?P<unit>[wmqy])")
_SHORT_UNITS = {"w": "week", "m": "month", "q": "quarter", "y": "year"}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMERIC_DATE = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})(?:[/.-](?:[0-9]{2}|[0-9]{4}))?")
# "next month" and "in 2 months" are offsets from today; "this month" and "in March" name no day.
_RELATIVE_MONTHS = re.compile(r"\b(?:next|months?|years?)\b")
_DATE_SETTINGS = {
    "PREFER_DATES_FROM": "future",
    # Epoch timestamps and digit runs like "20261204" read as dates surprise people more
    # than a refusal does.
    "PARSERS": ["relative-time", "custom-formats", "absolute-time"],
}


def parse_date(text: str, *, now: datetime, future_only: bool = False) -> str:
    """Parse a date such as '2026-12-04', 'next Friday' or 'in 3 weeks' into 'YYYY-MM-DD'."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    today = now.date()
    # Backticks come along when people copy our examples.
    cleaned = " ".join(text.strip().strip("`").lower().split()).rstrip(".!?,;")
    if not cleaned or len(cleaned) > MAX_DATE_CHARS:
        raise ParseError(_date_example(today))
    day = _iso(cleaned, today) if _ISO_DATE.fullmatch(cleaned) else _end_of(cleaned, today)
    if day is None:
        day = _parse_with_dateparser(cleaned, now)
    if future_only and day < today:
        raise ParseError(
            f"That date ({format_day(day)}) is in the past; it must be today or later, "
            f"like `in 3 weeks` or `{(today + timedelta(weeks=3)).isoformat()}`."
        )
    return day.isoformat()


def format_day(day: date) -> str:
    """Format a day like 'Mon 2 Nov 2026' without depending on the process locale."""
    return f"{_WEEKDAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


def _date_example(today: date) -> str:
    """Return the refusal for text that is not a date, with examples near today."""
    later = today + timedelta(weeks=3)
    return (
        f"I couldn't read that as a date; try `{later.isoformat()}`, "
        f"`{later.day} {_MONTH_NAMES[later.month - 1]} {later.year}`, `next Friday`, "
        "`in 3 weeks` or `end of month`."
    )


def _iso(text: str, today: date) -> date:
    """Read YYYY-MM-DD without dateparser, which tries many formats before this one."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParseError(_date_example(today)) from None


@functools.lru_cache(maxsize=4)
def _parser(relative_base: datetime) -> DateDataParser:
    """Build dateparser's parser for one minute of wall-clock time (building one is costly)."""
    settings = {**_DATE_SETTINGS, "RELATIVE_BASE": relative_base}
    return DateDataParser(languages=["en"], settings=settings)


def _end_of(text: str, today: date) -> date | None:
    """Resolve 'end of month', 'end of next quarter', 'EOY', 'end of March' and the like."""
    if short := _END_OF_SHORT.fullmatch(text):
        unit, which, year = _SHORT_UNITS[short["unit"]], "", None
    elif match := _END_OF.fullmatch(text):
        unit, which, year = match["unit"], (match["which"] or "").strip(), match["year"]
    else:
        return None
    step = 1 if which == "next" else 0
    if unit in ("week", "month", "quarter", "year") and year is None:
        if unit == "week":
            # A working week ends on Friday. "This week" is the first Friday from today, so on
            # a weekend it is the coming one; "next week" is Friday of the next Monday's week.
            if step:
                return today + timedelta(days=7 - today.weekday() + 4)
            return today + timedelta(days=(4 - today.weekday()) % 7)
        if unit == "year":
            return date(today.year + step, 12, 31)
        months = 3 if unit == "quarter" else 1
        first = (today.month - 1) // months * months + 1  # first month of this period
        return _last_day(today.year, first + (step + 1) * months - 1)
    if which:
        return None
    if unit.isdigit():
        return date(int(unit), 12, 31) if year is None and int(unit) >= 1 else None
    month = _MONTHS.get(unit)
    if month is None:
        return None
    if year is not None:
        return _last_day(int(year), month) if int(year) >= 1 else None
    this_year = _last_day(today.year, month)
    return this_year if this_year >= today else _last_day(today.year + 1, month)


def _last_day(year: int, month: int) -> date:
    """Return the last day of a month, counting months past December into later years."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


def _parse_with_dateparser(text: str, now: datetime) -> date:
    """Resolve a date with dateparser relative to now's wall-clock time and zone."""
    today = now.date()
    if text.isdigit():
        # "25" might be the 25th or 25 days; dateparser would quietly pick one.
        raise ParseError(_date_example(today))
    numeric = _NUMERIC_DATE.fullmatch(text)
    first, second = (int(part) for part in numeric.groups()) if numeric else (0, 0)
    # "4/12" is 4 December in Berlin and 12 April in Boston; ask rather than guess.
    if first != second and 1 <= first <= 12 and 1 <= second <= 12:
        readings = (f"{first} {_MONTH_NAMES[second - 1]}", f"{second} {_MONTH_NAMES[first - 1]}")
        raise ParseError(
            f"That could be {readings[0]} or {readings[1]}; please write the month as a word, "
            f"like `{readings[0]}` or `{readings[1]}`, or use `YYYY-MM-DD`."
        )
    # dateparser reads "3 weeks from today" as three weeks ago; "from now" it gets right.
    text = re.sub(r"\bfrom today\b", "from now", text)
    # "next Friday" is resolved by dateparser as the first Friday strictly after today, so on
    # a Monday it is this week's Friday; on a Friday it is a week away. We keep that reading.
    # Relative dates count from the minute: every date of that minute shares one parser.
    minute = now.replace(tzinfo=None, second=0, microsecond=0)
    try:
        data = _parser(minute).get_date_data(text)
        found = data.date_obj
        if found is not None and found.tzinfo is not None:
            found = found.astimezone(now.tzinfo)
    except (ValueError, OverflowError):
        found = None
    if found is None:
        raise ParseError(_date_example(today))
    # "March 2027" or "2027" names no day; dateparser would borrow today's day of the month.
    relative = _RELATIVE_MONTHS.search(text) and not re.search(r"\bthis\b", text)
    if data.period in ("month", "year") and not relative:
        last = _last_day(found.year, found.month)
        raise ParseError(
            f"Which day? Please include the day, like `{last.day} {_MONTH_NAMES[last.month - 1]} "
            f"{last.year}` or `end of {_MONTH_NAMES[last.month - 1]}`."
        )
    return found.date()
