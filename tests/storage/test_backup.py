"""The carry-over rule of a restore: the occasions counted as sent are exactly those a tick gave."""

from datetime import UTC, date, datetime, timedelta

import pytest

from flows.reminders import Tracked, due_items
from storage.backup import _occasions_until
from storage.tracked import Item

TODAY = date(2026, 11, 23)
MADE = datetime(2026, 10, 1, tzinfo=UTC)


def item(due: date | None, snoozed: date | None = None, status: str = "open") -> Item:
    return Item(
        kind="milestone",
        id=7,
        project_id=1,
        key=None,
        title="Baseline",
        owner=None,
        due=due,
        status=status,
        done_at=None,
        done_by=None,
        snoozed_until=snoozed,
        link=None,
        created_at=MADE,
        updated_at=MADE,
    )


def given_until(row: Item, today: date) -> set[str]:
    """Every occasion a daily tick would have given for the item, on each day up to `today`."""
    tracked = Tracked(row.kind, row.id, row.key, row.title, row.due, row.status, row.snoozed_until)
    return {
        d.occasion
        for day in range(-120, 1)
        for d in due_items([tracked], today=today + timedelta(days=day))
    }


@pytest.mark.parametrize("offset", [-60, -15, -8, -7, -1, 0, 1, 2, 3, 4, 20])
@pytest.mark.parametrize("snooze", [None, -20, -9, -2, 0, 2])
def test_the_occasions_counted_as_sent_are_those_a_daily_tick_gave(offset, snooze):
    due = TODAY + timedelta(days=offset)
    row = item(due, None if snooze is None else TODAY + timedelta(days=snooze))
    assert set(_occasions_until(row, TODAY)) == given_until(row, TODAY)


def test_a_done_or_undated_item_has_no_occasion():
    assert _occasions_until(item(TODAY, status="done"), TODAY) == []
    assert _occasions_until(item(None), TODAY) == []
    assert _occasions_until(item(TODAY - timedelta(days=9)), TODAY) == [
        "milestone:7:2026-11-14:before",
        "milestone:7:2026-11-14:today",
        "milestone:7:2026-11-14:overdue:0",
        "milestone:7:2026-11-14:overdue:1",
    ]
