"""Who may move a dispute, and what each move does: every wrong-side attempt is refused and
changes nothing; two people acting at once: one wins, the other is told; information requests
pause the clock; notifications reach exactly the people concerned."""
import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from backend.disputes import workflow
from backend.disputes.workflow import State, Who

ANA, CARLOS = "ana@lacteos.example", "carlos@lacteos.example"  # client: admin + responsable; viewer
BRAM, EVA = "bram@envases.example", "eva@envases.example"  # supplier: admin + manager; contributor

# (state as stored, action) → who may take it; everyone else of the relationship must be refused
CASES = [
    (dict(status="proposed"), "confirm", {ANA}),
    (dict(status="proposed"), "dismiss", {ANA}),
    (dict(status="open"), "accept", {BRAM, EVA}),
    (dict(status="open"), "contest", {BRAM, EVA}),
    (dict(status="open"), "withdraw", {ANA}),
    (dict(status="open"), "request_info", {BRAM, EVA}),
    (dict(status="contested"), "uphold", {ANA}),
    (dict(status="contested"), "propose_settlement", {ANA}),
    (dict(status="contested"), "withdraw", {ANA}),
    (dict(status="contested"), "request_info", {ANA}),
    (dict(status="settlement_proposed", proposal={"kind": "settlement", "by": "client", "amount": "10"}),
     "accept_settlement", {BRAM, EVA}),
    (dict(status="settlement_proposed", proposal={"kind": "settlement", "by": "client", "amount": "10"}),
     "reject_settlement", {BRAM, EVA}),
    (dict(status="escalated", level=1), "propose_outcome", {ANA, BRAM, EVA}),
    (dict(status="escalated", level=1, proposal={"kind": "outcome", "by": "supplier", "outcome": "waived"}),
     "confirm_outcome", {ANA}),
    (dict(status="escalated", level=1, proposal={"kind": "outcome", "by": "client", "outcome": "waived"}),
     "reject_outcome", {BRAM, EVA}),
    (dict(status="open", paused=True, info_requested_by="supplier"), "answer_info", {ANA}),
    (dict(status="arbitration", level=2), "record_arbitration", {ANA, BRAM}),
]
EVERYONE = [ANA, CARLOS, BRAM, EVA]
BODY = {"note": "Because.", "amount": "50", "outcome": "settled"}


def who(email):
    return {ANA: Who("client", "responsable", True), CARLOS: Who("client", "viewer", False),
            BRAM: Who("supplier", "manager", True), EVA: Who("supplier", "contributor", False)}[email]


def test_the_rules_name_exactly_who_moves_each_state():
    for stored, action, allowed in CASES:
        state = State(stored["status"], stored.get("level", 0), (stored.get("proposal") or {}).get("by"),
                      stored.get("paused", False), stored.get("info_requested_by", ""))
        for email in EVERYONE:
            assert workflow.allowed(action, state, who(email)) == (email in allowed), (action, stored, email)
    # a paused dispute moves only by the answer
    paused = State("open", paused=True, info_requested_by="supplier")
    assert workflow.available(paused, who(BRAM)) == [] and workflow.available(paused, who(ANA)) == ["answer_info"]
    # a member who is neither admin nor above viewer never moves anything
    for status in workflow.STATUSES:
        assert workflow.available(State(status, 1, "client"), who(CARLOS)) == []


async def put_state(owner, deviation, stored):
    await owner.execute(
        "UPDATE deviation SET status = $2, level = $3, proposal = $4::jsonb, paused_at = $5, info_requested_by = $6,"
        " version = version + 1 WHERE id = $1", deviation, stored["status"], stored.get("level", 0),
        json.dumps(stored["proposal"]) if stored.get("proposal") else None,
        datetime.now(timezone.utc) if stored.get("paused") else None, stored.get("info_requested_by", ""))
    return await owner.fetchval("SELECT version FROM deviation WHERE id = $1", deviation)


async def log(b, rel, **extra):
    data = {"type": "late_delivery", "occurred_at": "2026-11-03T10:00", "description": "Late.", "value": "1000",
            "days_late": "2"} | extra
    response = await b.post(f"/relationships/{rel}/deviations", data)
    assert response.status_code == 302, response.text
    return response.headers["location"].rsplit("/", 1)[1]


