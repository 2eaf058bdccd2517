"""Check every answer form the parsers accept, every refusal, and their invariants."""

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.dates import parse_date
from flows.parse import (
    KINDS,
    MAX_TEXT_CHARS,
    ParseError,
    mention_token,
    parse_answer,
    parse_choice,
    parse_money,
    parse_number,
    parse_percent,
    parse_text,
    parse_user,
    parse_yesno,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)  # a Monday
TODAY = NOW.date()
STAGES = ("MVP", "Growth", "Maturity")
# A backticked sample such as `$120k`: every refusal must show one.
EXAMPLE = re.compile(r"`[^`]+`")
DATE_SETTINGS = settings(max_examples=50, deadline=None)


def json_number(value: Decimal) -> int | float:
    """Return the value a parser should give for an exact decimal: int when whole, else float."""
    return int(value) if value == value.to_integral_value() else float(value)


def refusal(parse, *args, **kwargs) -> str:
    """Return the message of the ParseError the call raises, checking it shows an example."""
    with pytest.raises(ParseError) as caught:
        parse(*args, **kwargs)
    message = str(caught.value)
    assert EXAMPLE.search(message), message
    return message


# text


def test_text_is_stripped():
    assert parse_text("  Reduce churn in the EU \n") == "Reduce churn in the EU"


def test_text_keeps_inner_lines():
    assert parse_text("line one\nline two") == "line one\nline two"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_text_refuses_empty(text):
    assert "not sure yet" in refusal(parse_text, text)


def test_text_accepts_the_limit():
    assert parse_text("x" * MAX_TEXT_CHARS) == "x" * MAX_TEXT_CHARS


def test_text_refuses_over_the_limit_and_names_it():
    message = refusal(parse_text, "x" * (MAX_TEXT_CHARS + 1))
    assert "4,000" in message
    assert "4,001" in message


# number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("0", 0),
        ("1,200", 1200),
        ("1,200,000", 1_200_000),
        ("120 000", 120_000),
        ("2.5", 2.5),
        ("1.5k", 1500),
        ("2M", 2_000_000),
        ("3 people", 3),
        ("about 40", 40),
        ("  7 ", 7),
        ("`12`", 12),
        ("1e6", 1_000_000),
        ("3 months", 3),
    ],
)
def test_number_forms(text, expected):
    value = parse_number(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("3-4", "one number"),
        ("3 or 4", "one number"),
        ("between 2 and 5", "one number"),
        ("-3", "negative"),
        ("minus 3", "negative"),
        ("", "expected a number"),
        ("a few", "expected a number"),
        ("1,20", "expected a number"),
        ("1.2.3", "expected a number"),
        ("1e20", "too large"),
        ("1.500", "1.5 or 1,500"),
    ],
)
def test_number_refusals(text, reason):
    assert reason in refusal(parse_number, text)


def test_number_hyphen_inside_a_word_is_not_a_sign():
    assert parse_number("COVID-19") == 19


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from([",", " ", "\u202f", ""]))
def test_number_thousands_separators_round_trip(n, separator):
    assert parse_number(f"{n:,}".replace(",", separator)) == n


@given(st.decimals(min_value=0, max_value=10**6, places=2))
def test_number_decimals_round_trip(amount):
    value = parse_number(f"{amount:f}")
    assert value == json_number(amount)
    assert type(value) is type(json_number(amount))


