"""A signed agreement with penalty rules, dispute terms and a two-level escalation ladder, for
the demo relationship (Lácteos del Valle → Envases Norte)."""
import json

import pytest

TERMS = {"period_cap_pct": "10", "supplier_response_days": 5, "client_review_days": 5,
         "on_no_response": "escalate", "holidays": "2026-12-08"}
RULES = [
    {"id": "p-late", "trigger": "late_delivery", "kpi_metric": None, "formula": "percent_per_day_late",
     "amount": None, "rate_pct": "0.5", "cap_pct": "10", "grace_count": None, "minimum_amount": None},
    {"id": "p-quality", "trigger": "quality_rejection", "kpi_metric": None, "formula": "fixed_per_incident",
     "amount": "250", "rate_pct": None, "cap_pct": None, "grace_count": 1, "minimum_amount": None},
    {"id": "p-otif", "trigger": "kpi_shortfall", "kpi_metric": "otif", "formula": "kpi_service_credit",
     "amount": None, "rate_pct": "1", "cap_pct": "5", "grace_count": None, "minimum_amount": None},
    {"id": "p-docs", "trigger": "documentation", "kpi_metric": None, "formula": "percent_per_day_late",
     "amount": None, "rate_pct": "0.1", "cap_pct": None, "grace_count": None, "minimum_amount": "25"},
]


async def sign(owner, relationship, content, *, number=1, effective="2026-01-01"):
    return await owner.fetchval(
        "INSERT INTO agreement_version (id, relationship, number, status, effective_date, content, content_hash,"
        " version, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'signed', $3::text::date, $4, 'h', 1,"
        " now(), now()) RETURNING id", relationship, number, effective, json.dumps(content))


@pytest.fixture
async def agreement(demo, owner):
    relationship = demo["relationships"]["Yoghurt cups and lids"]
    contacts = {r["name"]: str(r["id"]) for r in await owner.fetch(
        "SELECT id, name FROM contact WHERE relationship = $1", relationship)}
    content = {
        "kpis": [{"id": "k-otif", "metric": "otif", "measured_party": "supplier", "target": "96", "warning": "93",
                  "period": "month", "weight": "100"}],
        "commitments": [{"id": "c-call", "text": "Phone the dock one hour before each delivery",
                         "owing_party": "supplier", "owner_contact": contacts["Bram de Vries"], "recorded_how": "",
                         "recurrence": "weekly", "due_date": "2026-01-05", "evidence": ""}],
        "penalty_rules": RULES,
        "terms": TERMS,
        "escalation": [
            {"id": "e-1", "level": 1, "client_contact": contacts["Ana Martín"],
             "supplier_contact": contacts["Dirección comercial"], "days": 3},
            {"id": "e-2", "level": 2, "client_contact": contacts["Muelle de recepción"],
             "supplier_contact": contacts["Eva Gómez"], "days": 2}],
    }
    version = await sign(owner, relationship, content)
    return {"relationship": relationship, "version": version, "content": content, "contacts": contacts}
