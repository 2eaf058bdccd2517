"""Check the cost model against figures worked out by hand and against its invariants."""

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.costs import (
    CostInputs,
    Estimate,
    Range,
    estimate,
    format_money,
    format_months,
    format_range,
    gain_cost_ratio,
)

# The worked example used throughout: every figure below is derived by hand in the comments.
WORKED = CostInputs(
    currency="USD",
    team_size=3,
    build_months=6,
    monthly_cost_per_person=12_000,
    domain_expert_cost=20_000,
    infrastructure=30_000,
    integration=15_000,
    training=5_000,
    monitoring_per_year=12_000,
    external_data_per_year=6_000,
    predictions_per_day=10_000,
    benefit_per_year=200_000,
)

COST_FIELDS = (
    "team_size",
    "build_months",
    "monthly_cost_per_person",
    "domain_expert_cost",
    "infrastructure",
    "integration",
    "training",
    "monitoring_per_year",
    "external_data_per_year",
)


def test_worked_example_one_time_costs():
    e = estimate(WORKED)
    # 3 people × 6 months × $12,000 = $216,000
    assert e.staff == 216_000
    # 216,000 + 20,000 expert + 30,000 infra = 266,000
    assert e.initial_development == 266_000
    # 15,000 integration + 5,000 training = 20,000
    assert e.change_management == 20_000
    # 266,000 + 20,000 = 286,000
    assert e.one_time == 286_000
    assert e.currency == "USD"
    assert e.missing == ()


def test_worked_example_running_costs_and_tco():
    e = estimate(WORKED)
    # 10% and 30% of 266,000
    assert e.maintenance_per_year.low == pytest.approx(26_600)
    assert e.maintenance_per_year.high == pytest.approx(79_800)
    # + 12,000 monitoring + 6,000 data
    assert e.yearly_running.low == pytest.approx(44_600)
    assert e.yearly_running.high == pytest.approx(97_800)
    # 286,000 + 3 × 44,600 = 419,800 and 286,000 + 3 × 97,800 = 579,400
    assert e.tco_3y.low == pytest.approx(419_800)
    assert e.tco_3y.high == pytest.approx(579_400)


def test_worked_example_cost_per_1000_predictions():
    e = estimate(WORKED)
    # 3 × 365 × 10,000 = 10,950,000 predictions in 3 years
    # 419,800 / 10,950 = 38.338 and 579,400 / 10,950 = 52.913 per 1,000
    assert e.cost_per_1000_predictions is not None
    assert e.cost_per_1000_predictions.low == pytest.approx(38.3379, abs=1e-4)
    assert e.cost_per_1000_predictions.high == pytest.approx(52.9132, abs=1e-4)


def test_worked_example_payback():
    e = estimate(WORKED)
    # best: 286,000 / ((200,000 - 44,600) / 12) = 286,000 / 12,950 = 22.085 months
    # worst: 286,000 / ((200,000 - 97,800) / 12) = 286,000 / 8,516.67 = 33.581 months
    assert e.payback_months is not None
    assert e.payback_months.low == pytest.approx(22.0849, abs=1e-4)
    assert e.payback_months.high == pytest.approx(33.5812, abs=1e-4)
    assert e.running_exceeds_benefit is False
    assert e.benefit_per_year == 200_000


def test_worked_example_formatted():
    e = estimate(WORKED)
    assert format_money(e.one_time, e.currency) == "$286k"
    assert format_range(e.tco_3y, e.currency) == "$420k–$579k"
    assert format_range(e.cost_per_1000_predictions, e.currency) == "$38.3–$52.9"
    assert format_months(e.payback_months) == "22–34 months"


def test_missing_inputs_are_listed_in_field_order_and_count_as_zero():
    e = estimate(CostInputs(team_size=3, infrastructure=30_000, monitoring_per_year=1_000))
    assert e.missing == (
        "build_months",
        "monthly_cost_per_person",
        "domain_expert_cost",
        "integration",
        "training",
        "external_data_per_year",
    )
    # No build months or rate, so no staff cost: only the infrastructure remains.
    assert e.staff == 0
    assert e.initial_development == 30_000
    assert e.one_time == 30_000
    # 10%–30% of 30,000 + 1,000 monitoring
    assert e.yearly_running.low == pytest.approx(4_000)
    assert e.yearly_running.high == pytest.approx(10_000)


