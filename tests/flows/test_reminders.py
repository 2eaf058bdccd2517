"""Which items to remind of on a day: before, on and after the due date, snoozes, nudges."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.reminders import Tracked, due_items, next_day

DUE = date(2026, 12, 1)


def item(**kw) -> Tracked:
    return Tracked(
        **({"kind": "milestone", "id": 1, "key": "baseline", "title": "Baseline", "due": DUE} | kw)
    )


def occasions(items, day):
    return [
        (d.item.title, d.occasion.split(":", 3)[3], d.reason) for d in due_items(items, today=day)
    ]


def test_reminded_three_days_before_on_the_day_and_weekly_when_overdue():
    days = {offset: occasions([item()], DUE + timedelta(days=offset)) for offset in range(-6, 17)}
    reminded = {offset: found[0][1] for offset, found in days.items() if found}
    assert reminded == {
        **{o: "before" for o in (-3, -2, -1)},
        0: "today",
        **{o: "overdue:0" for o in range(1, 8)},
        **{o: "overdue:1" for o in range(8, 15)},
        **{o: "overdue:2" for o in (15, 16)},
    }
    assert days[-3][0][2] == "due in 3 days (Tue 1 Dec 2026)"
    assert days[-1][0][2].startswith("due in 1 day ")
    assert days[9][0][2] == "9 days overdue (was due Tue 1 Dec 2026)"


def test_done_and_undated_items_are_not_reminded():
    assert occasions([item(status="done"), item(id=2, due=None)], DUE) == []


def test_a_snooze_silences_until_its_day_then_reminds_afresh():
    snoozed = item(snoozed_until=DUE + timedelta(days=7))
    assert occasions([snoozed], DUE + timedelta(days=3)) == []
    [(_, occasion, _)] = occasions([snoozed], DUE + timedelta(days=7))
    assert occasion == "overdue:0:after-snooze:2026-12-08"


def test_a_new_date_starts_new_occasions():
    before = due_items([item()], today=DUE)[0].occasion
    after = due_items([item(due=DUE + timedelta(days=14))], today=DUE + timedelta(days=14))[
        0
    ].occasion
    assert before != after and "2026-12-15" in after


def test_a_finished_stage_nudges_its_documentation_without_a_link_once():
    stage = item(status="done")
    card = Tracked("doc", 7, "model_card", "Model card", None)
    linked = Tracked("doc", 8, "model_card", "Model card", None, link="https://wiki/x")
    nudges = due_items([stage, card], today=DUE)
    assert [(d.item.title, d.occasion) for d in nudges] == [("Model card", "doc:7:after:baseline")]
    assert "document it as you go" in nudges[0].reason
    assert due_items([stage, linked], today=DUE) == []
    assert due_items([item(), card], today=DUE - timedelta(days=10)) == []  # stage not done yet


def test_items_are_listed_most_urgent_first():
    late = item(id=2, title="Late", due=DUE - timedelta(days=3))
    soon = item(id=3, title="Soon", due=DUE + timedelta(days=2))
    assert [d.item.title for d in due_items([soon, late, item()], today=DUE)] == [
        "Late",
        "Baseline",
        "Soon",
    ]


def brute_next_day(items, item, *, start, claimed, horizon=80):
    for offset in range(horizon):
        day = start + timedelta(days=offset)
        if any(d.item == item and d.occasion not in claimed for d in due_items(items, today=day)):
            return day
    return None


def test_next_day_is_the_first_day_with_an_occasion_not_yet_claimed():
    card = Tracked("doc", 7, "model_card", "Model card", DUE)
    stage = item(status="done")
    claimed_before = {f"milestone:1:{DUE.isoformat()}:before"}
    assert next_day([item()], item(), start=DUE - timedelta(days=9), claimed=()) == DUE - timedelta(
        days=3
    )
    assert next_day([item()], item(), start=DUE - timedelta(days=2), claimed=claimed_before) == DUE
    assert next_day([item(status="done")], item(status="done"), start=DUE, claimed=()) is None
    # A finished stage nudges its document at once, but not on a day its own date speaks.
    assert next_day([stage, card], card, start=DUE - timedelta(days=9), claimed=()) == (
        DUE - timedelta(days=9)
    )
    nudged = {"doc:7:after:baseline"}
    assert next_day([stage, card], card, start=DUE - timedelta(days=9), claimed=nudged) == (
        DUE - timedelta(days=3)
    )


@settings(max_examples=400, deadline=None)
@given(
    due=st.one_of(st.none(), st.integers(-20, 30)),
    snooze=st.one_of(st.none(), st.integers(-20, 30)),
    status=st.sampled_from(["open", "done"]),
    stage_done=st.booleans(),
    link=st.booleans(),
    start=st.integers(-10, 10),
    claimed_days=st.sets(st.integers(-30, 40), max_size=6),
    nudge_claimed=st.booleans(),
)
def test_next_day_agrees_with_asking_due_items_day_by_day(
    due, snooze, status, stage_done, link, start, claimed_days, nudge_claimed
):
    base = DUE
    doc = Tracked(
        "doc",
        7,
        "model_card",
        "Model card",
        base + timedelta(days=due) if due is not None else None,
        status,
        base + timedelta(days=snooze) if snooze is not None else None,
        "https://wiki/x" if link else None,
    )
    items = [item(status="done" if stage_done else "open"), doc]
    # Claim the occasions the document had on some days, as earlier ticks would have.
    claimed = {
        d.occasion
        for offset in claimed_days
        for d in due_items(items, today=base + timedelta(days=offset))
        if d.item == doc
    }
    if nudge_claimed:
        claimed.add("doc:7:after:baseline")
    begin = base + timedelta(days=start)
    found = next_day(items, doc, start=begin, claimed=claimed)
    expected = brute_next_day(items, doc, start=begin, claimed=claimed)
    if expected is None:
        assert found is None or found >= begin + timedelta(days=80)
    else:
        assert found == expected
