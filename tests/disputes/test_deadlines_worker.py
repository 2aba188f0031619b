"""When a clock runs out, a real arq worker applies the dispute terms exactly once: escalate
level by level to arbitration, or deem accepted; two workers at once, or a crash mid-run, change
nothing of that. Time is driven by a controlled clock passed to the job."""
import asyncio
from datetime import timedelta

from backend.disputes.actions import run_deadlines
from tests.disputes.conftest import sign
from tests.jobs import run_job

ANA, BRAM = "ana@lacteos.example", "bram@envases.example"


async def log(b, rel, description="Late."):
    response = await b.post(f"/relationships/{rel}/deviations", {
        "type": "late_delivery", "occurred_at": "2026-11-03T10:00", "description": description, "value": "1000",
        "days_late": "2"})
    assert response.status_code == 302, response.text
    return response.headers["location"].rsplit("/", 1)[1]


async def run_job_at(servers, database, when, workers=1):
    await run_job(servers, database, "dispute_deadlines", when, workers)


async def test_escalation_climbs_the_ladder_then_arbitration(app, demo, agreement, browser, owner, servers,
                                                            database):
    rel = agreement["relationship"]
    ana, bram = await browser(ANA), await browser(BRAM)
    deviation = await log(ana, rel)
    due = await owner.fetchval("SELECT due_at FROM deviation")
    # a minute before the deadline nothing happens
    await run_job_at(servers, database, due - timedelta(minutes=1))
    assert await owner.fetchval("SELECT status FROM deviation") == "open"
    await run_job_at(servers, database, due + timedelta(minutes=1))
    row = await owner.fetchrow("SELECT status, level, due_at, waiting_for FROM deviation")
    assert (row["status"], row["level"], row["waiting_for"]) == ("escalated", 1, "both")
    # level 1 allows 3 business days from the moment it escalated, ending 23:59:59 Madrid time
    local_due = row["due_at"].astimezone(__import__("zoneinfo").ZoneInfo("Europe/Madrid"))
    assert (local_due.hour, local_due.minute, local_due.second) == (23, 59, 59)
    # the level's contacts were told: Dirección comercial and Ana by e-mail, Ana in the app
    titles = await owner.fetch("SELECT \"user\", title FROM notification WHERE kind = 'deviation_escalate'")
    assert {r["user"] for r in titles} == {demo["users"][ANA]}
    assert "(level 1)" in titles[0]["title"]
    page = await bram.get(f"/deviations/{deviation}")
    assert "level 1" in page.text and "escalated: the time allowed passed" in page.text
    await run_job_at(servers, database, row["due_at"] + timedelta(seconds=1))
    row = await owner.fetchrow("SELECT status, level, due_at FROM deviation")
    assert (row["status"], row["level"]) == ("escalated", 2)
    await run_job_at(servers, database, row["due_at"] + timedelta(seconds=1))
    row = await owner.fetchrow("SELECT status, level, due_at, waiting_for FROM deviation")
    assert (row["status"], row["level"], row["due_at"], row["waiting_for"]) == ("arbitration", 2, None, "admin")
    # running again much later changes nothing
    await run_job_at(servers, database, due + timedelta(days=60))
    events = [r["action"] for r in await owner.fetch("SELECT action FROM deviation_event ORDER BY created_at")]
    assert events == ["log", "escalate", "escalate", "to_arbitration"]
    # an admin records the arbitration outcome; the penalty follows it
    version = await owner.fetchval("SELECT version FROM deviation")
    done = await bram.request("POST", f"/api/v1/deviations/{deviation}/actions", json={
        "action": "record_arbitration", "version": version, "outcome": "settled", "amount": "4.5",
        "note": "Chamber of commerce case 17/2026"})
    assert done.status_code == 200, done.text
    assert done.json()["penalty"] == {"status": "confirmed", "rule": "p-late", "computed": "10.00", "amount": "4.50",
                                      "currency": "EUR", "calculation": done.json()["penalty"]["calculation"]}


async def test_deemed_accepted_when_the_terms_say_so(app, demo, agreement, browser, owner, servers, database):
    amended = agreement["content"] | {"terms": agreement["content"]["terms"] | {"on_no_response": "deemed_accepted"}}
    await sign(owner, agreement["relationship"], amended, number=2, effective="2026-11-01")
    ana = await browser(ANA)
    await log(ana, agreement["relationship"])
    due = await owner.fetchval("SELECT due_at FROM deviation")
    await run_job_at(servers, database, due + timedelta(seconds=1), workers=2)
    row = await owner.fetchrow("SELECT status, penalty_status, penalty_final FROM deviation")
    assert (row["status"], row["penalty_status"], str(row["penalty_final"])) == ("accepted", "confirmed", "10.00")
    assert await owner.fetchval("SELECT count(*) FROM deviation_event WHERE action = 'deemed_accepted'") == 1


async def test_two_workers_at_once_apply_each_deadline_once(app, demo, agreement, browser, owner, servers, database):
    ana = await browser(ANA)
    for i in range(6):
        await log(ana, agreement["relationship"], f"Late {i}.")
    due = await owner.fetchval("SELECT max(due_at) FROM deviation")
    results = await asyncio.gather(*(run_deadlines(due + timedelta(seconds=1)) for _ in range(3)))
    assert sum(results) == 6
    await run_job_at(servers, database, due + timedelta(seconds=2), workers=2)
    assert await owner.fetchval("SELECT count(*) FROM deviation WHERE status = 'escalated' AND level = 1") == 6
    assert await owner.fetchval("SELECT count(*) FROM deviation_event WHERE action = 'escalate'") == 6
    assert await owner.fetchval("SELECT count(*) FROM audit_entry WHERE action = 'deviation.escalate'") == 6


async def test_a_crash_mid_run_leaves_what_the_next_run_completes(app, demo, agreement, browser, owner, servers,
                                                                 database):
    ana = await browser(ANA)
    for i in range(3):
        await log(ana, agreement["relationship"], f"Late {i}.")
    due = await owner.fetchval("SELECT max(due_at) FROM deviation")
    # the machine fails while the worker handles D-2 (a fault injected in the database)
    await owner.execute("""
        CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF (SELECT number FROM deviation WHERE id = NEW.deviation) = 2 THEN
          RAISE EXCEPTION 'worker died'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER crash BEFORE INSERT ON deviation_event FOR EACH ROW EXECUTE FUNCTION crash();""")
    try:
        await run_deadlines(due + timedelta(seconds=1))
        raise AssertionError("the injected fault did not fire")
    except Exception as exc:
        assert "worker died" in str(exc)
    states = dict(await owner.fetch("SELECT number, status FROM deviation"))
    assert states == {1: "escalated", 2: "open", 3: "open"}
    await owner.execute("DROP TRIGGER crash ON deviation_event")
    await run_job_at(servers, database, due + timedelta(seconds=2))
    states = dict(await owner.fetch("SELECT number, status FROM deviation"))
    assert states == {1: "escalated", 2: "escalated", 3: "escalated"}
    assert await owner.fetchval("SELECT count(*) FROM deviation_event WHERE action = 'escalate'") == 3
