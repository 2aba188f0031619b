"""Quarterly business reviews: scheduled by the agreement's cadence, a pack generated from the
quarter's data and kept as a snapshot, minutes with a version check, action items whose owners a
real worker reminds once a day, and a printable pack."""
from datetime import datetime, timezone

from tests.disputes.conftest import sign
from tests.jobs import run_job

ANA, BRAM = "ana@lacteos.example", "bram@envases.example"
CONTENT = {
    "kpis": [{"id": "k-otif", "metric": "otif", "measured_party": "supplier", "target": "96", "warning": "93",
              "period": "quarter", "weight": "100"}],
    "terms": {"first_quarterly_review": "2026-04-01"},
    "commitments": [{"id": "c-call", "text": "Phone the dock one hour before each delivery", "owing_party": "supplier",
                     "recurrence": "weekly", "due_date": "2026-01-05"}],
}


async def run_reminders(servers, database, when) -> None:
    await run_job(servers, database, "review_action_reminders", when)


async def test_a_review_from_pack_to_reminded_action_items(app, demo, owner, browser, servers, database):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, CONTENT, effective="2026-01-01")
    await owner.execute(
        "INSERT INTO kpi_value (id, relationship, metric, period_kind, period_start, numerator, denominator, value,"
        " lines, computed_at) VALUES (gen_random_uuid(), $1, 'otif', 'quarter', '2026-07-01', 95, 100, 95, 100, now())",
        rel)
    await owner.execute(
        "INSERT INTO deviation (id, relationship, number, type, occurred_at, period, description, status, waiting_for,"
        " penalty_status, penalty_final, created_at, updated_at) VALUES (gen_random_uuid(), $1, 1, 'late_delivery',"
        " '2026-08-10', '2026-08', 'Late', 'accepted', '', 'confirmed', 186.00, now(), now())", rel)
    version = await owner.fetchval("SELECT id FROM agreement_version WHERE relationship = $1", rel)
    for due, done in (("2026-07-06", "2026-07-06"), ("2026-08-10", "2026-08-11"), ("2026-10-05", "2026-10-05")):
        await owner.execute(
            "INSERT INTO commitment_execution (id, relationship, agreement_version, commitment, due_date, org,"
            " executed_on, created_at) VALUES (gen_random_uuid(), $1, $2, 'c-call', $3::text::date, $4,"
            " $5::text::date, now())", rel, version, due, demo["orgs"]["Envases Norte"], done)
    ana, bram = await browser(ANA), await browser(BRAM)

    listing = await ana.get(f"/relationships/{rel}/reviews")
    assert listing.status_code == 200
    # today is 28 November 2026: the cadence's last two dates and the next two
    assert all(d in listing.text for d in ("Jul 1, 2026", "Oct 1, 2026", "Jan 1, 2027", "Apr 1, 2027"))
    refused = await ana.post(f"/relationships/{rel}/reviews", {"scheduled_for": "2026-10-15"})
    assert refused.status_code == 422 and "not on the agreement's review cadence" in refused.text
    made = await ana.post(f"/relationships/{rel}/reviews", {"scheduled_for": "2026-10-01"})
    assert made.status_code == 302
    review = made.headers["location"].rsplit("/", 1)[1]
    again = await bram.post(f"/relationships/{rel}/reviews", {"scheduled_for": "2026-10-01"})
    assert again.headers["location"].endswith(review)
    assert await owner.fetchval("SELECT count(*) FROM review") == 1
    # the pack covers the quarter before the review (Q3), from the data
    assert await owner.fetchval("SELECT quarter_start::text FROM review") == "2026-07-01"
    page = await bram.get(f"/reviews/{review}")
    assert page.status_code == 200
    assert "95.00" in page.text and "missed" in page.text and "€186.00" in page.text
    # two of the three executions fell in Q3
    assert "2 executions recorded in the quarter, last on Aug 11, 2026" in page.text
    # data changing later leaves the pack as it was generated
    await owner.execute("UPDATE kpi_value SET numerator = 97, value = 97")
    assert "95.00" in (await ana.get(f"/reviews/{review}")).text

    # minutes: attendees required; a stale version is refused
    empty = await ana.post(f"/reviews/{review}/record", {"attendees": " ", "decisions": "", "version": "1"})
    assert empty.status_code == 422 and "Name who attended" in empty.text
    saved = await ana.post(f"/reviews/{review}/record", {
        "attendees": "Ana Martín, Lácteos del Valle\nBram de Vries, Envases Norte",
        "decisions": "Second dock slot on Tuesdays.", "version": "1"})
    assert saved.status_code == 302
    assert (await bram.post(f"/reviews/{review}/record", {"attendees": "x", "version": "1"})).status_code == 409
    assert await owner.fetchval("SELECT (status, version) FROM review") == ("held", 2)

    # an action item for Bram, due on 1 December
    olga = demo["users"]["olga@otra.example"]
    bad = await ana.post(f"/reviews/{review}/actions", {"text": "Trial the slot", "owner": str(olga),
                                                         "due_date": "2026-12-01"})
    assert bad.status_code == 422 and "Choose a member of the relationship." in bad.text
    added = await ana.post(f"/reviews/{review}/actions", {"text": "Trial the Tuesday slot",
                                                           "owner": str(demo["users"][BRAM]), "due_date": "2026-12-01"})
    assert added.status_code == 302
    # reminded from two days before, once a day, by a real worker
    await run_reminders(servers, database, datetime(2026, 11, 28, 8, tzinfo=timezone.utc))
    assert await owner.fetchval("SELECT count(*) FROM notification WHERE kind = 'review_action'") == 0
    await run_reminders(servers, database, datetime(2026, 11, 29, 8, tzinfo=timezone.utc))
    await run_reminders(servers, database, datetime(2026, 11, 29, 15, tzinfo=timezone.utc))
    await run_reminders(servers, database, datetime(2026, 12, 2, 8, tzinfo=timezone.utc))
    told = await owner.fetch("SELECT \"user\", title FROM notification WHERE kind = 'review_action' ORDER BY created_at")
    assert [r["user"] for r in told] == [demo["users"][BRAM]] * 2
    assert "due Dec 1, 2026: Trial the Tuesday slot" in told[0]["title"]
    assert "overdue since Dec 1, 2026" in told[1]["title"]

    printable = await bram.get(f"/reviews/{review}/print")
    assert printable.status_code == 200
    assert "Trial the Tuesday slot" in printable.text and "Second dock slot" in printable.text
    assert 'class="tabs"' not in printable.text and "95.00" in printable.text

    action = await owner.fetchval("SELECT id FROM review_action")
    assert (await bram.post(f"/review-actions/{action}/done", {"version": "1"})).status_code == 302
    assert (await ana.post(f"/review-actions/{action}/done", {"version": "1"})).status_code == 409
    await run_reminders(servers, database, datetime(2026, 12, 3, 8, tzinfo=timezone.utc))
    assert await owner.fetchval("SELECT count(*) FROM notification WHERE kind = 'review_action'") == 2
    audited = [r["action"] for r in await owner.fetch(
        "SELECT action FROM audit_entry WHERE action LIKE 'review.%' ORDER BY seq")]
    assert audited == ["review.prepared", "review.recorded", "review.action_added", "review.action_done"]
