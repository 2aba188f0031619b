"""The dispute as both sides run it through the pages: log, contest with evidence, settle."""
import re
from decimal import Decimal

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def lock_of(html: str, action: str) -> str:
    form = html[html.index(f'id="form-{action}"'):]
    return re.search(r'name="lock" value="(\d+)"', form).group(1)


async def test_log_contest_with_evidence_settle_and_ledger(app, demo, agreement, browser, owner):
    rel = agreement["relationship"]
    ana, bram = await browser("ana@lacteos.example"), await browser("bram@envases.example")
    created = await ana.post(f"/relationships/{rel}/deviations", {
        "type": "late_delivery", "occurred_at": "2026-11-03T10:00", "severity": "high",
        "subject_kind": "order_line", "subject_ref": "PO-4471/2", "description": "Truck arrived three days late.",
        "value": "12400.00", "days_late": "3"})
    assert created.status_code == 302, created.text
    url = created.headers["location"]
    page = await ana.get(url)
    assert "3 days × 0.5 % × €12,400.00 = €186.00" in page.text
    assert "pending" in page.text
    row = await owner.fetchrow("SELECT * FROM deviation")
    assert (row["status"], row["waiting_for"], row["penalty_status"], row["penalty_amount"]) == (
        "open", "supplier", "pending", Decimal("186.00"))
    # the supplier contests, attaching a PDF
    page = await bram.get(url)
    contested = await bram.post(f"{url}/actions/contest", data={"lock": lock_of(page.text, "contest"),
                                                                "note": "The dock refused the slot."},
                                files={"evidence": ("slot-refusal.pdf", PDF, "application/pdf")})
    assert contested.status_code == 302, contested.text
    assert await owner.fetchval("SELECT status FROM deviation") == "contested"
    assert await owner.fetchval("SELECT filename FROM evidence_file") == "slot-refusal.pdf"
    page = await ana.get(url)
    assert "slot-refusal.pdf" in page.text and "The dock refused the slot." in page.text
    file_id = await owner.fetchval("SELECT id FROM evidence_file")
    download = await ana.get(f"/evidence/{file_id}")
    assert download.status_code == 200 and download.content == PDF
    # the client proposes a settlement, the supplier accepts it
    proposed = await ana.post(f"{url}/actions/propose_settlement",
                              {"lock": lock_of(page.text, "propose_settlement"), "amount": "100", "note": "Half."})
    assert proposed.status_code == 302, proposed.text
    page = await bram.get(url)
    accepted = await bram.post(f"{url}/actions/accept_settlement", {"lock": lock_of(page.text, "accept_settlement")})
    assert accepted.status_code == 302, accepted.text
    row = await owner.fetchrow("SELECT * FROM deviation")
    assert (row["status"], row["penalty_status"], row["penalty_final"], row["penalty_amount"]) == (
        "settled", "confirmed", Decimal("100.00"), Decimal("186.00"))
    ledger = await bram.get(f"/relationships/{rel}/penalties?period=2026-11")
    assert 'id="total-confirmed">€100.00' in ledger.text
    api = (await bram.get(f"/api/v1/relationships/{rel}/penalties?period=2026-11")).json()
    assert api["confirmed"] == "100.00" and api["lines"][0]["amount"] == "100.00"
    actions = await owner.fetch("SELECT action FROM audit_entry WHERE target_type = 'deviation' ORDER BY seq")
    assert [a["action"] for a in actions] == ["deviation.logged", "deviation.contest", "deviation.evidence_added",
                                              "deviation.propose_settlement", "deviation.accept_settlement"]


async def test_amounts_are_read_as_the_reader_writes_them(app, demo, agreement, browser, owner):
    """"12,400.00" in English is twelve thousand four hundred (it was read as 12.40); the language
    switched to Spanish, "12.400,00" is too — the way the page itself writes amounts."""
    rel = agreement["relationship"]
    ana = await browser("ana@lacteos.example")
    form = {"type": "late_delivery", "occurred_at": "2026-11-03T10:00", "severity": "high", "days_late": "3",
            "subject_kind": "order_line", "subject_ref": "PO-4471/2", "description": "Late."}
    assert (await ana.post(f"/relationships/{rel}/deviations", form | {"value": "12,400.00"})).status_code == 302
    assert (await ana.post("/language", {"locale": "es", "next": "/"})).status_code in (302, 303)
    assert (await ana.post(f"/relationships/{rel}/deviations", form | {"value": "12.400,00"})).status_code == 302
    bad = await ana.post(f"/relationships/{rel}/deviations", form | {"value": "12.40.0"})
    assert bad.status_code == 422
    assert [r["value"] for r in await owner.fetch("SELECT value FROM deviation ORDER BY number")] == [
        Decimal("12400.00"), Decimal("12400.00")]
