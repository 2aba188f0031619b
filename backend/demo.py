"""Demo data: fixed companies, users and relationships, so anyone can try Pacto.

Idempotent: each piece is created only when missing, so running it twice changes nothing.
"""
from __future__ import annotations

from datetime import date
from uuid import UUID

from backend import db
from backend.audit.actions import record
from backend.relationships.actions import create_relationship
from backend.relationships.tables import Contact, Relationship
from backend.tenancy.actions import create_organization, create_user
from backend.tenancy.tables import Organization, User

PASSWORD = "pacto-demo"

ORGS = {
    "lacteos": dict(name="Lácteos del Valle", default_locale="es", currency="EUR", time_zone="Europe/Madrid"),
    "envases": dict(name="Envases Norte", default_locale="es", currency="EUR", time_zone="Europe/Madrid"),
    "otra": dict(name="Otra Industria", default_locale="nl", currency="EUR", time_zone="Europe/Amsterdam"),
    "sur": dict(name="Suministros Sur", default_locale="es", currency="EUR", time_zone="Europe/Madrid"),
}
USERS = [
    ("lacteos", "ana@lacteos.example", "Ana Martín", "admin", "en"),
    ("lacteos", "carlos@lacteos.example", "Carlos Ruiz", "member", "es"),
    ("envases", "bram@envases.example", "Bram de Vries", "admin", "en"),
    ("envases", "eva@envases.example", "Eva Gómez", "member", "es"),
    ("otra", "olga@otra.example", "Olga Jansen", "admin", "nl"),
    ("sur", "sergio@sur.example", "Sergio Paz", "admin", "es"),
]
RELATIONSHIPS = [
    dict(key="packaging", client="lacteos", supplier="envases", name="Yoghurt cups and lids",
         start_date=date(2026, 1, 1),
         members=[("ana@lacteos.example", "responsable"), ("carlos@lacteos.example", "viewer"),
                  ("bram@envases.example", "manager"), ("eva@envases.example", "contributor")],
         contacts=[
             ("client", "responsable", None, "Ana Martín", "ana@lacteos.example", "+34 974 000 101", "Mon–Fri 8:00–16:00"),
             ("client", "logistics", None, "Muelle de recepción", "recepcion@lacteos.example", "+34 974 000 150", "Mon–Sat 6:00–14:00"),
             ("supplier", "commercial", None, "Bram de Vries", "bram@envases.example", "+34 948 000 201", "Mon–Fri 9:00–18:00"),
             ("supplier", "quality", None, "Eva Gómez", "eva@envases.example", "+34 948 000 230", "Mon–Fri 8:00–15:00"),
             ("supplier", "escalation", 1, "Dirección comercial", "direccion@envases.example", "+34 948 000 200", ""),
         ]),
    dict(key="otra", client="otra", supplier="sur", name="Maintenance spare parts", start_date=date(2026, 3, 1),
         members=[("olga@otra.example", "responsable"), ("sergio@sur.example", "manager")],
         contacts=[("client", "responsable", None, "Olga Jansen", "olga@otra.example", "+31 20 000 0101", "")]),
]


