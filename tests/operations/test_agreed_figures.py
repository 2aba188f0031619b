"""KPI and penalty figures where an earlier version rounded too soon or judged by another rule
(found in review, each computed here by hand): a line left out by an outcome both sides agreed at
escalation, a service credit from the exact shortfall and against the scorecard's target, a line
value rounded half-up, a percentage shown from its exact counts."""
import re
from datetime import date, datetime, timezone
from decimal import Decimal

from backend import db
from backend.operations import kpis
from backend.operations.ingest import recompute_dirty
from tests.disputes.conftest import agreement, sign  # noqa: F401 (a fixture)

ANA, BRAM = "ana@lacteos.example", "bram@envases.example"
NOV = date(2026, 11, 1)
OTIF = {"id": "k1", "metric": "otif", "measured_party": "supplier", "target": "96", "warning": "93",
        "period": "month", "weight": "100", "early_tolerance_days": 0, "late_tolerance_days": 0}
SERVICE_CREDIT = {"id": "p-sc", "trigger": "kpi_shortfall", "kpi_metric": "otif", "formula": "kpi_service_credit",
                  "amount": None, "rate_pct": "0.1", "cap_pct": None, "grace_count": None, "minimum_amount": None}
LATE = {"id": "p-late", "trigger": "late_delivery", "kpi_metric": None, "formula": "percent_per_day_late",
        "amount": None, "rate_pct": "10", "cap_pct": None, "grace_count": None, "minimum_amount": None}


async def post(who, rel, path, body):
    response = await who.request("POST", f"/api/v1/relationships/{rel}/{path}", json=body)
    assert response.status_code == 200, response.text


async def act(who, deviation, action, version, **extra):
    response = await who.request("POST", f"/api/v1/deviations/{deviation}/actions",
                                 json={"action": action, "version": version} | extra)
    assert response.status_code == 200, response.text
    return response.json()


async def recompute(demo, rel, months, now):
    async with db.tenant_transaction(demo["orgs"]["Lácteos del Valle"]):
        await kpis.recompute(rel, months, now)


async def month_values(owner, rel, start="2026-11-01"):
    rows = await owner.fetch("SELECT metric, value, numerator, denominator FROM kpi_value WHERE relationship = $1"
                             " AND period_kind = 'month' AND period_start = $2::text::date", rel, start)
    return {r["metric"]: r for r in rows}


