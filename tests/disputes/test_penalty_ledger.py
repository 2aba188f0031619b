"""Penalties from the version in force when each deviation occurred, computed by hand to the
cent: each formula, grace, minimum, per-line cap, an amendment mid-month, the period cap; the
ledger's totals match its rows, in the page, the API, CSV and XLSX."""
import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from tests.disputes.conftest import sign

ANA, BRAM = "ana@lacteos.example", "bram@envases.example"


async def log(ana, rel, **data):
    response = await ana.request("POST", f"/api/v1/relationships/{rel}/deviations",
                                 json={"description": "x"} | data)
    assert response.status_code == 201, response.text
    return response.json()


async def act(b, deviation, action, **extra):
    version = (await b.get(f"/api/v1/deviations/{deviation['id']}")).json()["version"]
    response = await b.request("POST", f"/api/v1/deviations/{deviation['id']}/actions",
                               json={"action": action, "version": version} | extra)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_month_of_penalties_computed_by_hand(app, demo, agreement, browser, owner):
    rel = agreement["relationship"]
    content = agreement["content"]
    # version 2 from 15 October doubles the late-delivery rate
    v2_rules = [r | {"rate_pct": "1"} if r["id"] == "p-late" else r for r in content["penalty_rules"]]
    await sign(owner, rel, content | {"penalty_rules": v2_rules}, number=2, effective="2026-10-15")
    ana, bram = await browser(ANA), await browser(BRAM)
    late = {"type": "late_delivery", "subject_kind": "order_line"}
    h = await log(ana, rel, type="quality_rejection", occurred_at="2026-10-03T09:00")
    a = await log(ana, rel, **late, subject_ref="PO-1/1", occurred_at="2026-10-05T09:00", value="12400", days_late=3)
    d = await log(ana, rel, type="quality_rejection", occurred_at="2026-10-06T09:00")
    e = await log(ana, rel, type="quality_rejection", occurred_at="2026-10-07T09:00")
    f = await log(ana, rel, type="documentation", occurred_at="2026-10-08T09:00", value="1000", days_late=2)
    i = await log(ana, rel, **late, subject_ref="PO-2/1", occurred_at="2026-10-09T09:00", value="2000", days_late=2)
    b = await log(ana, rel, **late, subject_ref="PO-3/1", occurred_at="2026-10-20T09:00", value="12400", days_late=3)
    c = await log(ana, rel, **late, subject_ref="PO-4/1", occurred_at="2026-10-21T09:00", value="1000", days_late=30)
    g = await log(ana, rel, type="kpi_shortfall", subject_kind="kpi", subject_ref="k-otif",
                  occurred_at="2026-10-31T23:30", value="48000", shortfall_points="2.5")
    november = await log(ana, rel, type="quality_rejection", occurred_at="2026-11-01T00:30")
    assert (g["period"], november["period"]) == ("2026-10", "2026-11")  # local months, not UTC ones
    assert d["penalty"]["computed"] == "250.00"  # H, logged earlier, takes the free place
    await act(ana, h, "withdraw")
    for item in (a, d, e, f, b, c):
        await act(bram, item, "accept")
    await act(ana, i, "withdraw")
    got = {name: (await ana.get(f"/api/v1/deviations/{x['id']}")).json()["penalty"]
           for name, x in dict(a=a, b=b, c=c, d=d, e=e, f=f, g=g, h=h, i=i).items()}
    expected = {
        "a": ("confirmed", "186.00", "3 days × 0.5 % × €12,400.00 = €186.00"),  # version 1
        "b": ("confirmed", "372.00", "3 days × 1 % × €12,400.00 = €372.00"),  # version 2
        "c": ("confirmed", "100.00", "30 days × 1 % × €1,000.00 = €300.00; capped at 10 % of the line value: €100.00"),
        "d": ("confirmed", "0.00", "€250.00 per incident; incident 1 of 1 free in the period: 0"),
        "e": ("confirmed", "250.00", "€250.00 per incident"),
        "f": ("confirmed", "25.00", "2 days × 0.1 % × €1,000.00 = €2.00; raised to the minimum of €25.00"),
        "g": ("pending", "1200.00", "2.5 points × 1 % × €48,000.00 = €1,200.00"),
        "h": ("cancelled", "0.00", "€250.00 per incident; incident 1 of 1 free in the period: 0"),
        "i": ("cancelled", "0.00", "2 days × 0.5 % × €2,000.00 = €20.00"),
    }
    for name, (status, amount, sentence) in expected.items():
        assert (got[name]["status"], got[name]["amount"], got[name]["calculation"]) == (status, amount, sentence), name

    # the period cap: 10 % of the month's invoiced value 8,000.00 = 800.00, charged in order of occurrence
    assert (await ana.post(f"/relationships/{rel}/penalties/value",
                           {"period": "2026-10", "invoiced_value": "8000", "lock": "0"})).status_code == 302
    ledger = (await bram.get(f"/api/v1/relationships/{rel}/penalties?period=2026-10")).json()
    assert (ledger["cap"], ledger["confirmed"], ledger["charged"], ledger["capped_off"], ledger["pending"],
            ledger["cancelled"]) == ("800.00", "933.00", "800.00", "133.00", "1200.00", "20.00")
    charged = {line["number"]: (line["charged"], line["capped_off"]) for line in ledger["lines"]}
    assert charged[b["number"]] == ("339.00", "33.00") and charged[c["number"]] == ("0.00", "100.00")
    assert charged[a["number"]] == ("186.00", "0.00")
    # totals match the rows
    lines = ledger["lines"]
    assert sum(Decimal(x["charged"]) for x in lines) == Decimal(ledger["charged"])
    assert sum(Decimal(x["amount"]) for x in lines if x["penalty_status"] == "confirmed") == Decimal(ledger["confirmed"])

    page = await ana.get(f"/relationships/{rel}/penalties?period=2026-10")
    assert 'id="total-charged">€800.00' in page.text and 'id="total-capped">€133.00' in page.text
    exported = await ana.get(f"/relationships/{rel}/penalties/export?period=2026-10&format=csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="penalties-2026-10.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    items = [r for r in rows if r["deviation"] != "TOTAL"]
    assert len(items) == 9
    total = next(r for r in rows if r["deviation"] == "TOTAL" and r["penalty_status"] == "confirmed")
    assert sum(Decimal(r["charged"]) for r in items) == Decimal(total["charged"]) == Decimal("800.00")
    assert sum(Decimal(r["capped_off"]) for r in items) == Decimal(total["capped_off"]) == Decimal("133.00")
    xlsx = await bram.get(f"/relationships/{rel}/penalties/export?period=2026-10&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [cell.value for cell in sheet[1]]
    values = [dict(zip(header, [cell.value for cell in row])) for row in sheet.iter_rows(min_row=2)]
    assert sum(Decimal(str(r["charged"])) for r in values if r["deviation"] != "TOTAL") == Decimal("800.00")
    assert {r["deviation"] for r in values} >= {f"D-{a['number']}", "TOTAL"}


async def test_a_rule_that_needs_figures_names_the_missing_ones(app, demo, agreement, browser, owner):
    ana = await browser(ANA)
    response = await ana.request("POST", f"/api/v1/relationships/{agreement['relationship']}/deviations",
                                 json={"type": "late_delivery", "occurred_at": "2026-10-05T09:00", "description": "x"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"value", "days_late"}
    page = await ana.post(f"/relationships/{agreement['relationship']}/deviations", {
        "type": "late_delivery", "occurred_at": "2030-01-01T09:00", "description": "", "value": "abc"})
    assert page.status_code == 422
    for message in ("The deviation cannot have occurred in the future.", "This field is required.",
                    "Enter a number, like 12.5."):
        assert message in page.text
    assert await owner.fetchval("SELECT count(*) FROM deviation") == 0
