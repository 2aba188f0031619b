"""Tenant isolation, first wall: every route that takes an object id answers 404 to a user of
an unrelated company, and shows none of the object's data.

The test walks the application's own route table. A new route whose id parameter is not known
here fails the test until it is covered.
"""
import re

import pytest

OUTSIDER = "olga@otra.example"
PARAM_RE = re.compile(r"\{(\w+):uuid\}")
SKIP_METHODS = {"HEAD", "OPTIONS"}
# Bodies that pass validation, so that only the ownership check can stop the request.
JSON_BODIES = {
    ("POST", "/api/v1/relationships/{relationship_id:uuid}/contacts"):
        {"purpose": "quality", "name": "Intruder", "email": "x@otra.example"},
    ("PATCH", "/api/v1/contacts/{contact_id:uuid}"): {"version": 1, "name": "Intruder"},
    ("POST", "/api/v1/relationships/{relationship_id:uuid}/deviations"):
        {"type": "other", "occurred_at": "2026-11-01T10:00:00", "description": "Intruder"},
    ("POST", "/api/v1/deviations/{deviation_id:uuid}/actions"): {"action": "withdraw", "version": 1},
    ("POST", "/api/v1/relationships/{relationship_id:uuid}/orders"): {"orders": [
        {"external_id": "X-1", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
            {"external_id": "X-1/1", "item_code": "X", "qty_ordered": "1", "promised_date": "2026-11-10"}]}]},
    ("POST", "/api/v1/relationships/{relationship_id:uuid}/deliveries"): {"deliveries": []},
    ("POST", "/api/v1/relationships/{relationship_id:uuid}/invoices"): {"invoices": [
        {"external_id": "X-1", "amount": "1", "issued_on": "2026-11-01", "due_date": "2026-11-30"}]},
    ("POST", "/api/v1/relationships/{relationship_id:uuid}/forecasts"): {"forecasts": [
        {"external_id": "X-1", "item_code": "X", "period": "2026-11", "qty": "1"}]},
}
FORM_BODIES = {
    "/relationships/{relationship_id:uuid}/contacts": {"purpose": "quality", "name": "Intruder",
                                                       "email": "x@otra.example"},
    "/relationships/{relationship_id:uuid}/members": {"role": "viewer"},
    "/members/{member_id:uuid}": {"role": "viewer"},
    "/contacts/{contact_id:uuid}": {"purpose": "quality", "name": "Intruder", "email": "x@otra.example",
                                    "version": "1"},
    "/org/users/{user_id:uuid}": {"org_role": "member", "version": "1"},
    "/agreement-versions/{version_id:uuid}/sections/{key:str}": {"name": "Intruder", "receiving_windows": "Mon 06:00-14:00",
                                                                 "lock": "1"},
    "/agreement-versions/{version_id:uuid}/sections/{key:str}/remove": {"row_id": "r1", "lock": "1"},
    "/agreement-versions/{version_id:uuid}/comments/{section:str}": {"body": "Intruder", "visibility": "shared"},
    "/requirements/{requirement_id:uuid}/answer": {"answer": "complies", "answer_text": "x", "version": "1"},
    "/members/{member_id:uuid}/kickoff": {"kickoff": "1"},
    "/relationships/{relationship_id:uuid}/commitments/{commitment_id:str}/executions": {
        "due_date": "2026-01-01", "executed_on": "2026-01-01", "evidence": "x"},
    "/relationships/{relationship_id:uuid}/deviations": {"type": "other", "occurred_at": "2026-11-01T10:00",
                                                         "description": "Intruder"},
    "/deviations/{deviation_id:uuid}/actions/{action:str}": {"lock": "1", "note": "Intruder"},
    "/deviations/{deviation_id:uuid}/comments": {"body": "Intruder", "visibility": "shared"},
    "/improvement-reports/{report_id:uuid}/decision": {"decision": "confirmed", "version": "1"},
    "/gain-reports/{gain_id:uuid}/decision": {"decision": "confirmed", "version": "1"},
    "/relationships/{relationship_id:uuid}/prices/gains": {"description": "x", "amount": "1", "evidence": "y"},
    "/relationships/{relationship_id:uuid}/reviews": {"scheduled_for": "2026-10-01"},
    "/reviews/{review_id:uuid}/record": {"attendees": "Intruder", "version": "1"},
    "/reviews/{review_id:uuid}/actions": {"text": "Intruder", "owner": "x", "due_date": "2026-12-01"},
    "/review-actions/{action_id:uuid}/done": {"version": "1"},
    "/relationships/{relationship_id:uuid}/prices/reports": {"year": "1", "commitment": "m-2", "evidence": "x"},
    "/imports/{job_id:uuid}/start": {"map_order_external_id": "Pedido"},
    "/relationships/{relationship_id:uuid}/data": {"kind": "orders"},
    "/relationships/{relationship_id:uuid}/penalties/value": {"period": "2026-11", "invoiced_value": "1",
                                                              "lock": "0"},
}


