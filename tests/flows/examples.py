"""Answers shared by the flow tests: the cost model's worked example (derived in test_costs.py)."""


def usd(amount: float) -> dict:
    """Return a parsed money answer typed without a currency."""
    return {"amount": amount, "currency": None}


# One-time $286k, yearly running $44.6k–$97.8k, three-year cost $420k–$579k, payback 22–34 months.
WORKED_COSTS = {
    "currency": "USD",
    "team_size": 3,
    "build_months": 6,
    "monthly_cost_per_person": usd(12_000),
    "domain_expert_cost": usd(20_000),
    "infrastructure": usd(30_000),
    "integration_cost": usd(15_000),
    "training_cost": usd(5_000),
    "maintenance_share": [10, 30],
    "monitoring_per_year": usd(12_000),
    "external_data_per_year": usd(6_000),
    "predictions_per_day": 10_000,
    "benefit_per_year": usd(200_000),
}
