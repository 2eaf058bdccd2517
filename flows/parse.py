"""Parse what a person typed in chat into the stored value for one question kind."""

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from flows.dates import parse_date
from flows.refusal import ParseError

MAX_TEXT_CHARS = 4000
# Far above any budget or headcount a plan names; keeps every value a finite JSON number.
MAX_NUMBER = Decimal(10) ** 15

# fmt: off
CURRENCY_CODES = frozenset({
    "USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "INR", "CNY", "SEK", "NOK", "DKK", "PLN",
    "BRL", "ZAR", "SGD", "HKD", "NZD", "MXN", "KRW", "CZK", "HUF", "ILS", "AED", "SAR", "TWD",
    "THB", "IDR", "MYR", "PHP",
})  # Codes that are also English words ("TRY", "ALL", "TOP") are left out on purpose.
# fmt: on
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW"}
_DOLLAR_PREFIXES = {
    "us": "USD",
    "c": "CAD",
    "ca": "CAD",
    "a": "AUD",
    "au": "AUD",
    "nz": "NZD",
    "hk": "HKD",
    "s": "SGD",
    "sg": "SGD",
    "r": "BRL",
}
_CURRENCY_WORDS = {"dollar": "USD", "euro": "EUR", "pound": "GBP", "yen": "JPY"}
_SUFFIXES = {
    "k": 1_000,
    "thousand": 1_000,
    "m": 1_000_000,
    "mm": 1_000_000,
    "mn": 1_000_000,
    "million": 1_000_000,
    "mln": 1_000_000,
    "b": 1_000_000_000,
    "bn": 1_000_000_000,
    "bln": 1_000_000_000,
    "billion": 1_000_000_000,
}

_NEGATIVE = re.compile(r"(?:(?<![0-9A-Za-z])[-−–]|\bminus)\s*$", re.IGNORECASE)
_NUMBER = re.compile(
    # Not the tail of another token: "v2", "1.2.3" and "1,20" are not numbers we can trust.
    r"(?<![0-9A-Za-z.,])"
    r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+"
    # Spaces (plain, no-break, thin) group thousands in much of Europe: "120 000".
    r"|[0-9]{1,3}(?:[ \u00a0\u2009\u202f][0-9]{3})+"
    r"|[0-9]+)"
    r"(?P<frac>\.[0-9]+)?"
    r"(?P<exp>[eE][+-]?[0-9]{1,3})?"
    r"(?![0-9]|[.,][0-9])"
    r"(?:\s*(?P<suffix>thousand|million|billion|mln|bln|mm|mn|bn|k|m|b)(?![A-Za-z]))?",
    re.IGNORECASE,
)
_CURRENCY = re.compile(
    r"(?<![A-Za-z])(?P<prefix>us|ca|au|nz|hk|sg|c|a|s|r)\$"
    r"|(?P<symbol>[$€£¥₹₩])"
    r"|\b(?P<word>dollar|euro|pound|yen)s?\b"
    # "80kUSD": a code may stick to a number's suffix letter.
    r"|(?:(?<![A-Za-z])|(?<=[0-9][kmb]))(?P<code>[a-z]{3})(?![A-Za-z])",
    re.IGNORECASE,
)
_PERCENT_WORDS = re.compile(r"\s*\b(?:percent|per\s+cent|pct)\b", re.IGNORECASE)
_RANGE_SEPARATORS = frozenset({"-", "–", "—", "~", "to", "and"})

# The neutral in-text mention of a person, `@{id|name}`: each adapter turns its platform's
# mentions into it (see mention_token), so the `user` parser reads one form everywhere.
_MENTION = re.compile(r"@\{(?P<id>[^|{}\s]+)(?:\|(?P<name>[^{}]*))?\}")
_GROUP = re.compile(r"(?<![\w@])@(?:channel|here|everyone)\b", re.IGNORECASE)
_EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"
)
_HANDLE = re.compile(r"(?<![\w@.])@(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")

