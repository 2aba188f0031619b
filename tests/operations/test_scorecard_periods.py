"""The scorecard's tiles, read in one statement: each KPI of the measured party in the agreement's
order, the twelve periods of its own kind up to the one holding the chosen month (across year
ends), a gap where a period has no value, the current period's counts, and whether it is closed."""
from datetime import date, datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

from backend import db
from backend.operations.pages import tiles_for
from tests.disputes.conftest import sign

KPIS = [
    {"id": "q", "metric": "rejection_ppm", "measured_party": "supplier", "target": "500", "warning": "1000",
     "period": "quarter", "weight": "20"},
    {"id": "c", "metric": "payment_on_time", "measured_party": "client", "target": "95", "warning": "90",
     "period": "month", "weight": "50"},
    {"id": "m", "metric": "otif", "measured_party": "supplier", "target": "96", "warning": "93", "weight": "40"},
    {"id": "y", "metric": "on_time_delivery", "measured_party": "supplier", "target": "95", "warning": "50",
     "period": "year", "weight": "20"},
]
FROZEN = datetime(2026, 2, 2, 3, 0, tzinfo=timezone.utc)


async def value(owner, rel, metric, kind, start, numerator, denominator, frozen=None):
    await owner.execute(
        "INSERT INTO kpi_value (id, relationship, metric, period_kind, period_start, numerator, denominator, value,"
        " lines, computed_at, frozen_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, 1, now(), $8)",
        rel, metric, kind, start, numerator, denominator,
        round(Decimal(numerator) / Decimal(denominator) * (1_000_000 if metric == "rejection_ppm" else 100), 4),
        frozen)


async def test_each_kpi_reads_twelve_periods_of_its_kind(demo, owner, one_connection):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS})
    await value(owner, rel, "otif", "month", date(2026, 2, 1), 1, 3, frozen=FROZEN)  # the current month, closed
    await value(owner, rel, "otif", "month", date(2025, 3, 1), 1, 2)  # the first of the twelve
    await value(owner, rel, "otif", "month", date(2025, 2, 1), 1, 1)  # the thirteenth back: not shown
    await value(owner, rel, "otif", "quarter", date(2026, 1, 1), 9, 9)  # another kind: not the month's
    await value(owner, rel, "rejection_ppm", "quarter", date(2023, 4, 1), 3, 1000)  # Q2 2023, the first
    await value(owner, rel, "rejection_ppm", "quarter", date(2025, 10, 1), 1, 1000)
    await value(owner, rel, "on_time_delivery", "year", date(2026, 1, 1), 19, 20)
    await value(owner, rel, "payment_on_time", "month", date(2026, 2, 1), 1, 4)  # the client's
    other = demo["relationships"]["Maintenance spare parts"]
    await value(owner, other, "otif", "month", date(2026, 1, 1), 5, 5)  # another relationship's

    async with db.tenant_transaction(demo["orgs"]["Lácteos del Valle"]):
        version, tiles = await tiles_for(SimpleNamespace(id=rel), "supplier", date(2026, 2, 1), date(2026, 11, 29))
    assert version == 1
    assert [t.kpi["id"] for t in tiles] == ["q", "m", "y"]  # the supplier's, in the agreement's order
    quarter, month, year = tiles

    assert quarter.kind == "quarter" and quarter.start == date(2026, 1, 1)
    assert [start for start, _ in quarter.trend] == [date(2023 + (m + 3) // 12, (m + 3) % 12 + 1, 1)
                                                    for m in range(0, 36, 3)]  # Q2 2023 … Q1 2026
    assert dict(quarter.trend) == {start: None for start, _ in quarter.trend} | {
        date(2023, 4, 1): Decimal(3000), date(2025, 10, 1): Decimal(1000)}
    assert quarter.value is None and quarter.status == "none" and quarter.numerator is None
    assert quarter.frozen_at is None

    assert month.kind == "month" and month.start == date(2026, 2, 1)  # a KPI without a period is monthly
    assert [start for start, _ in month.trend] == [date(2025 + (m + 2) // 12, (m + 2) % 12 + 1, 1)
                                                  for m in range(12)]  # March 2025 … February 2026
    values = dict(month.trend)
    assert values[date(2025, 3, 1)] == Decimal(50) and values[date(2026, 1, 1)] is None
    assert month.value == Decimal(1) / Decimal(3) * 100  # from the exact counts
    assert (month.numerator, month.denominator, month.status) == (1, 3, "red")
    assert month.frozen_at == FROZEN

    assert year.kind == "year" and [start for start, _ in year.trend] == [date(y, 1, 1) for y in range(2015, 2027)]
    assert year.value == Decimal(95) and year.status == "green"

    async with db.tenant_transaction(demo["orgs"]["Envases Norte"]):  # the other side reads the same
        _version, client_tiles = await tiles_for(SimpleNamespace(id=rel), "client", date(2026, 2, 1),
                                                 date(2026, 11, 29))
    assert [(t.kpi["id"], t.value) for t in client_tiles] == [("c", Decimal(25))]


async def test_no_version_or_no_kpi_of_the_party(demo, owner, one_connection):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    org = demo["orgs"]["Lácteos del Valle"]
    async with db.tenant_transaction(org):
        assert await tiles_for(SimpleNamespace(id=rel), "supplier", date(2026, 2, 1), date(2026, 11, 29)) == (None, [])
    await sign(owner, rel, {"kpis": [KPIS[1]]}, number=1)
    await sign(owner, rel, {}, number=2, effective="2026-06-01")  # a version without KPIs at all
    async with db.tenant_transaction(org):
        assert await tiles_for(SimpleNamespace(id=rel), "supplier", date(2026, 2, 1), date(2026, 11, 29)) == (1, [])
        assert await tiles_for(SimpleNamespace(id=rel), "client", date(2026, 7, 1), date(2026, 11, 29)) == (2, [])
        version, tiles = await tiles_for(SimpleNamespace(id=rel), "client", date(2026, 2, 1), date(2026, 11, 29))
        assert version == 1 and [t.kpi["id"] for t in tiles] == ["c"] and tiles[0].value is None