async def test_every_wrong_side_or_role_is_refused_and_changes_nothing(app, demo, agreement, browser, owner):
    rel = agreement["relationship"]
    people = {email: await browser(email) for email in EVERYONE}
    deviation = await log(people[ANA], rel)
    for stored, action, allowed in CASES:
        for email in EVERYONE:
            if email in allowed:
                continue
            lock = await put_state(owner, deviation, stored)
            before = await owner.fetchrow("SELECT * FROM deviation WHERE id = $1", deviation)
            page = await people[email].post(f"/deviations/{deviation}/actions/{action}", BODY | {"lock": str(lock)})
            api = await people[email].request("POST", f"/api/v1/deviations/{deviation}/actions",
                                              json={"action": action, "version": lock} | BODY)
            assert (page.status_code, api.status_code) == (403, 403), (action, stored, email)
            assert await owner.fetchrow("SELECT * FROM deviation WHERE id = $1", deviation) == before
    assert await owner.fetchval("SELECT count(*) FROM deviation_event WHERE action <> 'log'") == 0
    # the viewer cannot log one either, nor the supplier
    for email in (CARLOS, BRAM, EVA):
        response = await people[email].post(f"/relationships/{rel}/deviations", {
            "type": "other", "occurred_at": "2026-11-03T10:00", "description": "x"})
        assert response.status_code == 403
    assert await owner.fetchval("SELECT count(*) FROM deviation") == 1


async def test_each_allowed_move_lands_where_the_design_says(app, demo, agreement, browser, owner):
    rel = agreement["relationship"]
    people = {email: await browser(email) for email in EVERYONE}
    deviation = await log(people[ANA], rel)
    expected = {"confirm": "open", "dismiss": "dismissed", "accept": "accepted", "contest": "contested",
                "withdraw": "withdrawn", "uphold": "escalated", "propose_settlement": "settlement_proposed",
                "accept_settlement": "settled", "reject_settlement": "escalated", "propose_outcome": "escalated",
                "confirm_outcome": "waived", "reject_outcome": "escalated", "request_info": None,
                "answer_info": "open", "record_arbitration": "arbitrated"}
    for stored, action, allowed in CASES:
        email = sorted(allowed)[0]
        lock = await put_state(owner, deviation, stored)
        response = await people[email].request("POST", f"/api/v1/deviations/{deviation}/actions",
                                               json={"action": action, "version": lock} | BODY)
        assert response.status_code == 200, (action, response.text)
        body = response.json()
        assert body["status"] == (expected[action] or stored["status"]), action
        assert body["version"] == lock + 1
    assert await owner.fetchval("SELECT count(*) FROM audit_entry WHERE action LIKE 'deviation.%'") == len(CASES) + 1


async def test_two_people_at_once_one_wins_the_other_is_told(app, demo, agreement, browser, owner):
    rel = agreement["relationship"]
    await owner.execute("UPDATE app_user SET locale = 'en' WHERE email = $1", EVA)  # to read the message
    ana, bram, eva = await browser(ANA), await browser(BRAM), await browser(EVA)
    deviation = await log(ana, rel)
    await bram.get(f"/deviations/{deviation}")
    await eva.get(f"/deviations/{deviation}")
    accept, contest = await asyncio.gather(
        bram.post(f"/deviations/{deviation}/actions/accept", {"lock": "1"}),
        eva.post(f"/deviations/{deviation}/actions/contest", {"lock": "1", "note": "Not late."}))
    codes = sorted([accept.status_code, contest.status_code])
    assert codes == [302, 409], codes
    loser = accept if accept.status_code == 409 else contest
    assert "Someone else acted on this deviation a moment ago" in loser.text
    status = await owner.fetchval("SELECT status FROM deviation")
    assert status in ("accepted", "contested")
    assert f'id="status">{status.capitalize()}' in loser.text  # the current state is shown
    assert await owner.fetchval("SELECT count(*) FROM deviation_event WHERE action IN ('accept', 'contest')") == 1
    # a stale lock through the API is a 409 problem too
    stale = await bram.request("POST", f"/api/v1/deviations/{deviation}/actions",
                               json={"action": "withdraw", "version": 1})
    assert stale.status_code == 409 and stale.headers["content-type"].startswith("application/problem+json")