@pytest.fixture
async def victims(demo, owner):
    """Objects of Lácteos del Valle / Envases Norte that Olga (Otra Industria) must never reach."""
    relationship = demo["relationships"]["Yoghurt cups and lids"]
    await owner.execute(
        "INSERT INTO invitation (id, org, kind, email, org_role, token_hash, expires_at, details, created_at)"
        " VALUES (gen_random_uuid(), $1, 'colleague', 'new@lacteos.example', 'member', 'x', now() + interval '1 day',"
        " '{}', now())", demo["orgs"]["Lácteos del Valle"])
    connection = await owner.fetchval(
        "INSERT INTO sso_connection (id, org, name, issuer, client_id, client_secret_encrypted, default_role,"
        " groups_claim, group_roles, sso_required, show_on_login, enabled, version, created_at, updated_at)"
        " VALUES (gen_random_uuid(), $1, 'Lácteos del Valle IdP', 'https://idp.lacteos.example', 'pacto', 'x',"
        " 'member', 'groups', '{}', false, false, true, 1, now(), now()) RETURNING id",
        demo["orgs"]["Lácteos del Valle"])
    version = await owner.fetchval(
        "INSERT INTO agreement_version (id, relationship, number, status, content, content_hash, version, created_at,"
        " updated_at) VALUES (gen_random_uuid(), $1, 1, 'draft', $2, '', 1, now(), now()) RETURNING id",
        relationship, '{"locations": [{"id": "r1", "name": "Planta secreta de Huesca"}]}')
    requirement = await owner.fetchval(
        "INSERT INTO requirement (id, relationship, text, answer_text, version, created_at) VALUES"
        " (gen_random_uuid(), $1, 'Requisito secreto de Lácteos', '', 1, now()) RETURNING id", relationship)
    deviation = await owner.fetchval(
        "INSERT INTO deviation (id, relationship, number, type, occurred_at, period, description, status,"
        " waiting_for, created_at, updated_at) VALUES (gen_random_uuid(), $1, 1, 'late_delivery', now(), '2026-11',"
        " 'Retraso secreto de Envases', 'open', 'supplier', now(), now()) RETURNING id", relationship)
    await owner.execute(
        "INSERT INTO deviation_comment (id, deviation, relationship, org, author_name, body, visibility, created_at)"
        " VALUES (gen_random_uuid(), $1, $2, $3, 'Ana', 'Nota secreta', 'shared', now())", deviation, relationship,
        demo["orgs"]["Lácteos del Valle"])
    evidence = await owner.fetchval(
        "INSERT INTO evidence_file (id, deviation, relationship, org, filename, kind, media_type, size, sha256,"
        " created_at) VALUES (gen_random_uuid(), $1, $2, $3, 'albaran-secreto.pdf', 'pdf', 'application/pdf', 1,"
        " 'x', now()) RETURNING id", deviation, relationship, demo["orgs"]["Lácteos del Valle"])
    job = await owner.fetchval(
        "INSERT INTO import_job (id, relationship, org, kind, filename, mapping, status, total, processed, result,"
        " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'orders', 'pedidos-secretos.csv', '{}',"
        " 'uploaded', 0, 0, '{\"columns\": [\"Pedido\"]}', now(), now()) RETURNING id",
        relationship, demo["orgs"]["Lácteos del Valle"])
    token = await owner.fetchval(
        "INSERT INTO api_token (id, org, created_by, name, prefix, token_hash, relationships, created_at) VALUES"
        " (gen_random_uuid(), $1, $2, 'ERP secreto', 'pacto_x', 'h', ARRAY[$3::uuid], now()) RETURNING id",
        demo["orgs"]["Lácteos del Valle"], demo["users"]["ana@lacteos.example"], relationship)
    report = await owner.fetchval(
        "INSERT INTO improvement_report (id, relationship, year, commitment, org, achieved, note, evidence, status,"
        " version, created_at, updated_at) VALUES (gen_random_uuid(), $1, 1, 'm-2', $2, 2.5, '', 'Evidencia secreta',"
        " 'reported', 1, now(), now()) RETURNING id", relationship, demo["orgs"]["Envases Norte"])
    gain = await owner.fetchval(
        "INSERT INTO gain_report (id, relationship, year, description, amount, evidence, org, status, version,"
        " created_at, updated_at) VALUES (gen_random_uuid(), $1, 1, 'Ahorro secreto', 100, 'x', $2, 'reported', 1,"
        " now(), now()) RETURNING id", relationship, demo["orgs"]["Envases Norte"])
    review = await owner.fetchval(
        "INSERT INTO review (id, relationship, scheduled_for, quarter_start, status, pack, attendees, decisions,"
        " version, created_at, updated_at) VALUES (gen_random_uuid(), $1, '2026-10-01', '2026-07-01', 'planned',"
        " '{}', 'Asistente secreto', '', 1, now(), now()) RETURNING id", relationship)
    action = await owner.fetchval(
        "INSERT INTO review_action (id, review, relationship, text, due_date, status, version, created_at,"
        " updated_at) VALUES (gen_random_uuid(), $1, $2, 'Tarea secreta', '2026-12-01', 'open', 1, now(), now())"
        " RETURNING id", review, relationship)
    report_file = await owner.fetchval(
        "INSERT INTO report_file (id, relationship, report_kind, report_id, org, filename, kind, media_type, size,"
        " sha256, created_at) VALUES (gen_random_uuid(), $1, 'gain', $2, $3, 'estudio-secreto.pdf', 'pdf',"
        " 'application/pdf', 1, 'x', now()) RETURNING id", relationship, gain, demo["orgs"]["Envases Norte"])
    return {
        "file_id": report_file,
        "gain_id": gain,
        "review_id": review,
        "action_id": action,
        "report_id": report,
        "token_id": token,
        "job_id": job,
        "deviation_id": deviation,
        "evidence_id": evidence,
        "requirement_id": requirement,
        "version_id": version,
        "connection_id": connection,
        "relationship_id": relationship,
        "contact_id": await owner.fetchval("SELECT id FROM contact WHERE relationship = $1 LIMIT 1", relationship),
        "member_id": await owner.fetchval(
            "SELECT id FROM relationship_member WHERE relationship = $1 LIMIT 1", relationship),
        "user_id": demo["users"]["carlos@lacteos.example"],
        "invitation_id": await owner.fetchval("SELECT id FROM invitation WHERE email = 'new@lacteos.example'"),
    }