async def seed(admin_url: str) -> bool:
    """Create what is missing; True when anything was created."""
    await db.configure(admin_url, pool=False)
    created = False
    try:
        async with db.tenant_transaction(None):
            orgs: dict[str, UUID] = {}
            for key, values in ORGS.items():
                org = await Organization.objects().where(Organization.name == values["name"]).first()
                if org is None:
                    org = await create_organization(**values)
                    created = True
                orgs[key] = org.id
            users: dict[str, User] = {}
            for org_key, email, name, role, locale in USERS:
                user = await User.objects().where(User.email == email).first()
                if user is None:
                    await db.bind_org(orgs[org_key])
                    user = await create_user(org_id=orgs[org_key], email=email, name=name, password=PASSWORD,
                                             org_role=role, locale=locale)
                    created = True
                users[email] = user
            # The two signers of the demo agreement (an org admin grants this in the UI).
            for email in ("ana@lacteos.example", "bram@envases.example"):
                if not users[email].can_sign:
                    await db.bind_org(users[email].org)
                    await User.update({User.can_sign: True}).where(User.id == users[email].id)
                    created = True
            for spec in RELATIONSHIPS:
                client, supplier = orgs[spec["client"]], orgs[spec["supplier"]]
                exists = await Relationship.exists().where(
                    (Relationship.client_org == client) & (Relationship.supplier_org == supplier)
                    & (Relationship.name == spec["name"]))
                if exists:
                    continue
                created = True
                await db.bind_org(client)
                relationship = await create_relationship(
                    client_org_id=client, supplier_org_id=supplier, name=spec["name"],
                    time_zone=ORGS[spec["client"]]["time_zone"], currency="EUR", start_date=spec["start_date"],
                    members=[(users[email].id, users[email].org, role) for email, role in spec["members"]])
                for side, purpose, level, name, email, phone, hours in spec["contacts"]:
                    org_id = client if side == "client" else supplier
                    contact = Contact(relationship=relationship.id, org=org_id, side=side, purpose=purpose,
                                      escalation_level=level, name=name, email=email, phone=phone, hours=hours,
                                      user=users[email].id if email in users else None)
                    await contact.save()
                    await record("contact.added", org_id=org_id, relationship_id=relationship.id,
                                 target_type="contact", target_id=contact.id, target_label=name,
                                 details={"purpose": purpose, "side": side, "source": "demo"})
    finally:
        await db.close()
    return created


# -- the demo identity provider (started by `pacto run --demo` when Node.js is available) -------

IDP_CLIENT_ID = "pacto-demo"
IDP_CLIENT_SECRET = "pacto-demo-idp-secret"
IDP_ACCOUNTS = {
    "bram@envases.example": {"sub": "envases-bram", "email": "bram@envases.example", "email_verified": True,
                             "name": "Bram de Vries", "groups": ["pacto-admins"]},
    "eva@envases.example": {"sub": "envases-eva", "email": "eva@envases.example", "email_verified": True,
                            "name": "Eva Gómez", "groups": []},
    "nora@envases.example": {"sub": "envases-nora", "email": "nora@envases.example", "email_verified": True,
                             "name": "Nora Vidal", "groups": []},
}
LINKED = ("bram@envases.example", "eva@envases.example")  # demo accounts that sign in through the demo IdP


async def seed_sso(admin_url: str, *, issuer: str) -> None:
    """Point Envases Norte's demo SSO connection at the running demo IdP (its port may change)."""
    import json as _json

    from backend.sso import crypto

    await db.configure(admin_url, pool=False)
    try:
        async with db.tenant_transaction(None):
            org = await Organization.objects().where(Organization.name == ORGS["envases"]["name"]).first()
            await db.bind_org(org.id)
            conn = await db.raw_one("SELECT id FROM sso_connection WHERE org = $1 AND client_id = $2", org.id,
                                    IDP_CLIENT_ID)
            if conn is None:
                conn = await db.raw_one(
                    "INSERT INTO sso_connection (id, org, name, issuer, client_id, client_secret_encrypted,"
                    " default_role, groups_claim, group_roles, sso_required, show_on_login, enabled, version,"
                    " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, 'member', 'groups',"
                    " $6, false, true, true, 1, now(), now()) RETURNING id",
                    org.id, ORGS["envases"]["name"], issuer, IDP_CLIENT_ID, crypto.encrypt(IDP_CLIENT_SECRET),
                    _json.dumps({"pacto-admins": "admin"}))
                await db.raw("INSERT INTO sso_domain (id, domain, connection, org) VALUES (gen_random_uuid(),"
                             " 'envases.example', $1, $2)", conn["id"], org.id)
            else:
                await db.raw("UPDATE sso_connection SET issuer = $1, client_secret_encrypted = $2 WHERE id = $3",
                              issuer, crypto.encrypt(IDP_CLIENT_SECRET), conn["id"])
            # Bram's and Eva's existing accounts are linked to their demo identities (linking is an
            # admin's decision, never an e-mail match at sign-in).
            for email in LINKED:
                user = await User.objects().where(User.email == email).first()
                await db.raw("DELETE FROM sso_identity WHERE \"user\" = $1", user.id)
                await db.raw("INSERT INTO sso_identity (id, \"user\", org, connection, issuer, subject, created_at)"
                             " VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, now())", user.id, org.id, conn["id"],
                             issuer, IDP_ACCOUNTS[email]["sub"])
    finally:
        await db.close()


