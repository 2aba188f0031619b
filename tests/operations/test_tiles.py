"""The scorecard tile's words and trend chart, computed by hand."""
from datetime import date
from decimal import Decimal

from backend.operations.pages import Tile, shown
from backend.web import i18n


def tile(metric: str, values: list) -> Tile:
    trend = [(date(2026, month, 1), None if v is None else Decimal(v)) for month, v in enumerate(values, start=1)]
    return Tile(kpi={"metric": metric}, label="", kind="month", start=trend[-1][0], value=trend[-1][1],
                numerator=None, denominator=None, status="none", trend=trend, lower_is_better=False)


def test_points_span_the_box_from_the_lowest_to_the_highest_value():
    # lowest 90 at the bottom (y 52), highest 100 at the top (52 - 44 = 8), 95 half way (30)
    assert tile("otif", [None, "90", "95", None, "100"]).points == [
        (30, Decimal("52.0"), "February 2026: 90.00 %"),
        (50, Decimal("30.0"), "March 2026: 95.00 %"),
        (90, Decimal("8.0"), "May 2026: 100.00 %"),
    ]
    # one value (no span) sits at the bottom; no value, no chart
    assert tile("otif", [None, "97.5"]).points == [(30, Decimal("52.0"), "February 2026: 97.50 %")]
    assert tile("otif", [None, None]).points == []
    assert tile("otif", [None, "90", "95", None, "100"]).polyline == "30,52.0 50,30.0 90,8.0"
    assert tile("otif", [None, None]).polyline == ""


def test_values_are_written_in_the_unit_of_their_kpi_and_the_readers_language():
    token = i18n.set_locale("es")
    try:
        assert shown(Decimal("1234.5678"), "average_lead_time_days") == "1.234,57 días"
        assert shown(Decimal("12345.6"), "rejection_ppm") == "12.346 PPM"
        # half up, as people round: not to even (Python's round) nor through a float
        assert shown(Decimal("2.25"), "deviation_response_hours") == "2,3 h"
        assert shown(Decimal("12345.5"), "rejection_ppm") == "12.346 PPM"
        assert shown(Decimal("96.125"), "otif") == "96,13 %"
        assert shown(Decimal("12.345"), "otif") == "12,35 %"
        assert shown(Decimal("0.005"), "otif") == "0,01 %"
        assert shown(Decimal("96"), "otif") == "96,00 %"
        assert shown(None, "otif") == "sin datos"
    finally:
        i18n._locale.reset(token)