def test_empty_inputs_list_every_cost_field_in_field_order():
    e = estimate(CostInputs())
    field_order = [f.name for f in dataclasses.fields(CostInputs)]
    assert e.missing == COST_FIELDS
    assert list(e.missing) == sorted(e.missing, key=field_order.index)
    assert e.one_time == 0
    assert e.tco_3y == Range(0, 0)
    # Volume and benefit are unknown, not zero: they yield None rather than a "missing" entry.
    assert e.cost_per_1000_predictions is None
    assert e.payback_months is None
    assert e.running_exceeds_benefit is False


def test_staff_is_zero_when_only_the_rate_is_missing():
    e = estimate(dataclasses.replace(WORKED, monthly_cost_per_person=None))
    assert e.staff == 0
    assert e.missing == ("monthly_cost_per_person",)
    # 20,000 expert + 30,000 infra
    assert e.initial_development == 50_000


def test_custom_maintenance_share():
    e = estimate(dataclasses.replace(WORKED, maintenance_share=Range(0.2, 0.2)))
    # 20% of 266,000 = 53,200; + 18,000 = 71,200; TCO 286,000 + 3 × 71,200 = 499,600
    assert e.maintenance_per_year == Range(53_200, 53_200)
    assert e.yearly_running.is_point
    assert e.yearly_running.low == pytest.approx(71_200)
    assert e.tco_3y.low == pytest.approx(499_600)
    assert e.tco_3y.high == pytest.approx(499_600)
    # 286,000 / ((200,000 - 71,200) / 12) = 26.646 months on both sides
    assert e.payback_months.low == pytest.approx(26.6460, abs=1e-4)
    assert e.payback_months.is_point
    assert format_months(e.payback_months) == "27 months"


def test_benefit_below_running_cost_never_pays_back():
    # 40,000 < 44,600, the lowest yearly running cost
    e = estimate(dataclasses.replace(WORKED, benefit_per_year=40_000))
    assert e.running_exceeds_benefit is True
    assert e.payback_months == Range(math.inf, math.inf)
    assert format_months(e.payback_months) == "never (running cost exceeds benefit)"


def test_benefit_between_low_and_high_running_cost_may_never_pay_back():
    e = estimate(dataclasses.replace(WORKED, benefit_per_year=60_000))
    # best: 286,000 / ((60,000 - 44,600) / 12) = 286,000 / 1,283.33 = 222.857 months
    # worst: 60,000 - 97,800 < 0, so never
    assert e.running_exceeds_benefit is True
    assert e.payback_months.low == pytest.approx(222.857, abs=1e-3)
    assert e.payback_months.high == math.inf
    assert format_months(e.payback_months) == "223 months to never"


def test_benefit_equal_to_running_cost_never_pays_back_on_that_side():
    e = estimate(dataclasses.replace(WORKED, benefit_per_year=97_800))
    # A net benefit of exactly 0 repays nothing.
    assert e.running_exceeds_benefit is True
    assert math.isfinite(e.payback_months.low)
    assert e.payback_months.high == math.inf


def test_no_one_time_cost_pays_back_at_once():
    e = estimate(CostInputs(monitoring_per_year=1_000, benefit_per_year=5_000))
    assert e.one_time == 0
    assert e.payback_months == Range(0, 0)
    assert format_months(e.payback_months) == "0 months"


def test_no_one_time_cost_and_no_net_benefit_never_pays_back():
    e = estimate(CostInputs(monitoring_per_year=5_000, benefit_per_year=5_000))
    assert e.payback_months == Range(math.inf, math.inf)


@pytest.mark.parametrize("volume", [None, 0])
def test_no_volume_has_no_unit_cost(volume):
    e = estimate(dataclasses.replace(WORKED, predictions_per_day=volume))
    assert e.cost_per_1000_predictions is None
    assert e.tco_3y.low == pytest.approx(419_800)