# -- a signed agreement for the demo relationship (`pacto seed-demo` / `pacto run --demo`) -------

def _demo_agreement(contacts: dict[str, str]) -> dict:
    from backend.agreements.sections import empty_content

    content = empty_content()
    content["kpis"] = [
        {"id": "k-otif", "metric": "otif", "measured_party": "supplier", "target": "96", "warning": "93",
         "period": "month", "weight": "40", "early_tolerance_days": 1, "late_tolerance_days": 0,
         "quantity_tolerance_pct": "2"},
        {"id": "k-lead", "metric": "average_lead_time_days", "measured_party": "supplier", "target": "7",
         "warning": "9", "period": "month", "weight": "20", "early_tolerance_days": None,
         "late_tolerance_days": None, "quantity_tolerance_pct": None},
        {"id": "k-ppm", "metric": "rejection_ppm", "measured_party": "supplier", "target": "500", "warning": "1000",
         "period": "quarter", "weight": "20", "early_tolerance_days": None, "late_tolerance_days": None,
         "quantity_tolerance_pct": None},
        {"id": "k-pay", "metric": "payment_on_time", "measured_party": "client", "target": "95", "warning": "90",
         "period": "quarter", "weight": "20", "early_tolerance_days": None, "late_tolerance_days": None,
         "quantity_tolerance_pct": None},
    ]
    content["commitments"] = [
        {"id": "c-call", "text": "Phone the receiving dock one hour before each delivery", "owing_party": "supplier",
         "owner_contact": contacts.get("Bram de Vries"), "recorded_how": "Call log in the carrier's app",
         "recurrence": "weekly", "due_date": "2026-01-05", "evidence": "Call log"},
        {"id": "c-forecast", "text": "Send the 13-week rolling forecast", "owing_party": "client",
         "owner_contact": contacts.get("Ana Martín"), "recorded_how": "E-mail with the forecast file",
         "recurrence": "monthly", "due_date": "2026-01-10", "evidence": ""},
    ]
    content["penalty_rules"] = [
        {"id": "p-late", "trigger": "late_delivery", "kpi_metric": None, "formula": "percent_per_day_late",
         "amount": None, "rate_pct": "0.5", "cap_pct": "10", "grace_count": 2, "minimum_amount": "25"},
        {"id": "p-otif", "trigger": "kpi_shortfall", "kpi_metric": "otif", "formula": "kpi_service_credit",
         "amount": None, "rate_pct": "1", "cap_pct": "5", "grace_count": None, "minimum_amount": None},
    ]
    content["terms"] = {"period_cap_pct": "10", "supplier_response_days": 5, "client_review_days": 5,
                        "on_no_response": "deemed_accepted", "holidays": "2026-01-06\n2026-04-03\n2026-12-08",
                        "first_quarterly_review": "2026-04-01", "yearly_update": "2026-12-01"}
    content["escalation"] = [
        {"id": "e-1", "level": 1, "client_contact": contacts.get("Ana Martín"),
         "supplier_contact": contacts.get("Dirección comercial"), "days": 5}]
    content["price_items"] = [
        {"id": "i-cup", "item_code": "CUP-125", "description": "Yoghurt cup 125 g, PP", "unit": "unit",
         "base_price": "0.0345", "annual_volume": "12000000"},
        {"id": "i-lid", "item_code": "LID-95", "description": "Peelable lid 95 mm", "unit": "unit",
         "base_price": "0.012", "annual_volume": "12000000"}]
    content["price_steps"] = [{"id": "s-2", "year": 2, "step_pct": "3", "condition": "withheld_if_missed",
                               "reduced_step_pct": None}]
    content["volume_tiers"] = [{"id": "t-1", "item_code": "CUP-125", "min_quantity": "15000000",
                                "unit_price": "0.0335"}]
    content["rebate_bands"] = [{"id": "r-1", "min_volume": "14000000", "rebate_pct": "1"}]
    content["improvements"] = [{"id": "m-1", "year": 1, "description": "OTIF of at least 96 % over the year",
                                "kpi_metric": "otif", "target": "96", "evidence": ""}]
    content["gain_sharing"] = {"supplier_share_pct": "50", "client_share_pct": "50"}
    content["locations"] = [{"id": "l-1", "name": "Planta Huesca", "address": "Polígono Sepes, Huesca",
                             "receiving_windows": "Mon–Fri 06:00–14:00", "capacity": "4 trucks a day",
                             "documents": "Delivery note and certificate of analysis"}]
    content["items"] = [{"id": "a-1", "item_code": "CUP-125", "name": "Yoghurt cup 125 g",
                         "specs": "Polypropylene, food grade, 3.1 g, white"}]
    return content