# money


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("120000", 120_000, None),
        ("$120k", 120_000, "USD"),
        ("€1.5M", 1_500_000, "EUR"),
        ("80k USD", 80_000, "USD"),
        ("80000 USD", 80_000, "USD"),
        ("$120,000", 120_000, "USD"),
        ("USD 80k", 80_000, "USD"),
        ("£2,500.50", 2500.5, "GBP"),
        ("1.2m eur", 1_200_000, "EUR"),
        ("3 bn", 3_000_000_000, None),
        ("0", 0, None),
        ("120 000", 120_000, None),
        ("120\u202f000 €", 120_000, "EUR"),
        ("¥300", 300, "JPY"),
        ("chf 90k", 90_000, "CHF"),
        ("$5MM", 5_000_000, "USD"),
        ("80kUSD", 80_000, "USD"),
        ("US$5", 5, "USD"),
        ("C$10k", 10_000, "CAD"),
        ("120 euros", 120, "EUR"),
        ("$80k per month", 80_000, "USD"),
        ("$80k/month", 80_000, "USD"),
        ("80k a year", 80_000, None),
        ("$120k USD", 120_000, "USD"),
    ],
)
def test_money_forms(text, amount, currency):
    value = parse_money(text)
    assert value == {"amount": amount, "currency": currency}
    assert type(value["amount"]) is type(amount)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-$5", "negative"),
        ("$-5", "negative"),
        ("USD -80k", "negative"),
        ("$5 EUR", "more than one currency"),
        ("€5 or £5", "more than one currency"),
        ("$100-150k", "one amount"),
        ("80k to 100k", "one amount"),
        ("free", "amount of money"),
        ("", "amount of money"),
        ("USD", "amount of money"),
        ("20%", "amount of money"),
        ("$1e20", "too large"),
    ],
)
def test_money_refusals(text, reason):
    message = refusal(parse_money, text)
    assert reason in message
    assert "`$120k`" in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [("120.000 €", "`120.000` 120 or 120,000"), ("$1.500", "`1.500` 1.5 or 1,500")],
)
def test_money_refuses_dot_grouped_thousands(text, reason):
    assert reason in refusal(parse_money, text)


def test_money_three_decimals_with_a_suffix_are_not_ambiguous():
    assert parse_money("€1.250M") == {"amount": 1_250_000, "currency": "EUR"}


SUFFIXES = {"": 1, "k": 1000, "K": 1000, "m": 10**6, "M": 10**6, "mn": 10**6, " bn": 10**9}
SUFFIXES |= {"b": 10**9, "B": 10**9, " k": 1000, " million": 10**6}
SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
CODES = ["USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "INR", "SEK", "KRW"]


@st.composite
def money_texts(draw):
    """Draw an amount written in one of the accepted ways, with the value it stands for."""
    amount = draw(st.decimals(min_value=0, max_value=999_999, places=draw(st.integers(0, 2))))
    digits = f"{amount:,f}" if draw(st.booleans()) else f"{amount:f}"
    suffix = draw(st.sampled_from(sorted(SUFFIXES)))
    number = digits + suffix
    style = draw(st.sampled_from(["bare", "symbol", "code after", "code before", "lower code"]))
    code = draw(st.sampled_from(CODES))
    symbol = draw(st.sampled_from(sorted(SYMBOLS)))
    text, currency = {
        "bare": (number, None),
        "symbol": (symbol + number, SYMBOLS[symbol]),
        "code after": (f"{number} {code}", code),
        "code before": (f"{code} {number}", code),
        "lower code": (f"{number} {code.lower()} per month", code),
    }[style]
    return text, amount * SUFFIXES[suffix], currency


@given(money_texts())
def test_money_round_trips(case):
    text, expected, currency = case
    value = parse_money(text)
    assert value["amount"] == json_number(expected)
    assert type(value["amount"]) is type(json_number(expected))
    assert value["currency"] == currency


# percent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20%", 20),
        ("20", 20),
        ("20 %", 20),
        ("12.5%", 12.5),
        ("0.95", 95),
        ("0.125", 12.5),
        ("0.5%", 0.5),
        ("1", 1),
        ("0", 0),
        ("100%", 100),
        ("20 percent", 20),
        ("about 20%", 20),
    ],
)
def test_percent_forms(text, expected):
    value = parse_percent(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "text", ["10-30%", "10% - 30%", "10 to 30%", "10–30 %", "between 10 and 30%", "0.1-0.3"]
)
def test_percent_ranges(text):
    assert parse_percent(text, allow_range=True) == [10, 30]


def test_percent_range_may_be_a_single_point():
    assert parse_percent("20-20%", allow_range=True) == [20, 20]


def test_percent_without_range_still_takes_one_value():
    assert parse_percent("12.5%", allow_range=True) == 12.5


@pytest.mark.parametrize(
    ("text", "allow_range", "reason"),
    [
        ("10-30%", False, "rather than a range"),
        ("30-10%", True, "from low to high"),
        ("10 or 30%", True, "one percentage"),
        ("150%", False, "between 0 and 100"),
        ("10-150%", True, "between 0 and 100"),
        ("1k%", False, "between 0 and 100"),
        ("-5%", False, "negative"),
        ("most", False, "expected a percentage"),
        ("10, 20 and 30%", True, "expected a percentage"),
    ],
)
def test_percent_refusals(text, allow_range, reason):
    assert reason in refusal(parse_percent, text, allow_range=allow_range)


