"""Estimate the one-time and running cost of an ML project on the back of an envelope."""

from __future__ import annotations

import math
from dataclasses import dataclass

DAYS_PER_YEAR = 365
TCO_YEARS = 3

# Fields of CostInputs that count as 0 when unanswered, in field order. The prediction volume and
# the benefit are left out on purpose: without them the estimate says "unknown" (None), not 0.
_ZERO_IF_MISSING = (
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
_CHECKED = (*_ZERO_IF_MISSING, "predictions_per_day", "benefit_per_year")

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_UNITS = ((1e9, "bn"), (1e6, "M"), (1e3, "k"))


@dataclass(frozen=True)
class Range:
    """Hold a low and a high figure, the best and worst case of one quantity."""

    low: float
    high: float

    def __post_init__(self) -> None:
        # Written as a negated comparison so that NaN on either side is refused too.
        if not self.low <= self.high:
            raise ValueError(f"a range needs low <= high, got {self.low!r} and {self.high!r}")

    def __add__(self, other: Range | float) -> Range:
        """Add another range side by side, or a number to both sides."""
        if isinstance(other, Range):
            return Range(self.low + other.low, self.high + other.high)
        return Range(self.low + other, self.high + other)

    # Lets sum() and `number + Range` work.
    __radd__ = __add__

    def scale(self, k: float) -> Range:
        """Multiply both sides by k, swapping them if k is negative."""
        a, b = self.low * k, self.high * k
        return Range(min(a, b), max(a, b))

    @property
    def is_point(self) -> bool:
        """Tell whether the range is a single figure."""
        return self.low == self.high

    @property
    def mid(self) -> float:
        """Return the midpoint of the range."""
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class CostInputs:
    """Hold the answers the cost model needs, None where the team did not answer."""

    currency: str = "USD"
    team_size: float | None = None  # people building it
    build_months: float | None = None  # months of the initial build
    monthly_cost_per_person: float | None = None  # fully loaded cost per person-month
    domain_expert_cost: float | None = None  # one-time
    infrastructure: float | None = None  # one-time (full-scale development infra)
    integration: float | None = None  # one-time change management: system integration
    training: float | None = None  # one-time change management: trainings
    maintenance_share: Range = Range(0.10, 0.30)  # yearly maintenance, FRACTION of initial dev
    monitoring_per_year: float | None = None  # running: monitoring and operations
    external_data_per_year: float | None = None  # running: external data
    predictions_per_day: float | None = None
    benefit_per_year: float | None = None  # expected yearly benefit, if known

    def __post_init__(self) -> None:
        # The parser upstream refuses negative and non-numeric answers, so reaching here with one
        # is a bug; failing loudly beats a plausible-looking wrong estimate.
        for name in _CHECKED:
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        share = self.maintenance_share
        # A share above 1 is almost surely a percentage where a fraction belongs (30 for 0.30).
        if not (share.low >= 0 and share.high <= 1):
            raise ValueError(f"maintenance_share must be a fraction within 0..1, got {share!r}")


@dataclass(frozen=True)
class Estimate:
    """Hold the cost estimate derived from CostInputs; ranges run from best to worst case."""

    currency: str
    staff: float
    initial_development: float
    change_management: float
    one_time: float
    maintenance_per_year: Range
    yearly_running: Range
    tco_3y: Range
    cost_per_1000_predictions: Range | None
    payback_months: Range | None
    running_exceeds_benefit: bool
    missing: tuple[str, ...]
    # Carried over from the inputs so gain_cost_ratio can work from the estimate alone.
    benefit_per_year: float | None = None


def estimate(inputs: CostInputs) -> Estimate:
    """Estimate one-time, running and three-year costs, unit cost and payback from the inputs.

    Unanswered cost fields count as 0 and are listed in `missing`. Staff is 0 unless team size,
    build months and monthly cost per person are all given. Payback is the months for the yearly
    net benefit (benefit minus running cost) to repay the one-time cost: `low` uses the low
    running cost (best case), `high` the high one (worst case). A side whose net benefit is <= 0
    never pays back and is `math.inf`, so (finite, inf) means "maybe never" and (inf, inf)
    "never"; with no one-time cost and a positive net benefit, payback is 0.
    """

    def value(name: str) -> float:
        amount = getattr(inputs, name)
        return 0.0 if amount is None else amount

    missing = tuple(name for name in _ZERO_IF_MISSING if getattr(inputs, name) is None)

    staff = value("team_size") * value("build_months") * value("monthly_cost_per_person")
    initial_development = staff + value("domain_expert_cost") + value("infrastructure")
    change_management = value("integration") + value("training")
    one_time = initial_development + change_management
    if not math.isfinite(one_time):
        raise ValueError("cost inputs are too large to estimate")

    maintenance = inputs.maintenance_share.scale(initial_development)
    yearly_running = maintenance + value("monitoring_per_year") + value("external_data_per_year")
    tco = yearly_running.scale(TCO_YEARS) + one_time

    volume = inputs.predictions_per_day
    per_1000 = None
    if volume:
        # Divide each side rather than scale by 1000 / predictions: for a tiny volume that factor
        # is inf, and 0 * inf would be NaN.
        predictions = TCO_YEARS * DAYS_PER_YEAR * volume
        per_1000 = Range(tco.low / predictions * 1000, tco.high / predictions * 1000)

    benefit = inputs.benefit_per_year
    payback = None
    exceeds = False
    if benefit is not None:
        payback = Range(
            _payback(one_time, benefit - yearly_running.low),
            _payback(one_time, benefit - yearly_running.high),
        )
        exceeds = yearly_running.high >= benefit

    return Estimate(
        currency=inputs.currency,
        staff=staff,
        initial_development=initial_development,
        change_management=change_management,
        one_time=one_time,
        maintenance_per_year=maintenance,
        yearly_running=yearly_running,
        tco_3y=tco,
        cost_per_1000_predictions=per_1000,
        payback_months=payback,
        running_exceeds_benefit=exceeds,
        missing=missing,
        benefit_per_year=benefit,
    )


def _payback(one_time: float, net_per_year: float) -> float:
    if net_per_year <= 0:
        return math.inf
    if one_time == 0:
        return 0.0
    # Not one_time / (net / 12): a tiny net benefit / 12 underflows to 0 and the division fails.
    return one_time * 12 / net_per_year


def gain_cost_ratio(estimate: Estimate) -> float | None:
    """Return three years of benefit over the midpoint of the three-year cost, to rank projects.

    Higher is better (maximise gain, minimise cost). None when the benefit is unknown or both
    benefit and cost are 0; `math.inf` for a benefit at no cost.
    """
    if estimate.benefit_per_year is None:
        return None
    gain = estimate.benefit_per_year * TCO_YEARS
    cost = estimate.tco_3y.mid
    if cost == 0:
        return math.inf if gain > 0 else None
    return gain / cost


def format_money(amount: float, currency: str) -> str:
    """Format an amount compactly to three significant digits, such as '$1.2M' or 'CHF 12.5k'."""
    if not math.isfinite(amount):
        raise ValueError(f"cannot format a non-finite amount: {amount!r}")
    code = currency.upper()
    symbol = _SYMBOLS.get(code)
    prefix = symbol if symbol else f"{code} "
    sign = "-" if amount < 0 else ""
    # Round before picking the unit so that 999,950 reads "$1M", not "$1000k".
    rounded = _round_significant(abs(amount))
    for size, unit in _UNITS:
        if rounded >= size:
            return f"{sign}{prefix}{_plain(_round_significant(rounded / size))}{unit}"
    return f"{sign}{prefix}{_plain(rounded)}"


def format_range(r: Range, currency: str) -> str:
    """Format a range of money such as '$80k–$240k', or one figure when both sides read alike."""
    low, high = format_money(r.low, currency), format_money(r.high, currency)
    return low if low == high else f"{low}–{high}"


def format_months(r: Range) -> str:
    """Format a payback range such as '8–14 months', '8 months to never' or 'never (...)'."""
    if math.isinf(r.low):
        return "never (running cost exceeds benefit)"
    if math.isinf(r.high):
        return f"{_months(r.low)} to never"
    low, high = _half_up(r.low), _half_up(r.high)
    if low == high or high == 0:
        return _months(r.high)
    if low == 0:
        return f"up to {_months(r.high)}"
    return f"{low}–{high} months"


def _months(value: float) -> str:
    months = _half_up(value)
    if months == 0 and value > 0:
        return "under 1 month"
    return "1 month" if months == 1 else f"{months} months"


def _half_up(value: float) -> int:
    # round() sends 8.5 to 8 (banker's rounding); half up is what a reader expects.
    return math.floor(value + 0.5)


def _round_significant(x: float) -> float:
    return float(f"{x:.3g}")


def _plain(x: float) -> str:
    """Write x without exponent or trailing zeros, keeping three significant digits."""
    if x == 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(x)))
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