async def seed_agreement(admin_url: str) -> bool:
    """Version 1 of the demo relationship's agreement, signed by Ana and Bram (once)."""
    import json as _json
    from datetime import datetime, timezone

    from backend.agreements.sections import content_hash

    await db.configure(admin_url, pool=False)
    try:
        async with db.tenant_transaction(None):
            relationship = await Relationship.objects().where(Relationship.name == RELATIONSHIPS[0]["name"]).first()
            exists = await db.raw_one("SELECT 1 FROM agreement_version WHERE relationship = $1", relationship.id)
            if exists:
                return False
            await db.bind_org(relationship.client_org)
            contacts = {c.name: str(c.id) for c in await Contact.objects().where(
                Contact.relationship == relationship.id)}
            content = _demo_agreement(contacts)
            effective = "2026-01-01"
            digest = content_hash(str(relationship.id), 1, effective, content)
            now = datetime.now(timezone.utc)
            version = await db.raw_one(
                "INSERT INTO agreement_version (id, relationship, number, status, effective_date, content,"
                " content_hash, version, created_at, updated_at, proposed_by_org, proposed_at)"
                " VALUES (gen_random_uuid(), $1, 1, 'signed', $2, $3, $4, 1, $5, $5, $6, $5) RETURNING id",
                relationship.id, date(2026, 1, 1), _json.dumps(content), digest, now, relationship.supplier_org)
            for email, side, org in (("ana@lacteos.example", "client", relationship.client_org),
                                     ("bram@envases.example", "supplier", relationship.supplier_org)):
                user = await User.objects().where(User.email == email).first()
                await db.raw(
                    "INSERT INTO agreement_signature (id, agreement_version, relationship, org, side, \"user\","
                    " signer_name, signer_email, content_hash, signed_at) VALUES (gen_random_uuid(), $1, $2, $3, $4,"
                    " $5, $6, $7, $8, $9)", version["id"], relationship.id, org, side, user.id, user.name, user.email,
                    digest, now)
            await record("agreement.signed", org_id=relationship.client_org, relationship_id=relationship.id,
                         target_type="agreement_version", target_id=version["id"], target_label="v1",
                         details={"source": "demo", "content_hash": digest})
    finally:
        await db.close()
    return True


async def _to_seed(table: str) -> Relationship | None:
    """The demo relationship, when its agreement is signed and `table` holds none of its rows yet."""
    relationship = await Relationship.objects().where(Relationship.name == RELATIONSHIPS[0]["name"]).first()
    if await db.raw_one(f"SELECT 1 FROM {table} WHERE relationship = $1", relationship.id):  # noqa: S608 (ours)
        return None
    if not await db.raw_one("SELECT 1 FROM agreement_version WHERE relationship = $1 AND status = 'signed'",
                            relationship.id):
        return None
    return relationship


# -- deviations in dispute for the demo agreement -----------------------------------------------

