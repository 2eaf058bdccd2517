"""Counts of things as people say them."""

import pytest

from flows.counting import counted


@pytest.mark.parametrize(
    ("n", "noun", "shown"),
    [
        (1, "project", "1 project"),
        (2, "project", "2 projects"),
        (0, "project", "0 projects"),
        (1, "person", "1 person"),
        (3, "person", "3 people"),
        (2.5, "month", "2.5 months"),
        (10_000, "prediction", "10,000 predictions"),
        (2, "more field", "2 more fields"),
        (2, "index", "2 indices"),
    ],
)
def test_counted(n, noun, shown):
    plural = "indices" if noun == "index" else None
    assert counted(n, noun, plural) == shown