async def two_lines(ana, rel):
    """L1 on time; L2 four days late."""
    await post(ana, rel, "orders", {"orders": [{"external_id": "PO-1", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
        {"external_id": "L1", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-10"},
        {"external_id": "L2", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-10"}]}]})
    await post(ana, rel, "deliveries", {"deliveries": [
        {"external_id": "D1", "line_external_id": "L1", "delivered_at": "2026-11-10T09:00:00Z", "qty_delivered": "10"},
        {"external_id": "D2", "line_external_id": "L2", "delivered_at": "2026-11-14T09:00:00Z", "qty_delivered": "10"}]})


async def test_a_line_left_out_by_an_upheld_outcome_both_sides_agreed_leaves_both_terms(
        app, demo, owner, browser, agreement):  # noqa: F811
    rel = agreement["relationship"]
    ana, bram = await browser(ANA), await browser(BRAM)
    await two_lines(ana, rel)
    logged = await ana.request("POST", f"/api/v1/relationships/{rel}/deviations", json={
        "type": "other", "occurred_at": "2026-11-14T10:00:00", "description": "Late.",
        "subject_kind": "order_line", "subject_ref": "L2"})
    assert logged.status_code in (200, 201), logged.text
    deviation = logged.json()["id"]
    await act(bram, deviation, "contest", 1, note="Gate closed.")
    await act(ana, deviation, "uphold", 2)
    await act(bram, deviation, "propose_outcome", 3, outcome="upheld",
              exclusion_reason="The dock was closed: the delay was the client's.")
    await act(ana, deviation, "confirm_outcome", 4)
    assert await owner.fetchval("SELECT status FROM deviation WHERE id = $1::text::uuid", deviation) == "upheld"
    await recompute(demo, rel, [NOV], datetime(2026, 12, 2, tzinfo=timezone.utc))
    otif = (await month_values(owner, rel))["otif"]
    assert (otif["numerator"], otif["denominator"]) == (1, 1)  # L2 left both terms
    explained = await ana.get(f"/relationships/{rel}/scorecard/explain?metric=otif&kind=month&start=2026-11-01")
    assert "The dock was closed" in explained.text


async def test_a_service_credit_is_computed_from_the_exact_shortfall(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": [OTIF], "penalty_rules": [SERVICE_CREDIT]})
    ana = await browser(ANA)
    await post(ana, rel, "orders", {"orders": [{"external_id": "PO-1", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
        {"external_id": f"L{i}", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-10"}
        for i in range(1, 8)]}]})
    await post(ana, rel, "deliveries", {"deliveries": [  # six of seven on time, L7 never delivered
        {"external_id": f"D{i}", "line_external_id": f"L{i}", "delivered_at": "2026-11-10T09:00:00Z",
         "qty_delivered": "10"} for i in range(1, 7)]})
    await post(ana, rel, "invoices", {"invoices": [
        {"external_id": "I1", "amount": "1000000.00", "issued_on": "2026-11-20", "due_date": "2026-12-20"}]})
    async with db.tenant_transaction(demo["orgs"]["Lácteos del Valle"]):
        await recompute_dirty(rel, datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc))
    deviation = await owner.fetchrow("SELECT id, shortfall_points FROM deviation WHERE type = 'kpi_shortfall'")
    assert deviation["shortfall_points"] == Decimal("10.2857142857")  # 96 − 600/7
    confirmed = await act(ana, deviation["id"], "confirm", 1)
    # 10.285714… points × 0.1 % × 1,000,000.00 = 10,285.714… → 10,285.71 (from 10.29 points: 10,290.00)
    assert confirmed["penalty"]["computed"] == "10285.71"


async def test_a_service_credit_uses_the_target_the_scorecard_judges_by(app, demo, owner, browser):
    """Version 1 (target 96) is in force on 1 November, version 2 (target 80) from 15 November: the
    scorecard judges November by version 1, and so does the credit."""
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": [OTIF], "penalty_rules": [SERVICE_CREDIT]}, number=1, effective="2026-01-01")
    await sign(owner, rel, {"kpis": [OTIF | {"target": "80", "warning": "70"}], "penalty_rules": [SERVICE_CREDIT]},
               number=2, effective="2026-11-15")
    ana = await browser(ANA)
    await two_lines(ana, rel)  # OTIF 50 %
    async with db.tenant_transaction(demo["orgs"]["Lácteos del Valle"]):
        await recompute_dirty(rel, datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc))
    export = await ana.get(f"/relationships/{rel}/scorecard/export?period=2026-11&format=csv")
    assert "otif,supplier,month,2026-11-01,50.0000,1.0000,2.0000,96,93,red" in export.text, export.text
    assert await owner.fetchval("SELECT shortfall_points FROM deviation WHERE type = 'kpi_shortfall'") == 46


async def test_a_line_value_is_rounded_half_up(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": [OTIF], "penalty_rules": [LATE]})
    ana = await browser(ANA)
    await post(ana, rel, "orders", {"orders": [{"external_id": "PO-1", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
        {"external_id": "L1", "item_code": "CUP", "qty_ordered": "3", "unit_price": "4.175",
         "promised_date": "2026-11-10"}]}]})
    await post(ana, rel, "deliveries", {"deliveries": [
        {"external_id": "D1", "line_external_id": "L1", "delivered_at": "2026-11-20T09:00:00Z", "qty_delivered": "3"}]})
    async with db.tenant_transaction(demo["orgs"]["Lácteos del Valle"]):
        await recompute_dirty(rel, datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc))
    deviation = await owner.fetchrow("SELECT id, value, days_late FROM deviation WHERE type = 'late_delivery'")
    # 3 × 4.175 = 12.525 → 12.53 (half to even gave 12.52); 10 days × 10 % × 12.53 = 12.53
    assert (deviation["value"], deviation["days_late"]) == (Decimal("12.53"), 10)
    assert (await act(ana, deviation["id"], "confirm", 1))["penalty"]["computed"] == "12.53"


async def test_a_percentage_is_shown_from_its_exact_counts(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": [OTIF]})
    ana = await browser(ANA)
    await post(ana, rel, "orders", {"orders": [{"external_id": "PO-1", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
        {"external_id": f"L{i:03}", "item_code": "CUP", "qty_ordered": "1", "promised_date": "2026-11-10"}
        for i in range(101)]}]})
    await post(ana, rel, "deliveries", {"deliveries": [
        {"external_id": f"D{i:03}", "line_external_id": f"L{i:03}", "delivered_at": "2026-11-10T09:00:00Z",
         "qty_delivered": "1"} for i in range(50)]})
    await recompute(demo, rel, [NOV], datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert (await month_values(owner, rel))["otif"]["value"] == Decimal("49.5050")  # stored with four decimals
    page = await ana.get(f"/relationships/{rel}/scorecard?period=2026-11")
    tile = page.text.split('id="kpi-otif"')[1].split("</article>")[0]
    # 50 / 101 = 49.50495…% → 49.50 %, in the tile and in the chart's point (from 49.5050: 49.51)
    assert tile.count("49.50 %") == 2 and "49.51" not in tile, tile


async def test_a_proposal_the_client_confirmed_counts_in_response_time_from_its_confirmation(
        app, demo, owner, browser):
    """The workers propose a late delivery on 15 November; the client confirms it (logs it) on the
    16th at 10:00; the supplier first answers at 15:00: 5 hours. A person's deviation counts from
    when it was logged, as before: 2 hours."""
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": [OTIF]})
    ana, bram = await browser(ANA), await browser(BRAM)
    await two_lines(ana, rel)
    async with db.tenant_transaction(demo["orgs"]["Lácteos del Valle"]):
        await recompute_dirty(rel, datetime(2026, 11, 15, 9, 0, tzinfo=timezone.utc))
    proposed = await owner.fetchval("SELECT id::text FROM deviation WHERE subject_ref = 'L2' AND source = 'worker'")
    await act(ana, proposed, "confirm", 1)
    await act(bram, proposed, "contest", 2, note="No.")
    logged = await ana.request("POST", f"/api/v1/relationships/{rel}/deviations", json={
        "type": "other", "occurred_at": "2026-11-14T10:00:00", "description": "Dirty pallets."})
    person = logged.json()["id"]
    await act(bram, person, "contest", 1, note="They were clean.")
    await owner.execute("UPDATE deviation SET created_at = '2026-11-15T10:00:00Z',"
                        " first_response_at = '2026-11-16T15:00:00Z' WHERE id = $1::text::uuid", proposed)
    await owner.execute("UPDATE deviation_event SET created_at = '2026-11-16T10:00:00Z'"
                        " WHERE deviation = $1::text::uuid AND action = 'confirm'", proposed)
    await owner.execute("UPDATE deviation SET created_at = '2026-11-20T08:00:00Z',"
                        " first_response_at = '2026-11-20T10:00:00Z' WHERE id = $1::text::uuid", person)
    await recompute(demo, rel, [NOV], datetime(2026, 12, 2, tzinfo=timezone.utc))
    hours = (await month_values(owner, rel))["deviation_response_hours"]
    assert (hours["value"], hours["denominator"]) == (Decimal("3.5"), 2)  # the median of 5 and 2


async def test_receiving_window_adherence_counts_deliveries_inside_their_locations_windows(app, demo, owner, browser):
    """Main receives Mon–Fri 06:00–14:00 (Madrid time). Tuesday 10 November: 10:00 inside, 14:00 inside
    (the window's last minute), 16:00 outside, 13:30 UTC = 14:30 local outside; Saturday 14
    November 09:00 outside. Deliveries to a location without windows are not counted: 2 of 5."""
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": [{"id": "k9", "metric": "receiving_window_adherence", "measured_party": "client",
                                      "target": "95", "warning": "90", "period": "month", "weight": "50"}],
                            "locations": [{"id": "l1", "name": "Main", "address": "", "capacity": "", "documents": "",
                                           "receiving_windows": "Mon–Fri 06:00–14:00"},
                                          {"id": "l2", "name": "Annex", "address": "", "capacity": "",
                                           "documents": "", "receiving_windows": "whenever someone is there"}]})
    ana = await browser(ANA)
    await post(ana, rel, "orders", {"orders": [{"external_id": "PO-1", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
        {"external_id": "L1", "item_code": "CUP", "qty_ordered": "50", "promised_date": "2026-11-10", "location": "main"},
        {"external_id": "L2", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-10",
         "location": "Annex"}]}]})
    at = ["2026-11-10T10:00:00", "2026-11-10T14:00:00", "2026-11-10T16:00:00", "2026-11-10T13:30:00Z",
          "2026-11-14T09:00:00"]
    await post(ana, rel, "deliveries", {"deliveries": [
        {"external_id": f"D{i}", "line_external_id": "L1", "delivered_at": moment, "qty_delivered": "10"}
        for i, moment in enumerate(at)] + [
        {"external_id": "A1", "line_external_id": "L2", "delivered_at": "2026-11-10T10:00:00", "qty_delivered": "10"}]})
    await recompute(demo, rel, [NOV], datetime(2026, 12, 2, tzinfo=timezone.utc))
    adherence = (await month_values(owner, rel))["receiving_window_adherence"]
    assert (adherence["numerator"], adherence["denominator"], adherence["value"]) == (2, 5, 40)
    page = await ana.get(f"/relationships/{rel}/scorecard?party=client&period=2026-11")
    assert "40.00 %" in page.text.split('id="kpi-receiving_window_adherence"')[1].split("</article>")[0]
    # explained: each delivery to Main, at its local time, inside a window or not; the Annex's are not counted
    explained = await ana.get(f"/relationships/{rel}/scorecard/explain?metric=receiving_window_adherence&kind=month"
                              "&start=2026-11-01")
    table = explained.text.split('id="lines"')[1].split("</table>")[0]
    assert re.findall(r"<tr><td>(\w+)</td><td>L1</td><td>main</td>\s*<td>[^<]+</td><td>(yes|no)</td>", table) == [
        ("D0", "yes"), ("D1", "yes"), ("D2", "no"), ("D3", "no"), ("D4", "no")]
    assert "A1" not in table


