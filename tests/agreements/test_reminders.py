"""Review cadence: reminders go out once per due date, whoever runs the job and how often."""
import asyncio
import json
from datetime import date, datetime, timedelta, timezone

from backend.agreements.reminders import due_dates, send_review_reminders
from tests.mailsink import sink


def test_due_dates_follow_the_quarterly_and_yearly_cadence():
    terms = {"first_quarterly_review": "2027-01-31", "yearly_update": "2027-12-01"}
    assert due_dates(terms, date(2027, 1, 25)) == [("quarterly_review", date(2027, 1, 31))]
    assert due_dates(terms, date(2027, 2, 1)) == []  # next quarter is 30 April
    assert due_dates(terms, date(2027, 4, 24)) == [("quarterly_review", date(2027, 4, 30))]
    assert due_dates(terms, date(2027, 11, 28)) == [("yearly_update", date(2027, 12, 1))]
    assert due_dates({}, date(2027, 1, 1)) == []


async def signed_with_terms(owner, demo, **terms):
    relationship = demo["relationships"]["Yoghurt cups and lids"]
    content = {"terms": {"period_cap_pct": "10", "supplier_response_days": 5, "client_review_days": 5,
                         "on_no_response": "deemed_accepted"} | terms}
    await owner.execute(
        "INSERT INTO agreement_version (id, relationship, number, status, effective_date, content, content_hash,"
        " version, created_at, updated_at) VALUES (gen_random_uuid(), $1, 1, 'signed', '2026-01-01', $2, 'h', 1,"
        " now(), now())", relationship, json.dumps(content))
    return relationship


async def test_reminders_go_out_once_per_due_date(app, demo, owner, worker):
    now = datetime(2027, 3, 28, 8, 0, tzinfo=timezone.utc)
    await signed_with_terms(owner, demo, first_quarterly_review="2027-04-01", yearly_update="2027-04-02")
    with sink() as box:
        assert await send_review_reminders(now) == 2  # the quarterly review and the yearly update
        assert await send_review_reminders(now) == 0
        assert await send_review_reminders(now + timedelta(days=2)) == 0
        await box.wait_for("recepcion@lacteos.example")
        await asyncio.sleep(0.5)  # let any duplicate arrive if there were one
        messages = box.messages()
    rows = await owner.fetch("SELECT u.email, n.kind, n.title FROM notification n JOIN app_user u ON u.id = n.\"user\""
                             " ORDER BY u.email, n.kind")
    # responsable and manager of both sides, once per due date, each in their own language
    assert [(r["email"], r["kind"]) for r in rows] == [
        ("ana@lacteos.example", "quarterly_review"), ("ana@lacteos.example", "yearly_update"),
        ("bram@envases.example", "quarterly_review"), ("bram@envases.example", "yearly_update")]
    assert "Quarterly review of “Yoghurt cups and lids” due on Apr 1, 2027" in rows[0]["title"]
    recipients = sorted(m.to for m in messages)
    # every designated contact with an e-mail, plus the members: each gets each reminder once
    assert recipients.count("recepcion@lacteos.example") == 2
    assert recipients.count("bram@envases.example") == 2
    assert len(recipients) == len(set((m.to, m.subject) for m in messages))


async def test_two_workers_at_once_still_send_once(app, demo, owner):
    now = datetime(2027, 3, 30, 6, 0, tzinfo=timezone.utc)
    await signed_with_terms(owner, demo, first_quarterly_review="2027-04-01")
    results = await asyncio.gather(*(send_review_reminders(now) for _ in range(4)))
    assert sorted(results) == [0, 0, 0, 1]
    assert await owner.fetchval("SELECT count(*) FROM reminder_sent") == 1
    assert await owner.fetchval("SELECT count(*) FROM notification") == 2


async def test_the_scheduled_job_runs_in_real_arq_workers(app, demo, owner, servers, database):
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker

    from workers.main import worker_settings

    await signed_with_terms(owner, demo, first_quarterly_review=(date.today() + timedelta(days=3)).isoformat())
    pool = await create_pool(RedisSettings.from_dsn(servers.redis_url))
    workers = []
    for _ in range(2):
        settings = worker_settings(database.app_url, servers.redis_url) | {"burst": True, "handle_signals": False,
                                                                            "cron_jobs": []}
        workers.append(Worker(**settings))
    for i in range(4):
        await pool.enqueue_job("review_reminders", _job_id=f"test-reminders-{i}")
    await asyncio.gather(*(w.async_run() for w in workers))
    for w in workers:
        await w.close()
    await pool.aclose()
    assert sum(w.jobs_complete for w in workers) >= 4  # the four reminder jobs, and the e-mails they queued
    assert sum(w.jobs_failed for w in workers) == 0
    assert await owner.fetchval("SELECT count(*) FROM reminder_sent") == 1
    assert await owner.fetchval("SELECT count(*) FROM notification") == 2


async def test_the_inbox_shows_reminders_to_their_recipient_only(app, demo, owner, browser):
    await signed_with_terms(owner, demo, first_quarterly_review="2027-04-01")
    await send_review_reminders(datetime(2027, 3, 30, 6, 0, tzinfo=timezone.utc))
    bram = await browser("bram@envases.example")
    page = await bram.get("/notifications")
    assert "Quarterly review of “Yoghurt cups and lids”" in page.text
    assert 'class="badge badge-warn">1<' in (await bram.get("/")).text
    await bram.post("/notifications/read")
    assert await owner.fetchval("SELECT count(*) FROM notification WHERE read_at IS NULL") == 1  # Ana's
    olga = await browser("olga@otra.example")
    assert "Yoghurt" not in (await olga.get("/notifications")).text