SECRETS = ["estudio-secreto", "Ahorro secreto", "Asistente secreto", "Tarea secreta", "Evidencia secreta", "ERP secreto", "pedidos-secretos", "Retraso secreto", "Nota secreta", "albaran-secreto", "Requisito secreto", "Planta secreta de Huesca", "Lácteos del Valle IdP", "idp.lacteos.example", "Yoghurt cups and lids", "Envases Norte", "Lácteos del Valle", "Carlos Ruiz", "recepcion@lacteos.example",
           "new@lacteos.example", "bram@envases.example"]


# Routes that take an id and are public on purpose; each says why in its `public_id_route` opt.
PUBLIC_ID_ROUTES = {("GET", "/sso/{connection_id:uuid}/start")}


def id_routes(app, *, public: bool = False):
    for route in app.routes:
        params = PARAM_RE.findall(route.path)
        if not params:
            continue
        for handler in getattr(route, "route_handlers", []):
            if bool(handler.opt.get("public_id_route")) != public:
                continue
            for method in sorted(set(handler.http_methods) - SKIP_METHODS):
                yield route.path, method, params


async def test_every_id_route_answers_404_to_an_outsider(app, victims, browser, owner):
    olga = await browser(OUTSIDER)
    checked, uncovered, leaks = [], [], []
    for path, method, params in id_routes(app):
        missing = [p for p in params if p not in victims]
        if missing:
            uncovered.append(f"{method} {path} ({', '.join(missing)})")
            continue
        url = path.replace("{key:str}", "locations").replace("{section:str}", "kpis").replace(
            "{commitment_id:str}", "c1").replace("{action:str}", "withdraw")
        for p in params:
            url = url.replace(f"{{{p}:uuid}}", str(victims[p]))
        if path.startswith("/api/"):
            response = await olga.request(method, url, json=JSON_BODIES.get((method, path)))
        elif method == "GET":
            response = await olga.get(url)
        else:
            response = await olga.post(url, FORM_BODIES.get(path, {}))
        checked.append(f"{method} {path}")
        if response.status_code != 404:
            leaks.append(f"{method} {path} -> {response.status_code}")
        leaked = [s for s in SECRETS if s in response.text]
        if leaked:
            leaks.append(f"{method} {path} shows {leaked}")
    assert not uncovered, f"routes with ids this test does not know how to fill: {uncovered}"
    assert not leaks, leaks
    assert len(checked) >= 15  # the walk really ran over the routes
    # and nothing was changed by any of those requests
    assert await owner.fetchval("SELECT count(*) FROM contact WHERE name = 'Intruder'") == 0
    assert await owner.fetchval("SELECT count(*) FROM relationship_member WHERE role = 'viewer'") == 1  # carlos only
    assert await owner.fetchval("SELECT revoked_at FROM invitation WHERE id = $1", victims["invitation_id"]) is None
    assert await owner.fetchval("SELECT org_role FROM app_user WHERE id = $1", victims["user_id"]) == "member"
    assert await owner.fetchval("SELECT version FROM agreement_version WHERE id = $1", victims["version_id"]) == 1
    assert await owner.fetchval("SELECT count(*) FROM agreement_comment") == 0
    assert await owner.fetchval("SELECT count(*) FROM commitment_execution") == 0
    assert await owner.fetchval("SELECT answer FROM requirement") is None
    assert await owner.fetchval("SELECT count(*) FROM relationship_member WHERE kickoff") == 0
    assert await owner.fetchval("SELECT count(*) FROM deviation") == 1
    assert await owner.fetchval("SELECT (status, version) FROM deviation") == ("open", 1)
    assert await owner.fetchval("SELECT count(*) FROM deviation_comment") == 1
    assert await owner.fetchval("SELECT count(*) FROM period_value") == 0
    assert await owner.fetchval("SELECT status FROM import_job") == "uploaded"
    assert await owner.fetchval("SELECT revoked_at FROM api_token") is None
    assert await owner.fetchval("SELECT (status, version) FROM improvement_report") == ("reported", 1)
    assert await owner.fetchval("SELECT count(*) FROM improvement_report") == 1
    assert await owner.fetchval("SELECT (status, version) FROM gain_report") == ("reported", 1)
    assert await owner.fetchval("SELECT (status, version, attendees) FROM review") == ("planned", 1, "Asistente secreto")
    assert await owner.fetchval("SELECT (status, version) FROM review_action") == ("open", 1)
    assert await owner.fetchval("SELECT count(*) FROM review") == 1
    for table in ("price_step_decision", "volume_warning"):
        assert await owner.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    for table in ("purchase_order", "order_line", "invoice", "forecast", "kpi_dirty", "csv_mapping"):
        assert await owner.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_the_same_routes_work_for_the_owner(app, victims, browser):
    """The walk above would pass if every route were broken; the owner must get 200s."""
    ana = await browser("ana@lacteos.example")
    for path in ["/relationships/{relationship_id:uuid}", "/relationships/{relationship_id:uuid}/contacts",
                 "/relationships/{relationship_id:uuid}/deviations", "/relationships/{relationship_id:uuid}/penalties",
                 "/relationships/{relationship_id:uuid}/scorecard",
                 "/relationships/{relationship_id:uuid}/members", "/api/v1/relationships/{relationship_id:uuid}",
                 "/api/v1/contacts/{contact_id:uuid}"]:
        url = path.replace("{relationship_id:uuid}", str(victims["relationship_id"])).replace(
            "{contact_id:uuid}", str(victims["contact_id"]))
        response = await ana.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert "Yoghurt cups and lids" in response.text or "contact" in url


async def test_api_list_holds_only_my_relationships(demo, browser):
    olga = await browser(OUTSIDER)
    body = (await olga.get("/api/v1/relationships")).json()
    assert [item["name"] for item in body["items"]] == ["Maintenance spare parts"]


async def test_public_id_routes_are_few_and_answer_404_for_unknown_ids(app, demo, browser):
    assert {(method, path) for path, method, _ in id_routes(app, public=True)} == PUBLIC_ID_ROUTES
    visitor = await browser()
    response = await visitor.get("/sso/00000000-0000-0000-0000-000000000000/start")
    assert response.status_code == 404
