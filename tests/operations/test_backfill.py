"""Loading history into months that closed: the rows wait until an administrator reopens the range
(with its quarters and years), saying why; one audit entry names each period reopened."""
import json
import re
from decimal import Decimal

from tests.disputes.conftest import sign
from tests.operations.test_kpis import ANA, DELIVERIES, KPIS, ORDERS, values, wait_for

SEPTEMBER = {
    "orders": [{"external_id": "PO-S", "ordered_at": "2026-09-01T08:00:00Z", "lines": [
        {"external_id": "PO-S/1", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-09-10"},
        {"external_id": "PO-S/2", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-09-10"}]}],
    "deliveries": [
        {"external_id": "DN-S1", "line_external_id": "PO-S/1", "delivered_at": "2026-09-09T10:00:00Z",
         "qty_delivered": "10"},
        {"external_id": "DN-S2", "line_external_id": "PO-S/2", "delivered_at": "2026-09-20T10:00:00Z",
         "qty_delivered": "10"}]}


async def measured(owner, rel, kind, start):
    """The period's KPI values, without the row that marks a period closed with no data."""
    return {metric: row for metric, row in (await values(owner, rel, kind, start)).items() if metric}


async def post(who, rel, path, body):
    response = await who.request("POST", f"/api/v1/relationships/{rel}/{path}", json=body)
    assert response.status_code == 200, response.text


async def test_a_backfill_into_closed_months_waits_for_an_audited_reopen(app, demo, owner, browser, worker):
    from workers.kpis import reconcile_kpis

    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS})
    ana = await browser(ANA)
    await post(ana, rel, "orders", ORDERS)
    await post(ana, rel, "deliveries", DELIVERIES)
    await wait_for(owner, rel, ["otif"])
    # the nightly job of 15 December closes November with its data, and the empty months before it
    await reconcile_kpis({}, "2026-12-15T02:15:00+00:00")
    assert await owner.fetchval("SELECT count(*) FROM kpi_value WHERE relationship = $1 AND period_kind = 'month'"
                                " AND period_start = '2026-09-01' AND frozen_at IS NOT NULL", rel) == 1

    # September's rows arrive later: the closed month keeps its snapshot ("no data")
    await post(ana, rel, "orders", {"orders": SEPTEMBER["orders"]})
    await post(ana, rel, "deliveries", {"deliveries": SEPTEMBER["deliveries"]})
    await wait_for(owner, rel, ["otif"])
    assert await measured(owner, rel, "month", "2026-09-01") == {}
    assert await measured(owner, rel, "quarter", "2026-07-01") == {}

    # only an admin of a side reopens; another company does not see the relationship at all
    path = f"/relationships/{rel}/data/reopen"
    form = {"first": "2026-09", "last": "2026-09", "reason": "Loading September from the old ERP."}
    carlos = await browser("carlos@lacteos.example")
    assert "Loading older rows into closed months?" not in (await carlos.get(f"/relationships/{rel}/data")).text
    offered = (await ana.get(f"/relationships/{rel}/data")).text
    assert re.search(r'<input id="r-first" name="first" type="month" value=""\s+required\s+placeholder="YYYY-MM"'
                     r'\s+min="2000-01" max="2100-12">', offered)
    assert (await carlos.post(path, form)).status_code == 403
    outsider = await (await browser("olga@otra.example")).post(path, form)
    assert outsider.status_code == 404 and "Yoghurt" not in outsider.text

    # each mistake is named by its field, and the form keeps what was typed
    for bad, field, message in (
            ({"first": "2026-13"}, "first", "Give a month between 2000 and 2100 as YYYY-MM."),
            ({"last": "09/2026"}, "last", "Give a month between 2000 and 2100 as YYYY-MM."),
            ({"last": "9999-12"}, "last", "Give a month between 2000 and 2100 as YYYY-MM."),
            ({"first": "2026-10", "last": "2026-09"}, "last", "The last month cannot come before the first."),
            ({"first": "2020-01", "last": "2026-09"}, "last", "Reopen at most 60 months at a time."),
            ({"reason": "  "}, "reason", "Say why the months are reopened."),
            ({"first": "2027-01", "last": "2027-02"}, "first", "No period in these months is closed.")):
        page = await ana.post(path, form | bad)
        assert page.status_code == 422, bad
        assert f'<li data-field="{field}">{message}</li>' in page.text and 'id="r-' + field + '"' in page.text
        assert re.search(rf'id="r-{field}"[^>]*aria-invalid="true"', page.text), field
        assert f'value="{(form | bad)["first"]}"' in page.text
        # the summary sits in the reopen section, before its form, not above the upload form
        section = page.text.split('<details id="reopen-months" open>')[1].split("</details>")[0]
        assert section.index('class="form-errors"') < section.index("<form")
        assert 'class="form-errors"' not in page.text.split('<details id="reopen-months"')[0]
    both = await ana.post(path, {"first": "2026-13", "last": "2026-09", "reason": ""})  # every mistake at once
    assert '<li data-field="first">' in both.text and '<li data-field="reason">' in both.text
    both = await ana.post(path, {"first": "2026-05", "last": "2026-03", "reason": ""})
    assert '<li data-field="last">The last month cannot come before the first.</li>' in both.text
    assert '<li data-field="reason">' in both.text
    assert re.search(r'id="r-last"[^>]*autofocus', both.text)  # the first field in error takes the focus
    assert await measured(owner, rel, "month", "2026-09-01") == {}  # nothing reopened by a refused form

    done = await ana.post(path, form)
    assert done.status_code == 302 and done.headers["location"].endswith("/data?reopened=2")  # month and Q3
    await wait_for(owner, rel, ["otif"])
    september = await values(owner, rel, "month", "2026-09-01")
    assert september["otif"]["value"] == Decimal(50) and september["otif"]["denominator"] == 2
    assert (await values(owner, rel, "quarter", "2026-07-01"))["otif"]["value"] == Decimal(50)
    assert (await values(owner, rel))["otif"]["numerator"] is not None  # November, still closed, untouched
    assert await owner.fetchval("SELECT count(*) FROM kpi_value WHERE relationship = $1 AND period_start = "
                                "'2026-11-01' AND period_kind = 'month' AND frozen_at IS NULL", rel) == 0
    entry = await owner.fetchrow("SELECT actor_email, target_label, details FROM audit_entry"
                                 " WHERE action = 'scorecard.reopened'")
    details = json.loads(entry["details"])
    assert entry["actor_email"] == ANA and entry["target_label"] == "months 2026-09 to 2026-09"
    assert details["reason"] == "Loading September from the old ERP."
    assert details["periods"] == {"month 2026-09-01": {}, "quarter 2026-07-01": {}}  # closed with no data
    shown = await ana.get(done.headers["location"])
    assert "Closed periods reopened: 2." in shown.text
    forged = await carlos.get(f"/relationships/{rel}/data?reopened=all.+Your+data+was+deleted")
    assert "Closed periods reopened" not in forged.text and "Your data was deleted" not in forged.text

    # a second reopen of the same months finds nothing closed until the nightly job closes them again
    again = await ana.post(path, form)
    assert again.status_code == 422 and "No period in these months is closed." in again.text


async def test_a_reopened_month_closes_again_however_old(app, demo, owner, browser, worker):
    """August 2026 closes with no data; a year later (outside the months the nightly job reconciles)
    an admin reopens it and no row comes: the next night closes it again, and rows sent after that
    wait for another audited reopen."""
    from workers.kpis import reconcile_kpis

    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS})
    ana = await browser(ANA)
    await post(ana, rel, "orders", ORDERS)
    await wait_for(owner, rel, ["otif"])
    await reconcile_kpis({}, "2026-09-15T02:15:00+00:00")
    closed = ("SELECT count(*) FROM kpi_value WHERE relationship = $1 AND period_kind = 'month'"
              " AND period_start = '2026-08-01' AND frozen_at IS NOT NULL")
    assert await owner.fetchval(closed, rel) == 1
    reopened = await ana.post(f"/relationships/{rel}/data/reopen", {"first": "2026-08", "last": "2026-08",
                                                                     "reason": "A year-old backfill."})
    assert reopened.status_code == 302
    await wait_for(owner, rel, ["otif"])
    assert await owner.fetchval(closed, rel) == 0
    await reconcile_kpis({}, "2027-09-15T02:15:00+00:00")  # August 2026 is 13 months back: not reconciled
    assert await owner.fetchval(closed, rel) == 1
    await post(ana, rel, "orders", {"orders": [{"external_id": "PO-A", "ordered_at": "2026-08-01T08:00:00Z", "lines": [
        {"external_id": "PO-A/1", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-08-10"}]}]})
    await wait_for(owner, rel, ["otif"])
    assert await measured(owner, rel, "month", "2026-08-01") == {}
