"""Agreement versions: drafting by section, proposing, requesting changes, signing by both sides,
immutability once signed, the version in force by date, hash recomputation, comparison, exports."""
import hashlib
import json
import re

import asyncpg
import pytest

from backend.agreements.sections import canonical

KPI = {"metric": "otif", "measured_party": "supplier", "target": "96", "warning": "93", "period": "month",
       "weight": "40", "early_tolerance_days": "1", "late_tolerance_days": "0", "quantity_tolerance_pct": "2"}
TERMS = {"period_cap_pct": "10", "supplier_response_days": "5", "client_review_days": "5",
         "on_no_response": "deemed_accepted", "holidays": "2027-01-06\n2027-05-01", "first_quarterly_review": "2027-04-01",
         "yearly_update": "2027-12-01"}


def rel(demo):
    return demo["relationships"]["Yoghurt cups and lids"]


def lock_of(html: str) -> str:
    return re.search(r'id="lock" name="lock" value="(\d+)"', html).group(1)


async def start(b, demo):
    response = await b.post(f"/relationships/{rel(demo)}/agreement/drafts", {})
    assert response.status_code == 302, response.text[:500]
    return response.headers["location"]


async def add(b, url, section, data):
    page = await b.get(url)
    response = await b.post(f"{url}/sections/{section}", data | {"lock": lock_of(page.text)}, htmx=True)
    return response


async def test_draft_propose_request_changes_sign(demo, browser, owner):
    bram, ana = await browser("bram@envases.example"), await browser("ana@lacteos.example")
    url = await start(bram, demo)  # the supplier drafts
    added = await add(bram, url, "kpis", KPI)
    assert added.status_code == 200 and added.text.lstrip().startswith("<input type=\"hidden\" id=\"lock\"")
    assert "OTIF %" in added.text and 'id="section-kpis"' in added.text
    assert (await add(bram, url, "terms", TERMS)).status_code == 200
    # the client can edit the draft too (designing it together)
    assert (await add(ana, url, "locations", {"name": "Planta Huesca", "receiving_windows": "Mon–Fri 06:00–14:00"})
            ).status_code == 200

    page = await bram.get(url)
    no_date = await bram.post(f"{url}/propose", {"lock": lock_of(page.text)})
    assert no_date.status_code == 422 and "Set the effective date before proposing." in no_date.text
    assert (await bram.post(f"{url}/effective-date", {"effective_date": "2027-01-01", "lock": lock_of(page.text)})
            ).status_code == 302
    page = await bram.get(url)
    assert (await bram.post(f"{url}/propose", {"lock": lock_of(page.text)})).status_code == 302
    version_id = url.rsplit("/", 1)[1]
    row = await owner.fetchrow("SELECT status, content_hash FROM agreement_version WHERE id = $1", version_id)
    assert row["status"] == "proposed" and len(row["content_hash"]) == 64

    # proposed: nobody edits it any more
    page = await ana.get(url)
    refused = await ana.post(f"{url}/sections/kpis", KPI | {"lock": lock_of(page.text)}, htmx=True)
    assert refused.status_code == 409
    # the proposer cannot send it back; the other side can, with a reason
    assert (await bram.post(f"{url}/request-changes", {"comment": "x", "lock": lock_of(page.text)})).status_code == 403
    empty = await ana.post(f"{url}/request-changes", {"comment": " ", "lock": lock_of(page.text)})
    assert empty.status_code == 422 and "Say what should change." in empty.text
    back = await ana.post(f"{url}/request-changes", {"comment": "Weight 40 is too much", "lock": lock_of(page.text)})
    assert back.status_code == 302
    assert await owner.fetchval("SELECT status FROM agreement_version WHERE id = $1", version_id) == "draft"

    kpi_row = json.loads(await owner.fetchval("SELECT content FROM agreement_version WHERE id = $1", version_id)
                         )["kpis"][0]["id"]
    assert (await add(bram, url, "kpis", KPI | {"row_id": kpi_row, "weight": "30"})).status_code == 200
    page = await bram.get(url)
    assert (await bram.post(f"{url}/propose", {"lock": lock_of(page.text)})).status_code == 302

    # signing needs the permission an org admin grants
    page = await ana.get(url)
    await owner.execute("UPDATE app_user SET can_sign = false WHERE email = 'ana@lacteos.example'")
    ana_no_right = await browser("ana@lacteos.example")
    assert (await ana_no_right.post(f"{url}/sign", {"lock": lock_of(page.text)})).status_code == 403
    await owner.execute("UPDATE app_user SET can_sign = true WHERE email = 'ana@lacteos.example'")
    ana = await browser("ana@lacteos.example")
    assert (await ana.post(f"{url}/sign", {"lock": lock_of(page.text)})).status_code == 302
    twice = await ana.post(f"{url}/sign", {"lock": lock_of(page.text)})
    assert twice.status_code == 422 and "already signed" in twice.text
    assert await owner.fetchval("SELECT status FROM agreement_version WHERE id = $1", version_id) == "proposed"
    page = await bram.get(url)
    assert (await bram.post(f"{url}/sign", {"lock": lock_of(page.text)})).status_code == 302

    version = await owner.fetchrow("SELECT * FROM agreement_version WHERE id = $1", version_id)
    assert version["status"] == "signed"
    signatures = await owner.fetch("SELECT side, content_hash, signer_email FROM agreement_signature"
                                   " WHERE agreement_version = $1 ORDER BY side", version_id)
    assert [(s["side"], s["signer_email"]) for s in signatures] == [("client", "ana@lacteos.example"),
                                                                   ("supplier", "bram@envases.example")]
    # the hash both signed is the SHA-256 of the canonical content, recomputed from the stored row
    recomputed = hashlib.sha256(canonical(str(rel(demo)), version["number"], version["effective_date"].isoformat(),
                                          json.loads(version["content"]))).hexdigest()
    assert {s["content_hash"] for s in signatures} == {version["content_hash"]} == {recomputed}
    actions = [r["action"] for r in await owner.fetch(
        "SELECT action FROM audit_entry WHERE target_id = $1 ORDER BY seq", version_id)]
    assert actions[0] == "agreement.draft_started" and actions.count("agreement.signed") == 2
    assert "agreement.changes_requested" in actions


