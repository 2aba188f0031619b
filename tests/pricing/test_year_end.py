"""The price schedule with the data: commitments take their status from the scorecard or from an
evidence report the other side confirms; a real arq worker decides each conditional step once, at
the start of the contract year in the relationship's time zone; the price API and page follow."""
import json
from datetime import datetime, timezone

from tests.disputes.conftest import sign
from tests.disputes.test_evidence import PDF
from tests.jobs import run_job
from tests.pricing.test_schedule import CONTENT

ANA, BRAM = "ana@lacteos.example", "bram@envases.example"
IMPROVEMENTS = [
    {"id": "m-1", "year": 1, "description": "OTIF at least 96 % in year 1", "kpi_metric": "otif", "target": "96"},
    {"id": "m-2", "year": 2, "description": "OTIF at least 96 % in year 2", "kpi_metric": "otif", "target": "96"},
    {"id": "m-3", "year": 2, "description": "Cost reduction of at least 2 %", "kpi_metric": None, "target": "2",
     "evidence": "Cost breakdown signed by both controllers"},
]


async def run_year_end(servers, database, when) -> None:
    await run_job(servers, database, "price_year_end", when)


async def kpi(owner, rel, month, numerator, denominator):
    await owner.execute(
        "INSERT INTO kpi_value (id, relationship, metric, period_kind, period_start, numerator, denominator, value,"
        " lines, computed_at) VALUES (gen_random_uuid(), $1, 'otif', 'month', $2::text::date, $3, $4, $3 * 100.0 / $4,"
        " $4, now())", rel, month, numerator, denominator)


