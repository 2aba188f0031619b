"""The pages' main statements keep one generic plan: PostgreSQL does not plan them again for every
page (it did for the deviations list while its LIMIT was a parameter, and for the scorecard while
its KPIs came as arrays: 0.1 and 0.2 ms of the database's time on every view)."""
from datetime import date
from types import SimpleNamespace

from backend import db
from backend.disputes.queries import Filters, page_of
from backend.operations.pages import tiles_for
from tests.bench.pages import DEVIATIONS, KPI_VALUES
from tests.disputes.conftest import sign
from tests.operations.test_kpis import KPIS


async def _plans(prefix: str) -> tuple[int, int]:
    row = await db.raw_one("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                           " WHERE statement LIKE $1 || '%'", prefix)
    return row["generic_plans"], row["custom_plans"]


async def test_the_scorecard_and_deviations_statements_are_planned_once(demo, owner, one_connection):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS})
    # the benchmark's data: 50,000 deviations, twelve periods of every KPI
    await owner.execute(DEVIATIONS, rel)
    await owner.execute(KPI_VALUES, rel)
    await owner.execute("ANALYZE deviation, kpi_value")
    org = demo["orgs"]["Lácteos del Valle"]
    relationship = SimpleNamespace(id=rel)
    async with db.tenant_transaction(org):  # one connection: its prepared statements are the pages'
        for month in range(1, 13):
            _version, tiles = await tiles_for(relationship, "supplier", date(2026, month, 1), date(2026, 11, 29))
            assert [t.kpi["metric"] for t in tiles] == [k["metric"] for k in KPIS if k["measured_party"] == "supplier"]
            await page_of(rel, Filters())
        scorecard = await _plans("\nWITH version AS (")
        deviations = await _plans("SELECT id, number, type")
    # PostgreSQL tries five custom plans, then keeps the generic one when it costs no more
    assert scorecard[1] <= 5 and scorecard[0] >= 7, scorecard
    assert deviations[1] <= 5 and deviations[0] >= 7, deviations