async def seed_disputes(admin_url: str) -> bool:
    """A few deviations in several states, made through the same actions people take (once)."""
    from backend.disputes import actions as disputes
    from backend.disputes.penalties import do_set_period_value
    from backend.relationships.access import RelationshipView
    from backend.web.current import Actor

    await db.configure(admin_url, pool=False)
    try:
        async with db.tenant_transaction(None):
            relationship = await _to_seed("deviation")
            if relationship is None:
                return False
            people = {}
            for email in ("ana@lacteos.example", "bram@envases.example", "eva@envases.example"):
                user = await User.objects().where(User.email == email).first()
                org = await Organization.objects().where(Organization.id == user.org).first()
                people[email] = Actor(user=user, org=org)
            client = RelationshipView(relationship, "client", "responsable", True)
            supplier = RelationshipView(relationship, "supplier", "manager", True)
            ana, bram, eva = (people[e] for e in ("ana@lacteos.example", "bram@envases.example",
                                                   "eva@envases.example"))

            async def log(**data):
                return await disputes.do_log(actor=ana, view=client, relationship=relationship, data=data)

            async def act(actor, view, deviation, action, **data):
                dv = disputes.DeviationView(deviation, view, actor.is_admin)
                return await disputes.do_act(actor=actor, dv=dv, action=action, data=data, lock=deviation.version)

            late = await log(type="late_delivery", occurred_at="2026-10-14T11:20", severity="medium",
                             subject_kind="order_line", subject_ref="PO-2026-0412 / 1", value="12400.00",
                             days_late="3", description="Delivered on 17 October; promised for the 14th.")
            await act(bram, supplier, late, "accept", note="Carrier breakdown; accepted.")
            await log(type="quality_rejection", occurred_at="2026-11-05T08:10", severity="high",
                      subject_kind="order_line", subject_ref="PO-2026-0477 / 2",
                      description="1,200 lids rejected at receiving: peel strength below specification.")
            contested = await log(type="late_delivery", occurred_at="2026-11-10T09:00", severity="medium",
                                  subject_kind="order_line", subject_ref="PO-2026-0490 / 1", value="5600.00",
                                  days_late="2", description="Arrived two days late.")
            await act(eva, RelationshipView(relationship, "supplier", "contributor", True), contested, "contest",
                      note="The receiving dock moved our slot; see the e-mail of 9 November.")
            await log(type="documentation", occurred_at="2026-11-12T12:00", severity="low",
                      description="Certificate of analysis missing from the delivery of 12 November.")
            await do_set_period_value(actor=ana, view=client, period="2026-10", raw="152000.00", lock=0)
    finally:
        await db.close()
    return True


# -- a year of operational data, measured (`pacto seed-demo` / `pacto run --demo`) ---------------