_YES = frozenset({"yes", "y", "yeah", "yep", "yup", "sure", "true", "ok", "okay"})
_NO = frozenset({"no", "n", "nope", "nah", "false", "not yet"})

KINDS = ("text", "number", "money", "percent", "date", "user", "choice", "yesno")


def parse_answer(
    kind: str,
    text: str,
    *,
    now: datetime,
    choices: Sequence[str] = (),
    allow_range: bool = False,
    future_only: bool = False,
) -> Any:
    """Parse an answer to a question of the given kind into a JSON-serialisable value."""
    match kind:
        case "text":
            return parse_text(text)
        case "number":
            return parse_number(text)
        case "money":
            return parse_money(text)
        case "percent":
            return parse_percent(text, allow_range=allow_range)
        case "date":
            return parse_date(text, now=now, future_only=future_only)
        case "user":
            return parse_user(text)
        case "choice":
            return parse_choice(text, choices)
        case "yesno":
            return parse_yesno(text)
    raise ValueError(f"unknown question kind {kind!r}; expected one of {', '.join(KINDS)}")


def parse_text(text: str) -> str:
    """Return the answer stripped of surrounding whitespace, refusing empty or overlong text."""
    stripped = text.strip()
    if not stripped:
        raise ParseError(
            "Please type an answer; if you don't know yet, say so, like `not sure yet`."
        )
    if len(stripped) > MAX_TEXT_CHARS:
        raise ParseError(
            f"That is {len(stripped):,} characters; please keep it to {MAX_TEXT_CHARS:,} "
            "and link to a document for the rest, like "
            "`Churn model for EU customers, details in https://wiki.example.com/churn`."
        )
    return stripped


def parse_number(text: str) -> int | float:
    """Parse one non-negative number such as '1,200', '2.5', '1.5k' or 'about 40 people'."""
    cleaned = _unquote(text)
    numbers = list(_NUMBER.finditer(cleaned))
    if not numbers:
        raise ParseError(f"I expected a number, {_NUMBER_EXAMPLE}")
    if len(numbers) > 1:
        raise ParseError(f"Please give one number (your best guess if unsure), {_NUMBER_EXAMPLE}")
    if _is_negative(cleaned[: numbers[0].start()]):
        raise ParseError(f"The number can't be negative; I expected one {_NUMBER_EXAMPLE}")
    _refuse_dot_thousands(numbers[0])
    return _plain(_value(numbers[0], _NUMBER_EXAMPLE))


def parse_money(text: str) -> dict:
    """Parse an amount of money such as '$120k' or '80k USD' into an amount and a currency."""
    cleaned = _unquote(text)
    currencies: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _CURRENCY.finditer(cleaned):
        currency = _currency_of(match)
        if currency is not None:
            currencies.append(currency)
            spans.append(match.span())
    # Blank out the currency so "US$5" or "80kUSD" leave a number the number pattern can read.
    for start, end in spans:
        cleaned = cleaned[:start] + " " * (end - start) + cleaned[end:]
    distinct = sorted(set(currencies))
    if len(distinct) > 1:
        raise ParseError(
            f"I found more than one currency ({' and '.join(distinct)}); "
            f"please give the amount in one, {_MONEY_EXAMPLE}"
        )
    numbers = list(_NUMBER.finditer(cleaned))
    if not numbers or "%" in cleaned:
        raise ParseError(f"I expected an amount of money, {_MONEY_EXAMPLE}")
    if len(numbers) > 1:
        raise ParseError(f"Please give one amount (your best guess if unsure), {_MONEY_EXAMPLE}")
    if _is_negative(cleaned[: numbers[0].start()]):
        raise ParseError(f"The amount can't be negative; I expected something {_MONEY_EXAMPLE}")
    _refuse_dot_thousands(numbers[0])
    amount = _plain(_value(numbers[0], f"I expected an amount of money, {_MONEY_EXAMPLE}"))
    return {"amount": amount, "currency": distinct[0] if distinct else None}


