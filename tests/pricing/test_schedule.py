"""The price schedule by hand: a three-year worked example to the cent (tiers, steps, a withheld
and a reduced step), contract-year boundaries, the rebate band and the gain split."""
from datetime import date
from decimal import Decimal

import pytest

from backend.pricing import schedule
from backend.pricing.schedule import Decision

CONTENT = {
    "price_items": [{"id": "i-1", "item_code": "WIDGET", "base_price": "10.00", "annual_volume": "2000"}],
    "volume_tiers": [{"id": "t-1", "item_code": "WIDGET", "min_quantity": "1000", "unit_price": "9.50"},
                     {"id": "t-2", "item_code": "WIDGET", "min_quantity": "5000", "unit_price": "9.00"}],
    "price_steps": [{"id": "s-2", "year": 2, "step_pct": "3", "condition": "unconditional"},
                    {"id": "s-3", "year": 3, "step_pct": "4", "condition": "withheld_if_missed"}],
    "rebate_bands": [{"id": "r-1", "min_volume": "1000", "rebate_pct": "1"},
                     {"id": "r-2", "min_volume": "2000", "rebate_pct": "2"}],
    "gain_sharing": {"supplier_share_pct": "30", "client_share_pct": "70"},
}
START = date(2024, 1, 1)


def q(day, qty=None, decisions=None, content=CONTENT):
    return schedule.quote(content, START, decisions or {}, "WIDGET", date.fromisoformat(day),
                          Decimal(qty) if qty else None)


def test_three_years_by_hand_with_a_withheld_step():
    # year 1: base 10.00; 1,200 a year reaches the 1,000 tier (9.50), 6,000 the 5,000 tier (9.00)
    assert q("2024-06-30").unit_price == Decimal("10.0000")
    assert q("2024-06-30", "1200").unit_price == Decimal("9.5000")
    assert q("2024-06-30", "6000").unit_price == Decimal("9.0000")
    assert q("2024-06-30", "999").unit_price == Decimal("10.0000")
    # year 2: +3 % unconditional: 10.00 × 1.03 = 10.30; 9.50 × 1.03 = 9.785
    assert q("2025-01-01").unit_price == Decimal("10.3000")
    y2 = q("2025-03-15", "1200")
    assert (y2.year, y2.unit_price, y2.amount) == (2, Decimal("9.7850"), Decimal("11742.00"))
    # year 3: +4 % if year 2's commitments were met; they were missed, so the job withheld it
    withheld = {3: Decision(3, "withheld", Decimal(0))}
    y3 = q("2026-06-01", "1200", withheld)
    assert (y3.year, y3.unit_price, y3.amount) == (3, Decimal("9.7850"), Decimal("11742.00"))
    assert [s.status for s in y3.steps] == ["unconditional", "withheld"]
    # had they been met: 9.785 × 1.04 = 10.1764
    assert q("2026-06-01", "1200", {3: Decision(3, "applied", Decimal(4))}).unit_price == Decimal("10.1764")
    # before the job ran, the conditional step shows at its full rate, marked pending
    pending = q("2026-06-01", "1200")
    assert pending.unit_price == Decimal("10.1764") and pending.steps[-1].status == "pending"


def test_a_reduced_step_and_half_up_rounding_at_each_year():
    content = CONTENT | {"price_steps": [
        {"id": "s-2", "year": 2, "step_pct": "3", "condition": "unconditional"},
        {"id": "s-3", "year": 3, "step_pct": "4", "condition": "reduced_if_missed", "reduced_step_pct": "1.5"}]}
    decision = schedule.decide(content, 3, previous_year_met=False)
    assert decision == Decision(3, "reduced", Decimal("1.5"))
    # 9.785 × 1.015 = 9.931775 → 9.9318 (half-up, 4 places); 1,200 × 9.9318 = 11,918.16
    y3 = q("2026-02-01", "1200", {3: decision}, content)
    assert (y3.unit_price, y3.amount) == (Decimal("9.9318"), Decimal("11918.16"))
    assert schedule.decide(content, 3, previous_year_met=True) == Decision(3, "applied", Decimal(4))
    assert schedule.decide(CONTENT, 3, previous_year_met=False) == Decision(3, "withheld", Decimal(0))
    assert schedule.decide(CONTENT, 2, previous_year_met=False) == Decision(2, "applied", Decimal(3))


def test_contract_years_and_their_boundaries():
    assert schedule.contract_year(START, date(2023, 12, 31)) == 0
    assert schedule.contract_year(START, date(2024, 1, 1)) == 1
    assert schedule.contract_year(START, date(2024, 12, 31)) == 1
    assert schedule.contract_year(START, date(2025, 1, 1)) == 2
    leap = date(2024, 2, 29)
    assert schedule.year_bounds(leap, 2) == (date(2025, 2, 28), date(2026, 2, 28))
    assert schedule.contract_year(leap, date(2025, 2, 27)) == 1
    assert schedule.contract_year(leap, date(2025, 2, 28)) == 2


def test_unknown_item_is_refused():
    with pytest.raises(KeyError):
        schedule.quote(CONTENT, START, {}, "NOPE", date(2024, 5, 1))


def test_rebate_band_gain_split_and_run_rate():
    # 2,400 units in year 2 at 9.785 = 23,484.00; the 2,000 band gives 2 % = 469.68
    pct, band = schedule.rebate(CONTENT, Decimal(2400), Decimal("23484.00"))
    assert (pct, band) == (Decimal(2), Decimal(2000))
    assert schedule.money(Decimal("23484.00") * pct / 100) == Decimal("469.68")
    assert schedule.rebate(CONTENT, Decimal(999), Decimal(1)) == (Decimal(0), None)
    # a confirmed gain of 1,234.57 split 30/70: 370.37 and 864.20, adding up to the cent
    assert schedule.gain_split(CONTENT, Decimal("1234.57")) == (Decimal("370.37"), Decimal("864.20"))
    # 900 units by day 146 of a 365-day year → 2,250.000 projected
    assert schedule.projection(Decimal(900), date(2025, 1, 1), date(2026, 1, 1), date(2025, 5, 27)) == \
        Decimal("2250.000")
    assert schedule.projection(Decimal(900), date(2025, 1, 1), date(2026, 1, 1), date(2025, 1, 1)) == 0
