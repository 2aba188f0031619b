"""Designing together: requirements and answers, the kick-off team, comments beside sections."""
from tests.agreements.test_flow import lock_of, rel, start


async def test_client_requires_supplier_answers(demo, browser, owner):
    ana, bram = await browser("ana@lacteos.example"), await browser("bram@envases.example")
    url = f"/relationships/{rel(demo)}/agreement/requirements"
    empty = await ana.post(url, {"text": "  "}, htmx=True)
    assert empty.status_code == 422 and "This field is required." in empty.text
    added = await ana.post(url, {"text": "Phone one hour before each delivery"}, htmx=True)
    assert added.status_code == 200 and added.text.lstrip().startswith('<section class="card" id="requirements">')
    assert (await bram.post(url, {"text": "The supplier may not add requirements"}, htmx=True)).status_code == 403
    requirement = await owner.fetchval("SELECT id FROM requirement")
    answer = f"/requirements/{requirement}/answer"
    assert (await ana.post(answer, {"answer": "complies", "version": "1"}, htmx=True)).status_code == 403
    vague = await bram.post(answer, {"answer": "conditions", "answer_text": "", "version": "1"}, htmx=True)
    assert vague.status_code == 422 and "Say which conditions apply" in vague.text
    ok = await bram.post(answer, {"answer": "conditions", "answer_text": "Only for the Huesca plant",
                                  "version": "1"}, htmx=True)
    assert ok.status_code == 200 and "Complies with conditions" in ok.text and "Only for the Huesca plant" in ok.text
    stale = await bram.post(answer, {"answer": "cannot", "answer_text": "No", "version": "1"}, htmx=True)
    assert stale.status_code == 409
    row = await owner.fetchrow("SELECT answer, answer_text FROM requirement")
    assert (row["answer"], row["answer_text"]) == ("conditions", "Only for the Huesca plant")
    page = await ana.get(f"/relationships/{rel(demo)}/agreement/design")
    assert "Phone one hour before each delivery" in page.text and "Only for the Huesca plant" in page.text


async def test_each_side_names_its_own_kickoff_team(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    carlos = await owner.fetchval("SELECT m.id FROM relationship_member m JOIN app_user u ON u.id = m.\"user\""
                                  " WHERE u.email = 'carlos@lacteos.example'")
    eva = await owner.fetchval("SELECT m.id FROM relationship_member m JOIN app_user u ON u.id = m.\"user\""
                               " WHERE u.email = 'eva@envases.example'")
    assert (await ana.post(f"/members/{carlos}/kickoff", {"kickoff": "1"})).status_code == 302
    assert (await ana.post(f"/members/{eva}/kickoff", {"kickoff": "1"})).status_code == 403
    rows = await owner.fetch("SELECT id, kickoff FROM relationship_member WHERE kickoff")
    assert [r["id"] for r in rows] == [carlos]


async def test_private_comments_never_reach_the_other_company(demo, browser, owner):
    bram, ana = await browser("bram@envases.example"), await browser("ana@lacteos.example")
    url = await start(bram, demo)
    shared = await ana.post(f"{url}/comments/kpis", {"body": "OTIF target looks low", "visibility": "shared"},
                            htmx=True)
    assert shared.status_code == 200 and "OTIF target looks low" in shared.text
    private = await ana.post(f"{url}/comments/kpis", {"body": "We could accept 94 if pushed",
                                                      "visibility": "private"}, htmx=True)
    assert private.status_code == 200 and "We could accept 94 if pushed" in private.text
    empty = await ana.post(f"{url}/comments/kpis", {"body": "", "visibility": "shared"}, htmx=True)
    assert empty.status_code == 422 and "Write a comment first." in empty.text
    supplier_view = await bram.get(url)
    assert "OTIF target looks low" in supplier_view.text
    assert "We could accept 94 if pushed" not in supplier_view.text
    for path in ["/export.json", "/print"]:
        assert "accept 94" not in (await bram.get(url + path)).text
    audit = await owner.fetch("SELECT details FROM audit_entry WHERE action = 'agreement.commented'")
    assert all("accept 94" not in row["details"] for row in audit)
    client_view = await (await browser("carlos@lacteos.example")).get(url)
    assert "We could accept 94 if pushed" in client_view.text  # Ana's colleague sees it
    assert client_view.text.count('<div class="comment private">') == 1 and "OTIF target looks low" in client_view.text
    assert lock_of(client_view.text)