def test_percent_refusal_mentions_ranges_only_when_allowed():
    assert "10-30%" in refusal(parse_percent, "lots", allow_range=True)
    assert "10-30%" not in refusal(parse_percent, "lots")


@given(st.decimals(min_value=0, max_value=100, places=2), st.sampled_from(["%", " %", " percent"]))
def test_percent_with_sign_round_trips(value, sign):
    assert parse_percent(f"{value:f}{sign}") == json_number(value)


@given(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.9999"), places=4))
def test_percent_bare_fraction_scales_to_percent(fraction):
    assert parse_percent(f"{fraction:f}") == json_number(fraction * 100)


@given(
    st.lists(st.integers(0, 100), min_size=2, max_size=2).map(sorted),
    st.sampled_from(["{}-{}%", "{}% - {}%", "{} to {}%", "{}–{} %"]),
)
def test_percent_range_round_trips(bounds, template):
    assert parse_percent(template.format(*bounds), allow_range=True) == bounds


# date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-04", "2026-12-04"),
        ("4 Dec 2026", "2026-12-04"),
        ("December 4", "2026-12-04"),
        ("Dec 4", "2026-12-04"),
        ("25/12/2026", "2026-12-25"),
        ("today", "2026-11-23"),
        ("tomorrow", "2026-11-24"),
        ("Tomorrow!", "2026-11-24"),
        ("next Friday", "2026-11-27"),
        ("next monday", "2026-11-30"),
        ("friday", "2026-11-27"),
        ("in 3 weeks", "2026-12-14"),
        ("in 10 days", "2026-12-03"),
        ("3 weeks from now", "2026-12-14"),
        ("3 weeks from today", "2026-12-14"),
        ("in 2 months", "2027-01-23"),
        ("next month", "2026-12-23"),
        ("end of month", "2026-11-30"),
        ("end of the month", "2026-11-30"),
        ("by end of next month", "2026-12-31"),
        ("EOM", "2026-11-30"),
        ("by EOW", "2026-11-27"),
        ("EOQ", "2026-12-31"),
        ("by the end of March", "2027-03-31"),
        ("end of this week", "2026-11-27"),
        ("end of next week", "2026-12-04"),
        ("end of quarter", "2026-12-31"),
        ("end of next quarter", "2027-03-31"),
        ("end of year", "2026-12-31"),
        ("eoy", "2026-12-31"),
        ("end of March", "2027-03-31"),
        ("end of November", "2026-11-30"),
        ("end of Feb 2028", "2028-02-29"),
        ("end of 2027", "2027-12-31"),
        ("`in 3 weeks`", "2026-12-14"),
    ],
)
def test_date_forms(text, expected):
    assert parse_date(text, now=NOW) == expected


def test_date_next_weekday_on_that_weekday_is_a_week_later():
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN)
    assert parse_date("next Friday", now=friday) == "2026-12-04"


def test_date_end_of_week_on_a_weekend_is_the_coming_friday():
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN)
    assert parse_date("end of week", now=saturday) == "2026-12-04"


def test_date_is_the_calendar_day_in_nows_zone():
    # 23:30 UTC on the 23rd is already the 24th in Berlin.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=ZoneInfo("UTC")).astimezone(BERLIN)
    assert parse_date("today", now=late) == "2026-11-24"
    assert parse_date("tomorrow", now=late) == "2026-11-25"


def test_date_with_its_own_zone_lands_on_the_day_in_nows_zone():
    assert parse_date("tomorrow 23:30 UTC", now=NOW) == "2026-11-25"


def test_date_future_only_refuses_the_past_with_the_day_named():
    message = refusal(parse_date, "2026-11-02", now=NOW, future_only=True)
    assert message == (
        "That date (Mon 2 Nov 2026) is in the past; it must be today or later, "
        "like `in 3 weeks` or `2026-12-14`."
    )


def test_date_future_only_accepts_today():
    assert parse_date("today", now=NOW, future_only=True) == "2026-11-23"