def test_receiving_windows_are_read_from_days_and_hours_or_refused_with_an_example():
    from datetime import time

    from backend.agreements.sections import SECTIONS, clean_row, parse_windows

    assert parse_windows("Mon–Fri 06:00–14:00; Sat 08:00–12:00") == [
        *((day, time(6), time(14)) for day in range(1, 6)), (6, time(8), time(12))]
    assert parse_windows("lun-vie 6:00-10:00, 12:00-14:00") == [
        *((day, time(6), time(10)) for day in range(1, 6)), *((day, time(12), time(14)) for day in range(1, 6))]
    assert parse_windows("Fri-Mon 22:00-23:00") == [(day, time(22), time(23)) for day in (1, 5, 6, 7)]
    locations = next(s for s in SECTIONS if s.key == "locations")
    for bad in ("whenever someone is there", "Mon 14:00-06:00", "Funday 06:00-07:00", "Mon 06:00-14:00 maybe"):
        _values, errors = clean_row(locations, {"name": "Main", "receiving_windows": bad}, {})
        assert errors == {"receiving_windows": "Write the windows as days and hours, for example: Mon–Fri "
                                               "06:00–14:00; Sat 08:00–12:00."}, bad


async def test_a_period_closed_with_no_data_stays_so_until_an_audited_reopen(app, demo, owner, browser):
    """The nightly job on 15 December closes October (with data) and November (with none). Rows
    for November sent later change nothing; after a reopen (with its reason) they count."""
    from workers.kpis import reconcile_kpis

    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": [OTIF]})
    ana = await browser(ANA)
    await post(ana, rel, "orders", {"orders": [{"external_id": "PO-0", "ordered_at": "2026-10-01T08:00:00Z", "lines": [
        {"external_id": "L0", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-10-10"}]}]})
    await reconcile_kpis({}, "2026-12-15T02:15:00+00:00")
    assert await owner.fetchval("SELECT count(*) FROM kpi_value WHERE period_start = '2026-11-01'"
                                " AND period_kind = 'month' AND frozen_at IS NOT NULL") == 1  # closed, no data
    await two_lines(ana, rel)  # November's rows arrive late
    await recompute(demo, rel, [NOV], datetime(2026, 12, 16, tzinfo=timezone.utc))
    assert list(await month_values(owner, rel)) == [kpis.NO_DATA]  # still only the mark of a closed, empty month
    page = await ana.get(f"/relationships/{rel}/scorecard?period=2026-11")
    tile = page.text.split('id="kpi-otif"')[1].split("</article>")[0]
    assert "no data" in tile and "Closed period" in tile
    reopened = await ana.post(f"/relationships/{rel}/scorecard/reopen",
                              {"kind": "month", "start": "2026-11-01", "reason": "The ERP sent November late."})
    assert reopened.status_code in (302, 303), reopened.text
    await recompute(demo, rel, [NOV], datetime(2026, 12, 16, tzinfo=timezone.utc))
    otif = (await month_values(owner, rel))["otif"]
    assert (otif["numerator"], otif["denominator"]) == (1, 2)


async def test_the_scorecard_names_periods_and_writes_numbers_in_the_readers_language(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": [OTIF, {"id": "k4", "metric": "rejection_ppm", "measured_party": "supplier",
                                            "target": "500", "warning": "1000", "period": "quarter", "weight": "0"}]})
    ana = await browser(ANA)
    await two_lines(ana, rel)
    await recompute(demo, rel, [NOV], datetime(2026, 12, 2, tzinfo=timezone.utc))
    carlos = await browser("carlos@lacteos.example")  # reads Spanish
    page = (await carlos.get(f"/relationships/{rel}/scorecard?period=2026-11")).text
    heading = page.split("<h2>")[1].split("</h2>")[0]
    assert "noviembre de 2026" in heading and "2026-11" not in heading
    assert "← octubre de 2026" in page and "diciembre de 2026 →" in page
    assert "T4 2026" in page.split('id="kpi-rejection_ppm"')[1] and "(quarter)" not in page
    # 50 % of a 96 % target: 52.083… → "52,1" (a decimal comma)
    assert '<span class="stat-value">52,1</span>' in page
    assert "<title>noviembre de 2026: 50,00 %</title>" in page
    explained = (await carlos.get(f"/relationships/{rel}/scorecard/explain?metric=otif&kind=month&start=2026-11-01")).text
    assert "noviembre de 2026</h2>" in explained and "2026-12-01" not in explained