async def test_commitments_then_the_year_end_decides_each_step_once(app, demo, owner, browser, servers, database):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    # contract year 1 is 2025, year 2 is 2026 (running today), year 3 begins on 1 January 2027
    await owner.execute("UPDATE relationship SET start_date = '2025-01-01' WHERE id = $1", rel)
    await sign(owner, rel, CONTENT | {"improvements": IMPROVEMENTS}, effective="2025-01-01")
    await kpi(owner, rel, "2025-03-01", 97, 100)  # year 1: 97 % ≥ 96 → met
    await kpi(owner, rel, "2026-05-01", 50, 52)  # year 2 so far: (50 + 45) / (52 + 48) = 95 % < 96
    await kpi(owner, rel, "2026-09-01", 45, 48)
    ana, bram = await browser(ANA), await browser(BRAM)

    page = await ana.get(f"/relationships/{rel}/prices")
    assert page.status_code == 200
    assert 'id="schedule-chart"' in page.text and "Year 3" in page.text
    assert "95.00" in page.text and "at risk" in page.text and "awaiting a report" in page.text

    # the supplier reports the cost reduction; the evidence is required
    form = {"year": "2", "commitment": "m-3", "achieved": "2.5", "evidence": ""}
    refused = await bram.post(f"/relationships/{rel}/prices/reports", form)
    assert refused.status_code == 422 and "Attach the evidence or say where it is" in refused.text
    renamed = await bram.post(f"/relationships/{rel}/prices/reports", form,
                              files={"evidence_file": ("costs.png", PDF, "image/png")})
    assert renamed.status_code == 422 and "does not match its content (PDF)" in renamed.text
    assert await owner.fetchval("SELECT count(*) FROM improvement_report") == 0
    sent = await bram.post(f"/relationships/{rel}/prices/reports", form | {"evidence": "Controllers' report Q3"},
                           files={"evidence_file": ("costs-2026.pdf", PDF, "application/pdf")})
    assert sent.status_code == 302
    report = await owner.fetchval("SELECT id FROM improvement_report")
    attached = await owner.fetchrow("SELECT id, report_kind, report_id, filename FROM report_file")
    assert (attached["report_kind"], attached["report_id"], attached["filename"]) == ("improvement", report,
                                                                                       "costs-2026.pdf")
    download = await ana.get(f"/report-files/{attached['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["x-content-type-options"] == "nosniff"
    # the reporting side cannot confirm its own report; the client can, once
    assert (await bram.post(f"/improvement-reports/{report}/decision",
                            {"decision": "confirmed", "version": "1"})).status_code == 403
    assert (await ana.post(f"/improvement-reports/{report}/decision",
                           {"decision": "confirmed", "version": "1"})).status_code == 302
    assert (await ana.post(f"/improvement-reports/{report}/decision",
                           {"decision": "rejected", "version": "1"})).status_code == 409
    assert await owner.fetchval("SELECT status FROM improvement_report") == "confirmed"
    assert "Controllers" in (await bram.get(f"/relationships/{rel}/prices")).text

    # today (year 2): year 2's step is decided from year 1, which was met
    await run_year_end(servers, database, datetime(2026, 6, 1, tzinfo=timezone.utc))
    assert [tuple(r) for r in await owner.fetch(
        "SELECT year, outcome, applied_pct FROM price_step_decision ORDER BY year")] == [(2, "applied", 3)]
    # 23:59 in Madrid on 31 December is still year 2: nothing more
    await run_year_end(servers, database, datetime(2026, 12, 31, 22, 59, tzinfo=timezone.utc))
    assert await owner.fetchval("SELECT count(*) FROM price_step_decision") == 1
    # 00:30 in Madrid on 1 January 2027: year 3 begins; year 2's OTIF (95 %) missed → the 4 % is withheld
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)
    await run_year_end(servers, database, new_year)
    await run_year_end(servers, database, new_year)  # a second run decides nothing again
    rows = await owner.fetch("SELECT year, outcome, applied_pct, commitments FROM price_step_decision ORDER BY year")
    assert [(r["year"], r["outcome"], r["applied_pct"]) for r in rows] == [(2, "applied", 3), (3, "withheld", 0)]
    evaluated = {c["id"]: c for c in json.loads(rows[1]["commitments"])}
    assert evaluated["m-2"]["status"] == "missed" and evaluated["m-2"]["value"] == "95.0000"
    assert (evaluated["m-2"]["numerator"], evaluated["m-2"]["denominator"]) == ("95.0000", "100.0000")
    assert evaluated["m-3"]["status"] == "met"
    audit = await owner.fetch("SELECT details FROM audit_entry WHERE action = 'price.step_decided' ORDER BY seq")
    assert [json.loads(a["details"])["outcome"] for a in audit] == ["applied", "withheld"]
    told = await owner.fetch("SELECT \"user\", title FROM notification WHERE kind = 'price_step' ORDER BY created_at")
    assert {r["user"] for r in told} == {demo["users"][ANA], demo["users"][BRAM]}
    assert any("year 3 was withheld (0 %)" in r["title"] for r in told)

    # the price API and the page follow the decision: 9.50 × 1.03 = 9.785, withheld in year 3
    answer = await bram.get(f"/api/v1/relationships/{rel}/prices?item=WIDGET&date=2027-06-01&qty=1200")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["contract_year"], body["unit_price"], body["amount"], body["tier_from"]) == \
        (3, "9.7850", "11742.00", "1000")
    assert [(s["year"], s["status"], s["applied_pct"]) for s in body["steps"]] == \
        [(2, "unconditional", "3"), (3, "withheld", "0")]
    quote = await ana.get(f"/relationships/{rel}/prices?item=WIDGET&date=2027-06-01&qty=1200",
                          headers={"hx-request": "true"})
    assert quote.status_code == 200 and 'id="quote"' in quote.text and "9.7850" in quote.text
    assert "<html" not in quote.text  # the partial only