async def seed_operations(admin_url: str, now=None) -> bool:
    """A year of the demo relationship's orders, deliveries (a few late, short, split or partly
    rejected, some outside the receiving window), invoices and forecasts, up to today, measured at
    once as the workers would (closed months frozen, the last two months' late and short lines
    proposed as deviations), so that the scorecard has a year to show (once)."""
    import random
    from datetime import datetime, time, timedelta, timezone
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from backend.operations import kpis
    from backend.operations.proposals import propose_for

    now = now or datetime.now(timezone.utc)
    await db.configure(admin_url, pool=False)
    try:
        async with db.tenant_transaction(None):
            relationship = await _to_seed("purchase_order")
            if relationship is None:
                return False
            await db.bind_org(relationship.client_org)
            rng, zone = random.Random(2026), ZoneInfo(relationship.time_zone)
            today = now.astimezone(zone).date()
            months = [date(today.year - (today.month - k <= 0), (today.month - k - 1) % 12 + 1, 1) for k in range(11, -1, -1)]
            prices = {"CUP-125": Decimal("0.0345"), "LID-95": Decimal("0.012")}
            orders, lines, deliveries, invoices, forecasts = [], [], [], [], []
            number = 0
            for month in months:
                billed = Decimal(0)
                for k in range(10):
                    number += 1
                    order = f"PO-{month.year}-{number:04d}"
                    ordered_on = month + timedelta(days=k * 2)
                    orders.append((order, datetime.combine(ordered_on, time(9), zone)))
                    for position, item in enumerate(("CUP-125", "LID-95"), start=1):
                        qty = Decimal(rng.randrange(20, 61) * 1000)
                        promised = _weekday(ordered_on + timedelta(days=rng.randrange(5, 10)))
                        line = f"{order} / {position}"
                        lines.append((order, line, item, qty, prices[item], promised))
                        billed += qty * prices[item]
                        if promised > today:
                            continue
                        late = rng.random() < 0.06
                        day = _weekday(promised + timedelta(days=rng.randrange(1, 4) if late else -(rng.random() < 0.1)))
                        hour = rng.randrange(15, 18) if rng.random() < 0.05 else rng.randrange(7, 13)
                        when = datetime.combine(day, time(hour, rng.randrange(60)), zone)
                        if when > now:
                            continue  # not delivered yet
                        short = rng.random() < 0.04
                        sent = qty * Decimal("0.9") if short else qty
                        rejected = (sent * Decimal(rng.randrange(5, 20)) / 1000).quantize(Decimal(1)) \
                            if rng.random() < 0.05 else Decimal(0)
                        if rng.random() < 0.1 and not short:  # split in two: 60 % early, the rest on the day
                            deliveries.append((f"D-{line}-a", line, when - timedelta(days=2), sent * Decimal("0.6"),
                                               Decimal(0)))
                            sent = sent * Decimal("0.4")
                        deliveries.append((f"D-{line}", line, when, sent, rejected))
                for half in (0, 1):
                    issued = month + timedelta(days=14 * half + 13)
                    if issued > today:
                        continue
                    due = issued + timedelta(days=30)
                    paid = due + timedelta(days=rng.randrange(-5, 1) if rng.random() < 0.9 else rng.randrange(1, 12))
                    invoices.append((f"INV-{issued.isoformat()}", (billed / 2).quantize(Decimal("0.01")), issued,
                                     due, paid if paid <= today else None))
                for item in prices:
                    actual = sum(line[3] for line in lines if line[2] == item and line[5].replace(day=1) == month)
                    forecasts.append((f"F-{item}-{month:%Y-%m}", item, f"{month:%Y-%m}",
                                      (actual * Decimal(rng.randrange(85, 116)) / 100).quantize(Decimal(1))))
            rel, client, supplier = relationship.id, relationship.client_org, relationship.supplier_org
            await db.raw("INSERT INTO purchase_order (relationship, external_id, ordered_at, updated_at, source_org)"
                         " SELECT $1, e, o, $4, $5 FROM unnest($2::text[], $3::timestamptz[]) AS t(e, o)",
                         rel, [o[0] for o in orders], [o[1] for o in orders], now, client)
            await db.raw(
                "INSERT INTO order_line (relationship, purchase_order, external_id, item_code, qty_ordered, unit_price,"
                " promised_date, location, updated_at, source_org) SELECT $1, o.id, t.e, t.i, t.q, t.p, t.d,"
                " 'Planta Huesca', $8, $9 FROM unnest($2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[],"
                " $7::date[]) AS t(oe, e, i, q, p, d) JOIN purchase_order o ON o.relationship = $1 AND o.external_id = t.oe",
                rel, *[list(c) for c in zip(*lines)], now, client)
            await db.raw(
                "INSERT INTO delivery (relationship, order_line, external_id, delivered_at, qty_delivered, qty_rejected,"
                " updated_at, source_org) SELECT $1, l.id, t.e, t.d, t.q, t.r, $7, $8 FROM unnest($2::text[],"
                " $3::text[], $4::timestamptz[], $5::numeric[], $6::numeric[]) AS t(e, le, d, q, r)"
                " JOIN order_line l ON l.relationship = $1 AND l.external_id = t.le",
                rel, *[list(c) for c in zip(*deliveries)], now, supplier)
            await db.raw(
                "INSERT INTO invoice (relationship, external_id, amount, issued_on, due_date, paid_on, disputed,"
                " updated_at, source_org) SELECT $1, t.*, false, $7, $8 FROM unnest($2::text[], $3::numeric[],"
                " $4::date[], $5::date[], $6::date[]) AS t", rel, *[list(c) for c in zip(*invoices)], now, supplier)
            await db.raw(
                "INSERT INTO forecast (relationship, external_id, item_code, period, qty, updated_at, source_org)"
                " SELECT $1, t.*, $6, $7 FROM unnest($2::text[], $3::text[], $4::text[], $5::numeric[]) AS t",
                rel, *[list(c) for c in zip(*forecasts)], now, client)
            await kpis.recompute_many({rel: months}, now)
            await kpis.freeze_closed(rel, today, now, months)
            await propose_for(rel, months[-2:], now)
    finally:
        await db.close()
    return True


def _weekday(day: date) -> date:
    """The day, or the Monday after it when it falls on a weekend (the demo plant receives Mon–Fri)."""
    from datetime import timedelta

    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)