async def test_information_requests_pause_the_clock(app, demo, agreement, browser, owner):
    rel = agreement["relationship"]
    ana, bram = await browser(ANA), await browser(BRAM)
    deviation = await log(ana, rel)
    due = await owner.fetchval("SELECT due_at FROM deviation")
    asked = await bram.request("POST", f"/api/v1/deviations/{deviation}/actions",
                               json={"action": "request_info", "version": 1, "note": "Which truck?"})
    assert asked.json()["paused"] is True and asked.json()["waiting_for"] == "client"
    assert asked.json()["available_actions"] == []  # the supplier waits for the answer
    # three hours later the client answers: the deadline moves by the time paused
    await owner.execute("UPDATE deviation SET paused_at = paused_at - interval '3 hours'")
    answered = await ana.request("POST", f"/api/v1/deviations/{deviation}/actions",
                                 json={"action": "answer_info", "version": 2, "note": "Truck 4471."})
    assert answered.status_code == 200 and answered.json()["paused"] is False
    new_due, paused = await owner.fetchrow("SELECT due_at, paused_seconds FROM deviation")
    assert abs((new_due - due) - timedelta(hours=3)) < timedelta(seconds=5)
    assert 3 * 3600 - 5 <= paused <= 3 * 3600 + 5
    # a question needs its text
    empty = await bram.request("POST", f"/api/v1/deviations/{deviation}/actions",
                               json={"action": "request_info", "version": 3, "note": " "})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "note"


async def test_notifications_reach_exactly_the_people_concerned(app, demo, agreement, browser, owner, redis):
    rel = agreement["relationship"]
    ana, bram = await browser(ANA), await browser(BRAM)
    users = demo["users"]
    deviation = await log(ana, rel)

    async def inbox():
        rows = await owner.fetch("SELECT \"user\" FROM notification WHERE kind LIKE 'deviation_%' ORDER BY created_at")
        await owner.execute("DELETE FROM notification")
        return sorted(str(r["user"]) for r in rows)

    # logged by the client: the supplier's responsable. Envases has no responsable member in the
    # demo: make Eva one to see her told, and Bram (manager) not.
    assert await inbox() == []
    await owner.execute("UPDATE relationship_member SET role = 'responsable' WHERE \"user\" = $1", users[EVA])
    await bram.request("POST", f"/api/v1/deviations/{deviation}/actions",
                       json={"action": "contest", "version": 1, "note": "No."})
    # contested by the supplier: the client's responsable, who is also the owner (Ana), once
    assert await inbox() == [str(users[ANA])]
    await ana.request("POST", f"/api/v1/deviations/{deviation}/actions", json={"action": "uphold", "version": 2})
    # escalated to level 1 by the client: the supplier's responsable (Eva), and the level's
    # contacts (Ana Martín — the actor, left out — and Dirección comercial, e-mail only)
    assert await inbox() == [str(users[EVA])]
    mails = await redis.keys("arq:job:*")
    assert mails  # e-mails were queued after commit


@pytest.mark.parametrize("visibility", ["private", "shared"])
async def test_private_comments_never_reach_the_other_company(app, demo, agreement, browser, owner, visibility):
    rel = agreement["relationship"]
    ana, bram = await browser(ANA), await browser(BRAM)
    deviation = await log(ana, rel)
    response = await ana.post(f"/deviations/{deviation}/comments",
                              {"body": "Nuestra nota interna 42", "visibility": visibility}, htmx=True)
    assert response.status_code == 200 and "Nuestra nota interna 42" in response.text
    seen_by_supplier = await bram.get(f"/deviations/{deviation}")
    assert ("Nuestra nota interna 42" in seen_by_supplier.text) == (visibility == "shared")
    assert ("Nuestra nota interna 42" in (await ana.get(f"/deviations/{deviation}")).text)
    audit = await owner.fetchval("SELECT details::text FROM audit_entry WHERE action = 'deviation.commented'")
    assert ("Nuestra nota interna 42" in audit) == (visibility == "shared")


async def test_a_worker_proposal_waits_for_the_client_to_confirm(app, demo, agreement, browser, owner):
    from backend.agreements.commitments import flag_overdue_commitments

    now = datetime(2026, 1, 7, 9, 0, tzinfo=timezone.utc)  # the weekly call of Monday 5 January was missed
    assert await flag_overdue_commitments(now) == 1
    deviation = await owner.fetchrow("SELECT id, status, due_at, penalty_status FROM deviation")
    assert (deviation["status"], deviation["due_at"], deviation["penalty_status"]) == ("proposed", None, "none")
    ana, bram = await browser(ANA), await browser(BRAM)
    page = await ana.get(f"/deviations/{deviation['id']}")
    assert "Proposed, to confirm" in page.text and "Phone the dock one hour before each delivery" in page.text
    assert "Confirm" in page.text and "Dismiss" in page.text
    assert "Nothing is waiting for you here." in (await bram.get(f"/deviations/{deviation['id']}")).text
    confirmed = await ana.request("POST", f"/api/v1/deviations/{deviation['id']}/actions",
                                  json={"action": "confirm", "version": 1})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "open"
    assert confirmed.json()["waiting_for"] == "supplier" and confirmed.json()["due_at"]
    assert await owner.fetchval("SELECT logged_by FROM deviation") == demo["users"][ANA]