async def test_price_api_names_the_bad_field(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await owner.execute("UPDATE relationship SET start_date = '2025-01-01' WHERE id = $1", rel)
    await sign(owner, rel, CONTENT, effective="2025-01-01")
    ana = await browser(ANA)
    for query, field in (("date=2026-01-01", "item"), ("item=WIDGET&date=2026-13-01", "date"),
                         ("item=WIDGET&qty=-3", "qty"), ("item=NOPE", "item"),
                         ("item=WIDGET&date=2024-12-31", "date")):
        answer = await ana.get(f"/api/v1/relationships/{rel}/prices?{query}")
        assert answer.status_code == 422, (query, answer.text)
        assert [e["field"] for e in answer.json()["errors"]] == [field], query
    ok = await ana.get(f"/api/v1/relationships/{rel}/prices?item=WIDGET&date=2025-02-01")
    assert ok.json()["unit_price"] == "10.0000" and ok.json()["amount"] is None


async def test_volumes_warn_once_and_gains_are_split_as_agreed(app, demo, owner, browser, servers, database):
    rel = demo["relationships"]["Yoghurt cups and lids"]  # contract year 1 is 2026
    content = CONTENT | {"price_items": [{"id": "i-1", "item_code": "WIDGET", "base_price": "10.00",
                                         "annual_volume": "5000"}]}
    await sign(owner, rel, content, effective="2026-01-01")
    order = await owner.fetchval(
        "INSERT INTO purchase_order (id, relationship, external_id, ordered_at, updated_at) VALUES"
        " (gen_random_uuid(), $1, 'PO-1', '2026-01-02', now()) RETURNING id", rel)
    await owner.execute(  # 12 lines of 100 between January and May, no line price: the schedule's applies
        "INSERT INTO order_line (id, relationship, purchase_order, external_id, item_code, qty_ordered, promised_date,"
        " location, updated_at) SELECT gen_random_uuid(), $1, $2, 'L-' || g, 'WIDGET', 100,"
        " date '2026-01-10' + g * 11, '', now() FROM generate_series(1, 12) g", rel, order)
    # 1 June 2026 is day 151 of 365: 1,200 × 365 / 151 = 2,900.662 projected, below the 5,000 committed,
    # which is also the volume tier (9.00) the price assumed: one warning of each kind, once
    for _ in range(2):
        await run_year_end(servers, database, datetime(2026, 6, 1, 10, tzinfo=timezone.utc))
    warnings = await owner.fetch("SELECT kind, actual, projected, threshold FROM volume_warning ORDER BY kind")
    assert [(w["kind"], w["actual"], w["projected"], w["threshold"]) for w in warnings] == [
        ("commitment", 1200, __import__("decimal").Decimal("2900.662"), 5000),
        ("tier", 1200, __import__("decimal").Decimal("2900.662"), 5000)]
    told = await owner.fetch("SELECT \"user\", title FROM notification WHERE kind = 'volume_warning'")
    assert len(told) == 4 and {r["user"] for r in told} == {demo["users"][ANA], demo["users"][BRAM]}
    assert any("heading for 2,901 this contract year, below the 5,000 committed" in r["title"] for r in told)

    ana, bram = await browser(ANA), await browser(BRAM)
    page = await ana.get(f"/relationships/{rel}/prices")
    # 1,200 units at the assumed 9.00 = 10,800.00; the 1,000 band gives 1 %: 108.00 accrued
    assert "€10,800.00" in page.text and "€108.00 accrued" in page.text
    assert "heading below the volume tier from 5,000" in page.text

    # gain-sharing: the supplier reports, the client confirms, 30 / 70 as agreed
    bad = await bram.post(f"/relationships/{rel}/prices/gains", {"description": "Lighter pallets", "amount": "x",
                                                                   "evidence": ""})
    assert bad.status_code == 422 and "Use a number." in bad.text and "Attach the evidence or say where it is" in bad.text
    assert (await ana.post(f"/relationships/{rel}/prices/gains", {
        "description": "x", "amount": "1", "evidence": "y"})).status_code == 403
    sent = await bram.post(f"/relationships/{rel}/prices/gains", {
        "description": "Lighter pallets", "amount": "1234.57", "evidence": "Logistics study 2026-07"})
    assert sent.status_code == 302
    gain = await owner.fetchval("SELECT id FROM gain_report")
    assert (await bram.post(f"/gain-reports/{gain}/decision", {"decision": "confirmed", "version": "1"})
            ).status_code == 403
    assert (await ana.post(f"/gain-reports/{gain}/decision", {"decision": "confirmed", "version": "1"})
            ).status_code == 302
    row = await owner.fetchrow("SELECT status, supplier_share, client_share FROM gain_report")
    assert (row["status"], str(row["supplier_share"]), str(row["client_share"])) == ("confirmed", "370.37", "864.20")
    shown = (await bram.get(f"/relationships/{rel}/prices")).text
    assert "€370.37" in shown and "€864.20" in shown
    assert "Efficiency gains confirmed: €1,234.57, of which €370.37 for the supplier" in shown  # on year 1
    actions = [r["action"] for r in await owner.fetch(
        "SELECT action FROM audit_entry WHERE action LIKE 'price.%' ORDER BY seq")]
    assert actions == ["price.volume_warning", "price.volume_warning", "price.gain_reported", "price.gain_confirmed"]