@pytest.mark.parametrize("name", [*COST_FIELDS, "predictions_per_day", "benefit_per_year"])
def test_negative_input_is_refused(name):
    with pytest.raises(ValueError, match=name):
        CostInputs(**{name: -1})


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_input_is_refused(bad):
    with pytest.raises(ValueError, match="infrastructure"):
        CostInputs(infrastructure=bad)


@pytest.mark.parametrize("share", [Range(10, 30), Range(-0.1, 0.3)])
def test_maintenance_share_outside_a_fraction_is_refused(share):
    with pytest.raises(ValueError, match="maintenance_share"):
        CostInputs(maintenance_share=share)


@pytest.mark.parametrize(("low", "high"), [(2, 1), (math.nan, 1), (0, math.nan)])
def test_range_refuses_low_above_high_and_nan(low, high):
    with pytest.raises(ValueError):
        Range(low, high)


def test_range_arithmetic():
    r = Range(1, 3)
    assert r + Range(10, 20) == Range(11, 23)
    assert r + 5 == Range(6, 8)
    assert 5 + r == Range(6, 8)
    assert sum([r, r]) == Range(2, 6)
    assert r.scale(2) == Range(2, 6)
    assert r.scale(-1) == Range(-3, -1)
    assert r.mid == 2
    assert not r.is_point
    assert Range(4, 4).is_point


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1_200_000, "USD", "$1.2M"),
        (80_000, "EUR", "€80k"),
        (950, "GBP", "£950"),
        (12_500, "CHF", "CHF 12.5k"),
        (0, "USD", "$0"),
        (3_400_000, "jpy", "¥3.4M"),
        (2_500_000_000, "USD", "$2.5bn"),
        (1_500_000_000_000, "USD", "$1,500bn"),
        (266_000, "USD", "$266k"),
        (419_800, "USD", "$420k"),
        (1_000, "USD", "$1k"),
        # Rounding pushes these into the next unit.
        (999_950, "USD", "$1M"),
        (999.5, "EUR", "€1k"),
        # Unit costs stay readable below a dollar.
        (38.3379, "USD", "$38.3"),
        (0.05, "USD", "$0.05"),
        (0.0000123, "USD", "$0.0000123"),
        (-80_000, "USD", "-$80k"),
    ],
)
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text


def test_format_money_refuses_non_finite():
    with pytest.raises(ValueError):
        format_money(math.inf, "USD")


@pytest.mark.parametrize(
    ("r", "text"),
    [
        (Range(80_000, 240_000), "$80k–$240k"),
        (Range(80_000, 80_000), "$80k"),
        # Different figures that read the same are shown once.
        (Range(419_800, 420_100), "$420k"),
        (Range(0, 950), "$0–$950"),
    ],
)
def test_format_range(r, text):
    assert format_range(r, "USD") == text


def test_format_range_uses_currency_code():
    assert format_range(Range(12_500, 80_000), "CHF") == "CHF 12.5k–CHF 80k"


@pytest.mark.parametrize(
    ("r", "text"),
    [
        (Range(8, 14), "8–14 months"),
        (Range(22.08, 33.58), "22–34 months"),
        (Range(9, 9), "9 months"),
        (Range(8.6, 9.4), "9 months"),
        (Range(8.5, 8.5), "9 months"),
        (Range(1, 1), "1 month"),
        (Range(1, 2), "1–2 months"),
        (Range(0.2, 0.4), "under 1 month"),
        (Range(0, 14), "up to 14 months"),
        (Range(8, math.inf), "8 months to never"),
        (Range(math.inf, math.inf), "never (running cost exceeds benefit)"),
    ],
)
def test_format_months(r, text):
    assert format_months(r) == text


def test_gain_cost_ratio_of_worked_example():
    # 3 × 200,000 = 600,000 over the TCO midpoint (419,800 + 579,400) / 2 = 499,600
    assert gain_cost_ratio(estimate(WORKED)) == pytest.approx(1.20096, abs=1e-5)


def test_gain_cost_ratio_without_benefit_is_none():
    assert gain_cost_ratio(estimate(dataclasses.replace(WORKED, benefit_per_year=None))) is None


def test_gain_cost_ratio_ranks_cheaper_project_first_for_equal_gain():
    cheap = estimate(dataclasses.replace(WORKED, infrastructure=0))
    dear = estimate(WORKED)
    assert gain_cost_ratio(cheap) > gain_cost_ratio(dear)