def test_date_past_is_fine_without_future_only():
    assert parse_date("yesterday", now=NOW) == "2026-11-22"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("4/12/2026", "4 Dec or 12 Apr"),
        ("04.12.2026", "4 Dec or 12 Apr"),
        ("12/4", "12 Apr or 4 Dec"),
        ("March 2027", "Which day"),
        ("in March", "Which day"),
        ("this month", "Which day"),
        ("25", "couldn't read"),
        ("2027", "couldn't read"),
        ("soon", "couldn't read"),
        ("", "couldn't read"),
        ("when the data is ready " * 5, "couldn't read"),
        ("1700000000", "couldn't read"),
        ("end of sprint", "couldn't read"),
        ("eox", "couldn't read"),
    ],
)
def test_date_refusals(text, reason):
    assert reason in refusal(parse_date, text, now=NOW)


def test_date_month_only_refusal_suggests_that_months_last_day():
    assert "`31 Mar 2027`" in refusal(parse_date, "March 2027", now=NOW)


def test_date_needs_an_aware_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_date("tomorrow", now=NOW.replace(tzinfo=None))


@DATE_SETTINGS
@given(st.integers(min_value=0, max_value=3000))
def test_date_in_n_days_is_now_plus_n(n):
    assert parse_date(f"in {n} days", now=NOW) == (TODAY + timedelta(days=n)).isoformat()


@DATE_SETTINGS
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_date_iso_round_trips_and_future_only_cuts_at_today(day):
    assert parse_date(day.isoformat(), now=NOW) == day.isoformat()
    if day < TODAY:
        assert "in the past" in refusal(parse_date, day.isoformat(), now=NOW, future_only=True)
    else:
        assert parse_date(day.isoformat(), now=NOW, future_only=True) == day.isoformat()


# user


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@{U12345}", {"id": "U12345"}),
        ("@{U12345|bob}", {"id": "U12345", "name": "bob"}),
        (" @{W024BE7LH} ", {"id": "W024BE7LH"}),
        ("@{29:1AbC-xyz_q9}", {"id": "29:1AbC-xyz_q9"}),
        ("probably @{U12345} for now", {"id": "U12345"}),
        ("@{U12345} @{U12345|bob}", {"id": "U12345"}),
        ("A.B@Example.com", {"email": "a.b@example.com"}),
        ("@alice", {"name": "alice"}),
        ("@alice.smith", {"name": "alice.smith"}),
        ("ask @alice.", {"name": "alice"}),
    ],
)
def test_user_forms(text, expected):
    assert parse_user(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bob", "I need one person"),
        ("", "I need one person"),
        ("@{}", "I need one person"),
        ("@{U1 2}", "I need one person"),
        ("bob@localhost", "I need one person"),
        ("@{U1} @{U2}", "not 2"),
        ("@{U1} or bob@example.com", "not 2"),
        ("@alice and @bob", "not 2"),
        ("@channel", "group"),
        ("@here", "group"),
        ("@everyone", "group"),
    ],
)
def test_user_refusals(text, reason):
    message = refusal(parse_user, text)
    assert reason in message
    assert "Mention the person with @" in message and "`ana@example.com`" in message


@given(
    st.from_regex(r"[A-Za-z0-9:_-]{1,12}", fullmatch=True),
    st.from_regex(r"[a-z. |{}]{0,8}", fullmatch=True),
)
def test_user_mention_tokens_round_trip(user_id, name):
    shown = " ".join(name.replace("|", " ").replace("{", " ").replace("}", " ").split())
    expected = {"id": user_id, "name": shown} if shown else {"id": user_id}
    assert parse_user(mention_token(user_id, name)) == expected


def test_a_mention_token_is_neutral_markup():
    assert mention_token("U1", "Ana Lima") == "@{U1|Ana Lima}"
    assert mention_token("29:1abc") == "@{29:1abc}"
    assert mention_token("U1", " Ana {x} | y ") == "@{U1|Ana x y}"


@pytest.mark.parametrize("person_id", ["", "U 1", "U|1", "U{1}"])
def test_a_mention_token_refuses_an_id_it_could_not_read_back(person_id):
    with pytest.raises(ValueError, match="person id"):
        mention_token(person_id, "ana")


# choice


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", "Growth"),
        ("2.", "Growth"),
        ("#3", "Maturity"),
        ("growth", "Growth"),
        ("  GROWTH! ", "Growth"),
        ("grow", "Growth"),
        ("mv", "MVP"),
        ("`Maturity`", "Maturity"),
    ],
)
def test_choice_forms(text, expected):
    assert parse_choice(text, STAGES) == expected


def test_choice_exact_name_beats_index():
    assert parse_choice("2", ["1", "2", "3+"]) == "2"
    assert parse_choice("3", ["1", "2", "3+"]) == "3+"


