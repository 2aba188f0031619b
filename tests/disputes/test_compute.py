"""Penalty formulas, computed by hand (DESIGN.md section 6)."""
from decimal import Decimal as D

from backend.disputes.compute import (
    apply_period_cap,
    fixed_per_incident,
    kpi_service_credit,
    percent_per_day_late,
)


def test_percent_per_day_late_matches_the_design_example():
    # "3 days × 0.5 % × 12,400.00 EUR = 186.00 EUR"
    rule = {"rate_pct": "0.5", "cap_pct": "10"}
    penalty = percent_per_day_late(rule, line_value=D("12400.00"), days_late=3, currency="EUR", incident_number=1)
    assert penalty.amount == D("186.00")
    assert penalty.steps[0].params == {"days": 3, "rate": D("0.5"), "value": (D("12400.00"), "EUR"),
                                       "result": (D("186.00"), "EUR")}


def test_percent_per_day_late_is_capped_per_line():
    rule = {"rate_pct": "0.5", "cap_pct": "10"}
    penalty = percent_per_day_late(rule, line_value=D("12400.00"), days_late=30, currency="EUR", incident_number=1)
    assert penalty.amount == D("1240.00")  # 15 % would be 1,860.00; the cap is 10 %
    assert "capped" in penalty.steps[-1].text


def test_rounding_is_half_up_to_cents():
    # 1 day × 0.5 % × 1.01 = 0.00505 → 0.01 (half-up), never banker's rounding
    rule = {"rate_pct": "0.5"}
    assert percent_per_day_late(rule, line_value=D("1.01"), days_late=1, currency="EUR",
                                incident_number=1).amount == D("0.01")
    # 1 day × 0.5 % × 0.90 = 0.0045 → 0.00
    assert percent_per_day_late(rule, line_value=D("0.90"), days_late=1, currency="EUR",
                                incident_number=1).amount == D("0.00")


def test_kpi_service_credit_and_its_cap():
    rule = {"rate_pct": "1", "cap_pct": "5"}
    # OTIF 93.5 % against 96 %: 2.5 points × 1 % × 48,000.00 = 1,200.00
    assert kpi_service_credit(rule, period_value=D("48000.00"), shortfall_points=D("2.5"),
                              currency="EUR").amount == D("1200.00")
    # 7.25 points would be 3,480.00; the cap is 5 % of 48,000.00 = 2,400.00
    assert kpi_service_credit(rule, period_value=D("48000.00"), shortfall_points=D("7.25"),
                              currency="EUR").amount == D("2400.00")


def test_grace_and_minimum():
    rule = {"amount": "150", "grace_count": 2, "minimum_amount": "25"}
    assert [fixed_per_incident(rule, currency="EUR", incident_number=n).amount for n in (1, 2, 3)] == [
        D("0.00"), D("0.00"), D("150.00")]
    assert fixed_per_incident(rule, currency="EUR", incident_number=1).free_by_grace
    small = {"rate_pct": "0.5", "minimum_amount": "25"}
    raised = percent_per_day_late(small, line_value=D("1000"), days_late=1, currency="EUR", incident_number=1)
    assert raised.amount == D("25.00") and "minimum" in raised.steps[-1].text  # 5.00 raised to 25.00


def test_the_period_cap_charges_in_order_and_shows_the_excess():
    lines, cap = apply_period_cap([("a", D("186.00")), ("b", D("1240.00")), ("c", D("500.00"))],
                                  period_value=D("12000.00"), cap_pct=D("10"))
    assert cap == D("1200.00")
    assert [(l.key, l.charged, l.capped_off) for l in lines] == [
        ("a", D("186.00"), D("0.00")), ("b", D("1014.00"), D("226.00")), ("c", D("0.00"), D("500.00"))]
    assert sum(l.charged for l in lines) == cap
    assert sum(l.charged + l.capped_off for l in lines) == sum(l.amount for l in lines)
    uncapped, none = apply_period_cap([("a", D("5"))], period_value=D("0"), cap_pct=None)
    assert none is None and uncapped[0].charged == D("5")


def test_the_calculation_reads_as_a_sentence_in_each_language():
    from backend.disputes.compute import explain, render_step
    from backend.web import i18n

    penalty = percent_per_day_late({"rate_pct": "0.5", "cap_pct": "10"}, line_value=D("12400.00"), days_late=3,
                                   currency="EUR", incident_number=1)
    sentences = {}
    for locale in ("en", "es", "nl"):
        token = i18n.set_locale(locale)
        try:
            sentences[locale] = explain(penalty, render_step)
        finally:
            i18n._locale.reset(token)
    assert sentences["en"] == "3 days × 0.5 % × €12,400.00 = €186.00"
    assert sentences["es"] == "3 días × 0,5 % × 12.400,00\xa0€ = 186,00\xa0€"
    assert sentences["nl"] == "3 dagen × 0,5 % × €\xa012.400,00 = €\xa0186,00"