def test_gain_cost_ratio_without_cost():
    assert gain_cost_ratio(estimate(CostInputs(benefit_per_year=1_000))) == math.inf
    assert gain_cost_ratio(estimate(CostInputs(benefit_per_year=0))) is None


amounts = st.none() | st.floats(min_value=0, max_value=1e7, allow_nan=False)
shares = st.tuples(st.floats(0, 1), st.floats(0, 1)).map(lambda p: Range(min(p), max(p)))
inputs = st.builds(
    CostInputs,
    **{name: amounts for name in COST_FIELDS},
    maintenance_share=shares,
    predictions_per_day=amounts,
    benefit_per_year=amounts,
)


def _raise(base: CostInputs, name: str, delta: float) -> CostInputs:
    if name == "maintenance_share":
        share = base.maintenance_share
        raised = Range(min(1.0, share.low + delta), min(1.0, share.high + delta))
        return dataclasses.replace(base, maintenance_share=raised)
    return dataclasses.replace(base, **{name: (getattr(base, name) or 0) + delta})


@given(inputs)
def test_one_time_never_exceeds_tco(cost_inputs):
    e = estimate(cost_inputs)
    assert 0 <= e.one_time <= e.tco_3y.low <= e.tco_3y.high
    assert e.yearly_running.low <= e.yearly_running.high


@given(
    inputs,
    st.sampled_from([*COST_FIELDS, "maintenance_share"]),
    st.floats(min_value=1e-3, max_value=1e6),
)
def test_raising_a_cost_input_never_lowers_cost_or_shortens_payback(cost_inputs, name, delta):
    before = estimate(cost_inputs)
    after = estimate(_raise(cost_inputs, name, delta))
    assert after.one_time >= before.one_time
    assert after.tco_3y.low >= before.tco_3y.low
    assert after.tco_3y.high >= before.tco_3y.high
    if before.payback_months is not None:
        assert after.payback_months.low >= before.payback_months.low
        assert after.payback_months.high >= before.payback_months.high


@given(inputs, st.floats(min_value=1e-3, max_value=1e6))
def test_raising_benefit_never_lengthens_payback(cost_inputs, delta):
    before = estimate(cost_inputs)
    after = estimate(_raise(cost_inputs, "benefit_per_year", delta))
    assert after.tco_3y == before.tco_3y
    if before.payback_months is not None:
        assert after.payback_months.low <= before.payback_months.low
        assert after.payback_months.high <= before.payback_months.high


@given(inputs, st.floats(min_value=1e-3, max_value=1e6))
def test_raising_volume_never_raises_unit_cost(cost_inputs, delta):
    before = estimate(cost_inputs)
    after = estimate(_raise(cost_inputs, "predictions_per_day", delta))
    assert after.cost_per_1000_predictions is not None
    assert 0 <= after.cost_per_1000_predictions.low <= after.cost_per_1000_predictions.high
    if before.cost_per_1000_predictions is not None:
        assert after.cost_per_1000_predictions.low <= before.cost_per_1000_predictions.low
        assert after.cost_per_1000_predictions.high <= before.cost_per_1000_predictions.high


def test_tiny_volume_and_tiny_net_benefit_do_not_break_the_arithmetic():
    # The smallest positive float: naive formulas divide by an underflowed 0 or make 0 * inf.
    tiny = 5e-324
    free = estimate(CostInputs(predictions_per_day=tiny))
    assert free.cost_per_1000_predictions == Range(0, 0)
    e = estimate(CostInputs(training=1, maintenance_share=Range(0, 0), benefit_per_year=tiny))
    assert e.payback_months == Range(math.inf, math.inf)


def test_inputs_too_large_to_multiply_are_refused():
    with pytest.raises(ValueError, match="too large"):
        estimate(CostInputs(team_size=1e200, build_months=1e200, monthly_cost_per_person=1))


def test_estimate_is_a_frozen_value():
    e = estimate(WORKED)
    assert isinstance(e, Estimate)
    assert estimate(WORKED) == e
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.staff = 0  # type: ignore[misc]
