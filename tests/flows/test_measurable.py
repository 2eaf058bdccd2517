"""Whether a target written in words names a figure and a time frame (lenient on purpose)."""

import pytest

from flows.measurable import lacking, missing

BOTH = ("figure", "time_frame")


@pytest.mark.parametrize(
    ("text", "lacks"),
    [
        ("Improve retention", BOTH),
        ("Happier customers, fewer complaints", BOTH),
        ("We may improve retention", BOTH),  # "may" is not the month here
        ("Cut churn by 2 points", ("time_frame",)),
        ("Halve the waste", ("time_frame",)),
        ("Better forecasts within a year", ("figure",)),
        ("Better forecasts by launch", ("figure",)),
        ("Cut fresh-food waste by 15% within 6 months of rollout", ()),
        ("Churn from 6% to 4% by the end of 2027", ()),
        ("€180k saved a year", ()),
        ("Ten percent more orders in Q3", ()),
        ("Double the conversions by 3 May", ()),
    ],
)
def test_a_target_lacks_what_it_does_not_name(text, lacks):
    assert missing(text, BOTH) == lacks


def test_only_the_needs_asked_for_are_checked():
    assert missing("Better forecasts", ("figure",)) == ("figure",)
    assert missing("MAE under 3 units", ("figure",)) == ()


def test_what_is_missing_is_said_in_words():
    assert lacking(BOTH) == "no figure and no time frame"
    assert lacking(("time_frame",)) == "no time frame"