def parse_percent(text: str, *, allow_range: bool = False) -> float | int | list:
    """Parse a percentage such as '20%' or '0.95', or a range such as '10-30%' when allowed."""
    example = _PERCENT_RANGE_EXAMPLE if allow_range else _PERCENT_EXAMPLE
    cleaned = _PERCENT_WORDS.sub("%", _unquote(text))
    numbers = list(_NUMBER.finditer(cleaned))
    if not numbers or len(numbers) > 2:
        raise ParseError(f"I expected a percentage, {example}")
    if _is_negative(cleaned[: numbers[0].start()]):
        raise ParseError(f"A percentage can't be negative; I expected one {example}")
    if any(number["suffix"] for number in numbers):
        raise ParseError(f"A percentage is between 0 and 100, {example}")
    values = [_value(number, example) for number in numbers]
    if len(values) == 2:
        between = cleaned[numbers[0].end() : numbers[1].start()].replace("%", "").strip().lower()
        if between not in _RANGE_SEPARATORS:
            raise ParseError(f"Please give one percentage, {example}")
        if not allow_range:
            raise ParseError(f"Please give one percentage rather than a range, {example}")
    # "0.95" with no % sign is a fraction; in a range every bound must read as one.
    if "%" not in cleaned and all(0 <= v <= 1 for v in values) and any(0 < v < 1 for v in values):
        values = [v * 100 for v in values]
    if any(v > 100 for v in values):
        raise ParseError(f"A percentage is between 0 and 100, {example}")
    if len(values) == 2:
        if values[0] > values[1]:
            raise ParseError("Please give the range from low to high, like `10-30%`.")
        return [_plain(v) for v in values]
    return _plain(values[0])


def mention_token(person_id: str, name: str | None = None) -> str:
    """Write the neutral in-text mention of a person, `@{id|name}`, which parse_user reads."""
    if not person_id or re.search(r"[|{}\s]", person_id):
        raise ValueError(f"a person id without spaces, '|' or braces is needed, got {person_id!r}")
    shown = " ".join(re.sub(r"[|{}]", " ", name or "").split())
    return f"@{{{person_id}|{shown}}}" if shown else f"@{{{person_id}}}"


def parse_user(text: str) -> dict:
    """Parse one person given as a mention (see mention_token), an email address or an @handle."""
    cleaned = _unquote(text)
    if _GROUP.search(cleaned):
        raise ParseError(f"That mentions a group; I need one person. {_USER_EXAMPLE}")
    people: dict[str, dict] = {}
    for match in _MENTION.finditer(cleaned):
        person = {"id": match["id"]}
        if match["name"] and match["name"].strip():
            person["name"] = match["name"].strip()
        people.setdefault(f"id:{match['id']}", person)
    cleaned = _MENTION.sub(" ", cleaned)
    for match in _EMAIL.finditer(cleaned):
        email = match[0].lower()
        people.setdefault(f"email:{email}", {"email": email})
    cleaned = _EMAIL.sub(" ", cleaned)
    for match in _HANDLE.finditer(cleaned):
        name = match["name"].rstrip("._-")
        people.setdefault(f"name:{name.lower()}", {"name": name})
    if len(people) > 1:
        raise ParseError(f"I need exactly one person, not {len(people)}. {_USER_EXAMPLE}")
    if not people:
        raise ParseError(f"I need one person. {_USER_EXAMPLE}")
    return next(iter(people.values()))