async def signed_version(browser, demo, owner, effective="2027-01-01", based_on_url=None, weight="40"):
    bram, ana = await browser("bram@envases.example"), await browser("ana@lacteos.example")
    url = await start(bram, demo)
    if based_on_url is None:
        await add(bram, url, "kpis", KPI | {"weight": weight})
    else:
        version_id = url.rsplit("/", 1)[1]
        row = json.loads(await owner.fetchval("SELECT content FROM agreement_version WHERE id = $1", version_id))
        await add(bram, url, "kpis", KPI | {"row_id": row["kpis"][0]["id"], "weight": weight})
    page = await bram.get(url)
    await bram.post(f"{url}/effective-date", {"effective_date": effective, "lock": lock_of(page.text)})
    page = await bram.get(url)
    await bram.post(f"{url}/propose", {"lock": lock_of(page.text)})
    for who in (ana, bram):
        page = await who.get(url)
        assert (await who.post(f"{url}/sign", {"lock": lock_of(page.text)})).status_code == 302
    return url


async def test_a_signed_version_cannot_change_through_any_route(app, demo, browser, owner):
    url = await signed_version(browser, demo, owner)
    version_id = url.rsplit("/", 1)[1]
    before = await owner.fetchrow("SELECT content, effective_date, status, version FROM agreement_version"
                                  " WHERE id = $1", version_id)
    bram = await browser("bram@envases.example")
    page = await bram.get(url)
    assert "Propose to the other side" not in page.text and "Remove this row?" not in page.text
    row_id = json.loads(before["content"])["kpis"][0]["id"]
    payloads = {"effective_date": "2030-01-01", "comment": "change it", "row_id": row_id, "lock": str(before["version"])}
    posted = 0
    for route in app.routes:
        if not route.path.startswith("/agreement-versions/{version_id:uuid}") or "POST" not in route.methods:
            continue
        path = route.path.replace("{version_id:uuid}", version_id).replace("{key:str}", "kpis")
        for who in (bram, await browser("ana@lacteos.example")):
            response = await who.post(path, KPI | payloads | {"weight": "99"})
            assert response.status_code in (403, 404, 409, 422), (path, response.status_code)
            posted += 1
    assert posted >= 10
    after = await owner.fetchrow("SELECT content, effective_date, status, version FROM agreement_version"
                                 " WHERE id = $1", version_id)
    assert dict(after) == dict(before)
    # and the database itself refuses, even to its owner
    with pytest.raises(asyncpg.exceptions.RaiseError, match="signed agreement version cannot change"):
        await owner.execute("UPDATE agreement_version SET content = '{}' WHERE id = $1", version_id)
    with pytest.raises(asyncpg.exceptions.RaiseError):
        await owner.execute("DELETE FROM agreement_signature WHERE agreement_version = $1", version_id)


