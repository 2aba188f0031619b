""""Explain this number" for every family of KPI: the page names the formula, the numerator and the
denominator, and lists the very rows the value was computed from (invoices, forecast pairs, answered
deviations, order lines with the columns the KPI reads), each marked as counted or not."""
import re
from datetime import datetime, timezone

from tests.disputes.conftest import sign
from tests.operations.test_kpis import ANA, KPIS, ingest_all, wait_for

EXTRA = [  # the supplier's other KPIs, to explain them too
    {"id": "k7", "metric": "invoice_accuracy", "measured_party": "supplier", "target": "98", "warning": "95",
     "period": "month", "weight": "0"},
    {"id": "k8", "metric": "deviation_response_hours", "measured_party": "supplier", "target": "24",
     "warning": "48", "period": "month", "weight": "0"}]


def rows(page) -> list[list[str]]:
    """The cells of the explain table, row by row, as text."""
    body = page.text.split('id="lines"')[1].split("</tbody>")[0].split("<tbody>")[1]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


async def explain(who, rel, metric, start="2026-11-01", kind="month"):
    page = await who.get(f"/relationships/{rel}/scorecard/explain?metric={metric}&kind={kind}&start={start}")
    assert page.status_code == 200, page.text
    return page


async def test_every_kind_of_kpi_lists_the_rows_it_counted(app, demo, owner, browser, worker):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS + EXTRA})
    ana = await browser(ANA)
    await ingest_all(ana, rel)
    await wait_for(owner, rel, ["otif", "invoice_accuracy", "payment_on_time", "forecast_accuracy"])

    # invoices due in November up to today, paid by their due date: INV-1 yes, INV-2 (paid two days late) no
    page = await explain(ana, rel, "payment_on_time")
    assert "50.00 %" in page.text and "Numerator 1, denominator 2." in page.text
    assert "paid by their due date" in page.text and "Tolerances in days" not in page.text
    assert [(r[0], r[4], r[6]) for r in rows(page)] == [("INV-1", "Nov 19, 2026", "yes"),
                                                        ("INV-2", "Nov 27, 2026", "no")]
    # invoices issued in November: the disputed one is not counted as accurate
    page = await explain(ana, rel, "invoice_accuracy")
    assert "Numerator 2, denominator 3." in page.text
    assert [(r[0], r[5], r[6]) for r in rows(page)] == [("INV-1", "no", "yes"), ("INV-2", "no", "yes"),
                                                        ("INV-3", "yes", "no")]
    # per item and month: |forecast − ordered|, summed (170) over the units ordered (180)
    page = await explain(ana, rel, "forecast_accuracy")
    assert "5.56 %" in page.text and "Numerator 170, denominator 180." in page.text
    assert rows(page) == [["November 2026", "CUP", "150", "30", "120"], ["November 2026", "LID", "100", "150", "50"]]
    # the lines with what this KPI reads: delivered and rejected units; days from the order
    page = await explain(ana, rel, "rejection_ppm")
    assert "Numerator 5, denominator 132." in page.text
    assert [r[5:7] for r in rows(page)] == [["10", "0"], ["12", "0"], ["10", "0"], ["100", "5"], ["0", "0"]]
    page = await explain(ana, rel, "average_lead_time_days")
    assert "9.6 days" in page.text or "9.60 days" in page.text
    assert [r[7] for r in rows(page)] == ["8.08", "9.08", "11.65", "—", "—"]
    # an on-time KPI keeps its filter and its tolerances
    page = await explain(ana, rel, "otif")
    assert 'id="f-only"' in page.text and "denominator 5. Tolerances in days" in page.text
    # a key that is not one of ours starts from the first row
    assert rows(await ana.get(f"/relationships/{rel}/scorecard/explain?metric=payment_on_time&kind=month"
                              "&start=2026-11-01&after=%00")) == rows(await explain(ana, rel, "payment_on_time"))

    # the supplier's first responses, by the hour: logged 10:00, answered 16:00 the same day (6 h)
    await owner.execute(
        "INSERT INTO deviation (id, relationship, number, type, occurred_at, period, description, status,"
        " waiting_for, source, created_at, updated_at, first_response_at) VALUES (gen_random_uuid(), $1, 77,"
        " 'late_delivery', $2, '2026-11', 'x', 'accepted', '', 'person', $2, $2, $3)",
        rel, datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc), datetime(2026, 11, 3, 15, 0, tzinfo=timezone.utc))
    page = await explain(ana, rel, "deviation_response_hours")
    assert "Hours to respond" in page.text
    assert rows(page) == [["D-77", "11/3/26, 10:00\u202fAM", "11/3/26, 4:00\u202fPM", "6"]]

    # another company's user sees none of it
    olga = await browser("olga@otra.example")
    other = await olga.get(f"/relationships/{rel}/scorecard/explain?metric=payment_on_time&kind=month"
                           "&start=2026-11-01")
    assert other.status_code == 404 and "INV-1" not in other.text