def parse_choice(text: str, choices: Sequence[str]) -> str:
    """Pick one of the choices by its 1-based number, its name or a unique start of its name."""
    if not choices:
        raise ValueError("parse_choice needs at least one choice")
    typed = _fold(_unquote(text))
    exact = [choice for choice in choices if _fold(choice) == typed]
    if typed and exact:
        return exact[0]
    bare = _strip_punctuation(typed)
    if re.fullmatch(r"[0-9]{1,6}", bare) and 1 <= int(bare) <= len(choices):
        return choices[int(bare) - 1]
    if bare:
        loose = [c for c in choices if _strip_punctuation(_fold(c)) == bare]
        if len(loose) == 1:
            return loose[0]
        starts = loose or [c for c in choices if _strip_punctuation(_fold(c)).startswith(bare)]
        if len(starts) == 1:
            return starts[0]
        if len(starts) > 1:
            raise ParseError(f"That could be {' or '.join(starts)}. {_choice_example(choices)}")
    raise ParseError(_choice_example(choices))


def parse_yesno(text: str) -> bool:
    """Parse a yes or no answer such as 'yes', 'y', 'nope' or 'not yet'."""
    word = _strip_punctuation(_fold(_unquote(text)))
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ParseError("Please answer `yes` or `no`.")


_NUMBER_EXAMPLE = "like `12`, `1,200`, `2.5` or `1.5k`."
_MONEY_EXAMPLE = "like `$120k`, `€1.5M` or `80000 USD`."
_PERCENT_EXAMPLE = "like `20%` or `12.5%`."
_PERCENT_RANGE_EXAMPLE = "like `20%`, `12.5%` or a range such as `10-30%`."
_USER_EXAMPLE = (
    "Mention the person with @ (type @ and pick them), or give their email address, "
    "like `ana@example.com`."
)


def _unquote(text: str) -> str:
    """Strip whitespace and the backticks people copy along with our examples."""
    return text.strip().strip("`").strip()


def _fold(text: str) -> str:
    """Lower-case and collapse whitespace for matching words."""
    return " ".join(text.casefold().split())


def _strip_punctuation(text: str) -> str:
    """Drop leading and trailing characters that are not letters or digits."""
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


def _is_negative(before: str) -> bool:
    """Tell whether the text just before a number makes it negative."""
    # A dash glued to a word, as in "COVID-19", is a hyphen rather than a sign.
    return bool(_NEGATIVE.search(before))


def _refuse_dot_thousands(match: re.Match) -> None:
    """Refuse '120.000', which is 120 in English and 120000 where dots group thousands."""
    grouped = re.fullmatch(r"[1-9][0-9]{0,2}\.[0-9]{3}", match[0])
    if grouped and not match["suffix"] and not match["exp"]:
        english = _plain(Decimal(match[0]))
        whole = int(match[0].replace(".", ""))
        raise ParseError(
            f"Is `{match[0]}` {english} or {whole:,}? Please write it so it can only mean one, "
            f"like `{whole:,}` or `{english}`."
        )


def _value(match: re.Match, example: str) -> Decimal:
    """Return the exact value of a matched number with its suffix applied."""
    digits = re.sub(r"[^0-9]", "", match["int"]) + (match["frac"] or "") + (match["exp"] or "")
    value = Decimal(digits)
    if match["suffix"]:
        value *= _SUFFIXES[match["suffix"].lower()]
    if value > MAX_NUMBER:
        raise ParseError(f"That number is too large; I expected something {example}")
    return value


def _plain(value: Decimal) -> int | float:
    """Return an int for whole values and a float otherwise, both JSON-serialisable."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _currency_of(match: re.Match) -> str | None:
    """Return the ISO code a currency match names, or None for a three-letter non-currency."""
    if match["prefix"]:
        return _DOLLAR_PREFIXES[match["prefix"].lower()]
    if match["symbol"]:
        return _SYMBOLS[match["symbol"]]
    if match["word"]:
        return _CURRENCY_WORDS[match["word"].lower()]
    code = match["code"].upper()
    return code if code in CURRENCY_CODES else None


def _choice_example(choices: Sequence[str]) -> str:
    """Return the refusal that lists the choices with their numbers."""
    listed = ", ".join(f"{i}. {choice}" for i, choice in enumerate(choices, 1))
    return (
        f"Please answer with one of: {listed} (the number or the name, like `1` or `{choices[0]}`)."
    )