def test_choice_exact_text_beats_punctuation_folding():
    assert parse_choice("c++", ["C", "C++"]) == "C++"
    assert parse_choice("c", ["C", "C++"]) == "C"


def test_choice_refusal_lists_choices_numbered():
    assert refusal(parse_choice, "scale", STAGES) == (
        "Please answer with one of: 1. MVP, 2. Growth, 3. Maturity "
        "(the number or the name, like `1` or `MVP`)."
    )


@pytest.mark.parametrize("text", ["0", "4", "", "!!", "Mature stage"])
def test_choice_refuses_unknown(text):
    assert "1. MVP, 2. Growth, 3. Maturity" in refusal(parse_choice, text, STAGES)


def test_choice_refuses_ambiguous_prefix():
    assert "MVP or Maturity" in refusal(parse_choice, "m", STAGES)


def test_choice_needs_choices():
    with pytest.raises(ValueError, match="at least one choice") as caught:
        parse_choice("1", [])
    assert not isinstance(caught.value, ParseError)


CHOICE_NAMES = st.lists(
    st.from_regex(r"[A-Za-z][A-Za-z ]{0,15}[A-Za-z]", fullmatch=True),
    min_size=1,
    max_size=8,
    unique_by=lambda name: " ".join(name.casefold().split()),
)


@given(CHOICE_NAMES, st.data())
def test_choice_by_index_and_by_exact_name(choices, data):
    i = data.draw(st.integers(0, len(choices) - 1))
    assert parse_choice(str(i + 1), choices) == choices[i]
    assert parse_choice(f"  {choices[i].swapcase()}. ", choices) == choices[i]


# yes / no


@pytest.mark.parametrize(
    "text", ["yes", "Yes!", "y", "Y.", "yeah", "yep", "sure", "true", "ok", "OK", "okay"]
)
def test_yes(text):
    assert parse_yesno(text) is True


@pytest.mark.parametrize("text", ["no", "No.", "n", "nope", "false", "not yet", "Not  yet!"])
def test_no(text):
    assert parse_yesno(text) is False


@pytest.mark.parametrize("text", ["maybe", "", "yes and no", "nah-ish", "2"])
def test_yesno_refusal(text):
    assert refusal(parse_yesno, text) == "Please answer `yes` or `no`."


# dispatch and invariants


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("text", " hi ", "hi"),
        ("number", "1.5k", 1500),
        ("money", "$120k", {"amount": 120_000, "currency": "USD"}),
        ("percent", "10-30%", [10, 30]),
        ("date", "in 3 weeks", "2026-12-14"),
        ("user", "@{U1}", {"id": "U1"}),
        ("choice", "grow", "Growth"),
        ("yesno", "yep", True),
    ],
)
def test_parse_answer_dispatches_by_kind(kind, text, expected):
    assert parse_answer(kind, text, now=NOW, choices=STAGES, allow_range=True) == expected


def test_parse_answer_passes_future_only():
    message = refusal(parse_answer, "date", "yesterday", now=NOW, future_only=True)
    assert "in the past" in message


def test_parse_answer_refuses_a_range_unless_allowed():
    assert "range" in refusal(parse_answer, "percent", "10-30%", now=NOW)


def test_parse_answer_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown question kind") as caught:
        parse_answer("colour", "red", now=NOW)
    assert not isinstance(caught.value, ParseError)


# Characters the parsers give meaning to, so random text hits their edge cases often.
MEANINGFUL = st.text(
    alphabet=st.sampled_from(list("0123456789 ,.-–%$€£¥kKmMbBn<>@|!:/`usdeurinto")), max_size=30
)


def check_total(kind: str, text: str) -> None:
    """Check a parse either refuses with an example or returns a JSON-serialisable value."""
    try:
        value = parse_answer(kind, text, now=NOW, choices=STAGES, allow_range=True)
    except ParseError as err:
        assert EXAMPLE.search(str(err)), str(err)
        return
    json.dumps(value, allow_nan=False)
    if kind in ("number", "percent"):
        assert all(v >= 0 for v in (value if isinstance(value, list) else [value]))


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "date"])
@given(text=st.text() | MEANINGFUL)
def test_parse_raises_only_parse_error(kind, text):
    check_total(kind, text)


@DATE_SETTINGS
@given(text=st.text(max_size=40) | MEANINGFUL)
def test_parse_date_raises_only_parse_error(text):
    check_total("date", text)
