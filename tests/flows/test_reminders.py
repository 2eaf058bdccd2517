"""Which items to remind of on a day: before, on and after the due date, snoozes, nudges."""

from datetime import date, timedelta

from flows.reminders import Tracked, due_items

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