async def test_the_version_in_force_by_date_and_amendments(demo, browser, owner):
    first = await signed_version(browser, demo, owner, effective="2027-01-01", weight="40")
    ana = await browser("ana@lacteos.example")
    api = f"/api/v1/relationships/{rel(demo)}/agreement"
    assert (await ana.get(f"{api}?at=2026-12-31")).status_code == 404
    body = (await ana.get(f"{api}?at=2027-03-01")).json()
    assert body["number"] == 1 and body["content"]["kpis"][0]["weight"] == "40"
    assert len(body["signatures"]) == 2 and body["content_hash"] == body["signatures"][0]["content_hash"]
    bad = await ana.get(f"{api}?at=yesterday")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "at"

    # an amendment starts from the signed version, copied; its date must come later
    second = await signed_version(browser, demo, owner, effective="2027-07-01", based_on_url=first, weight="30")
    assert (await ana.get(f"{api}?at=2027-06-30")).json()["number"] == 1
    after = (await ana.get(f"{api}?at=2027-07-01")).json()
    assert after["number"] == 2 and after["content"]["kpis"][0]["weight"] == "30"
    assert after["content"]["kpis"][0]["id"] == body["content"]["kpis"][0]["id"]  # the same row, amended
    # comparison shows what changed
    a, b = first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]
    compare = await ana.get(f"/relationships/{rel(demo)}/agreement/compare?a={a}&b={b}")
    assert compare.status_code == 200 and 'class="changed">40<' in compare.text and 'class="changed">30<' in compare.text


async def test_only_one_open_draft_and_effective_dates_move_forward(demo, browser, owner):
    first = await signed_version(browser, demo, owner, effective="2027-01-01")
    bram = await browser("bram@envases.example")
    url = await start(bram, demo)
    again = await bram.post(f"/relationships/{rel(demo)}/agreement/drafts", {})
    assert again.status_code == 422 and "already open" in again.text
    page = await bram.get(url)
    early = await bram.post(f"{url}/effective-date", {"effective_date": "2026-06-01", "lock": lock_of(page.text)})
    assert early.status_code == 422 and "Must come after" in early.text
    assert first != url


async def test_section_validation_names_each_field_and_saves_nothing(demo, browser, owner):
    bram = await browser("bram@envases.example")
    url = await start(bram, demo)
    bad = await add(bram, url, "kpis", KPI | {"measured_party": "client", "target": "abc", "weight": "-1"})
    assert bad.status_code == 422
    for text in ["Enter a number, like 12.5.", "Use a value of at least 0."]:
        assert text in bad.text
    direction = await add(bram, url, "kpis", KPI | {"metric": "average_lead_time_days", "target": "7", "warning": "5"})
    assert direction.status_code == 422 and "Lower is better for this KPI" in direction.text
    party = await add(bram, url, "kpis", KPI | {"metric": "forecast_accuracy"})
    assert party.status_code == 422 and "This KPI measures the client." in party.text
    split = await add(bram, url, "gain_sharing", {"supplier_share_pct": "60", "client_share_pct": "50"})
    assert split.status_code == 422 and "add up to 100" in split.text
    holidays = await add(bram, url, "terms", TERMS | {"holidays": "2027-01-06\nchristmas"})
    assert holidays.status_code == 422 and "Line 2 is not a date" in holidays.text
    contact = await add(bram, url, "escalation", {"level": "1", "client_contact": "nope", "supplier_contact": "x",
                                                  "days": "5"})
    assert contact.status_code == 422 and "Choose one of the designated contacts." in contact.text
    content = json.loads(await owner.fetchval("SELECT content FROM agreement_version"))
    assert all(not rows for rows in content.values())


async def test_a_stale_lock_is_refused(demo, browser, owner):
    bram = await browser("bram@envases.example")
    url = await start(bram, demo)
    page = await bram.get(url)
    stale = lock_of(page.text)
    assert (await bram.post(f"{url}/sections/locations", {"name": "A", "receiving_windows": "Mon 06:00-14:00", "lock": stale},
                            htmx=True)).status_code == 200
    again = await bram.post(f"{url}/sections/locations", {"name": "B", "receiving_windows": "Mon 06:00-14:00", "lock": stale},
                            htmx=True)
    assert again.status_code == 409
    content = json.loads(await owner.fetchval("SELECT content FROM agreement_version"))
    assert [r["name"] for r in content["locations"]] == ["A"]


async def test_printable_view_and_json_export(demo, browser, owner):
    url = await signed_version(browser, demo, owner)
    ana = await browser("ana@lacteos.example")
    printed = await ana.get(f"{url}/print")
    assert printed.status_code == 200 and "/static/print.css" in printed.text
    assert "Ana Martín" in printed.text and "Bram de Vries" in printed.text and "matches the signed hash" in printed.text
    exported = await ana.get(f"{url}/export.json")
    assert exported.headers["content-disposition"].startswith("attachment")
    document = exported.json()
    assert document["status"] == "signed" and document["content_hash"] in printed.text


async def test_viewers_cannot_draft(demo, browser, owner):
    carlos = await browser("carlos@lacteos.example")
    assert (await carlos.post(f"/relationships/{rel(demo)}/agreement/drafts", {})).status_code == 403
    assert await owner.fetchval("SELECT count(*) FROM agreement_version") == 0
