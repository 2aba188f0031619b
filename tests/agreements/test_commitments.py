"""The commitments register: obligations with owners and due dates, executions with evidence,
missed due dates flagged once to the owner and the other side's responsable."""
import json
from datetime import date, datetime, timezone

from backend.agreements.commitments import flag_overdue_commitments, occurrences


def test_occurrences_follow_the_recurrence():
    monthly = {"due_date": "2027-01-31", "recurrence": "monthly"}
    assert occurrences(monthly, date(2027, 1, 1), date(2027, 4, 30)) == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    once = {"due_date": "2027-06-01", "recurrence": "once"}
    assert occurrences(once, date(2027, 1, 1), date(2027, 5, 1)) == []
    weekly = {"due_date": "2026-12-28", "recurrence": "weekly"}
    assert occurrences(weekly, date(2027, 1, 1), date(2027, 1, 20)) == [date(2027, 1, 4), date(2027, 1, 11),
                                                                        date(2027, 1, 18)]


async def with_commitments(owner, demo, commitments):
    relationship = demo["relationships"]["Yoghurt cups and lids"]
    await owner.execute(
        "INSERT INTO agreement_version (id, relationship, number, status, effective_date, content, content_hash,"
        " version, created_at, updated_at) VALUES (gen_random_uuid(), $1, 1, 'signed', '2026-01-01', $2, 'h', 1,"
        " now(), now())", relationship, json.dumps({"commitments": commitments}))
    return relationship


async def test_register_lists_what_my_side_owes_and_records_executions(app, demo, owner, browser):
    bram_contact = await owner.fetchval("SELECT id FROM contact WHERE name = 'Bram de Vries'")
    relationship = await with_commitments(owner, demo, [
        {"id": "call1h", "text": "Phone one hour before each delivery", "owing_party": "supplier",
         "owner_contact": str(bram_contact), "recorded_how": "", "recurrence": "weekly", "due_date": "2026-01-05",
         "evidence": "call log"},
        {"id": "forecast", "text": "Send the 13-week forecast", "owing_party": "client", "owner_contact": None,
         "recorded_how": "", "recurrence": "monthly", "due_date": "2026-01-10", "evidence": ""}])
    bram, ana = await browser("bram@envases.example"), await browser("ana@lacteos.example")
    supplier_view = await bram.get("/commitments")
    assert "Phone one hour before each delivery" in supplier_view.text and "13-week forecast" not in supplier_view.text
    assert "Overdue" in supplier_view.text and "Bram de Vries" in supplier_view.text
    assert "Send the 13-week forecast" in (await ana.get("/commitments")).text
    assert "Record an execution" in supplier_view.text
    # a viewer sees the client's obligations but is not offered a form it may not use
    carlos = await browser("carlos@lacteos.example")
    viewer = await carlos.get("/commitments")
    assert "13-week forecast" in viewer.text and "Registrar una ejecución" not in viewer.text
    assert (await carlos.post(f"/relationships/{relationship}/commitments/forecast/executions",
                              {"due_date": "2026-01-10", "executed_on": "2026-01-10"})).status_code == 403
    url = f"/relationships/{relationship}/commitments/call1h/executions"
    no_evidence = await bram.post(url, {"due_date": "2026-01-05", "executed_on": "2026-01-05", "evidence": ""})
    assert no_evidence.status_code == 422 and "This commitment expects evidence: call log" in no_evidence.text
    wrong_day = await bram.post(url, {"due_date": "2026-01-06", "executed_on": "2026-01-05", "evidence": "x"})
    assert wrong_day.status_code == 422 and "Choose one of the commitment&#39;s due dates." in wrong_day.text
    assert (await bram.post(url, {"due_date": "2026-01-05", "executed_on": "2026-01-05",
                                  "evidence": "call log #1"})).status_code == 302
    again = await bram.post(url, {"due_date": "2026-01-05", "executed_on": "2026-01-05", "evidence": "x"})
    assert again.status_code == 422 and "already recorded" in again.text
    # the client cannot record the supplier's obligation
    assert (await ana.post(url, {"due_date": "2026-01-12", "executed_on": "2026-01-12",
                                 "evidence": "x"})).status_code == 403
    row = await owner.fetchrow("SELECT due_date, evidence FROM commitment_execution")
    assert (row["due_date"], row["evidence"]) == (date(2026, 1, 5), "call log #1")
    assert await owner.fetchval("SELECT count(*) FROM audit_entry WHERE action = 'commitment.executed'") == 1


async def test_missed_due_dates_are_flagged_once_to_owner_and_other_side(app, demo, owner):
    eva_contact = await owner.fetchval("SELECT id FROM contact WHERE name = 'Eva Gómez'")
    await with_commitments(owner, demo, [
        {"id": "audit", "text": "Quality audit report", "owing_party": "supplier",
         "owner_contact": str(eva_contact), "recorded_how": "", "recurrence": "once", "due_date": "2026-03-01",
         "evidence": ""}])
    now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    assert await flag_overdue_commitments(now) == 1
    assert await flag_overdue_commitments(now) == 0
    rows = await owner.fetch("SELECT u.email, n.kind, n.link FROM notification n JOIN app_user u ON u.id = n.\"user\""
                             " WHERE n.kind = 'commitment_missed' ORDER BY u.email")
    # the owner (Eva's contact is linked to her user) and the client's responsable
    assert [(r["email"], r["kind"]) for r in rows] == [("ana@lacteos.example", "commitment_missed"),
                                                       ("eva@envases.example", "commitment_missed")]
    # the missed supplier commitment is proposed as a deviation, once, for the client to confirm;
    # the client's notification leads to it
    proposed = await owner.fetch("SELECT id, status, source, type, waiting_for, subject_label FROM deviation")
    assert [(p["status"], p["source"], p["type"], p["waiting_for"], p["subject_label"]) for p in proposed] == [
        ("proposed", "worker", "commitment_missed", "client", "Quality audit report")]
    assert rows[0]["link"] == f"/deviations/{proposed[0]['id']}" and rows[1]["link"] == "/commitments#c-audit"
    before = datetime(2026, 2, 28, 9, 0, tzinfo=timezone.utc)
    await owner.execute("DELETE FROM reminder_sent")
    assert await flag_overdue_commitments(before) == 0  # not missed yet
    await owner.execute("DELETE FROM reminder_sent")
    assert await flag_overdue_commitments(now) == 1
    assert await owner.fetchval("SELECT count(*) FROM deviation") == 1  # proposed once, however often flagged
