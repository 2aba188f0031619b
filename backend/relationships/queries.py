"""Read models for the relationship pages (lists and counts), always behind access.py checks."""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend import db
from backend.relationships.access import visible_relationship_ids
from backend.web.current import Actor

# The purposes every side is expected to designate (escalation: at least level 1).
EXPECTED_PURPOSES = ("responsable", "commercial", "logistics", "quality", "billing", "escalation")


@dataclass
class DashboardCard:
    id: UUID
    name: str
    side: str
    counterparty: str
    status: str
    start_date: object
    time_zone: str
    missing_contacts: list[str]
    contacts: int
    members: int
    may_act: bool = False  # takes the side's moves in disputes


async def dashboard_cards(actor: Actor) -> list[DashboardCard]:
    ids = await visible_relationship_ids(actor)
    if not ids:
        return []
    rows = await db.raw(
        """
        SELECT r.id, r.name, r.status, r.start_date, r.time_zone,
               CASE WHEN r.client_org = $2 THEN 'client' ELSE 'supplier' END AS side,
               o.name AS counterparty,
               (SELECT m.role FROM relationship_member m WHERE m.relationship = r.id AND m."user" = $3) AS my_role,
               (SELECT count(*) FROM contact c WHERE c.relationship = r.id) AS contacts,
               (SELECT count(*) FROM relationship_member m WHERE m.relationship = r.id) AS members,
               ARRAY(SELECT DISTINCT c.purpose FROM contact c WHERE c.relationship = r.id AND c.org = $2)
                 AS my_purposes
        FROM relationship r
        JOIN organization o ON o.id = CASE WHEN r.client_org = $2 THEN r.supplier_org ELSE r.client_org END
        WHERE r.id = ANY($1::uuid[])
        ORDER BY r.name
        """,
        ids, actor.org.id, actor.user.id,
    )
    return [
        DashboardCard(id=row["id"], name=row["name"], side=row["side"], counterparty=row["counterparty"],
                      status=row["status"], start_date=row["start_date"], time_zone=row["time_zone"],
                      missing_contacts=[p for p in EXPECTED_PURPOSES if p not in row["my_purposes"]],
                      contacts=row["contacts"], members=row["members"],
                      may_act=actor.is_admin or row["my_role"] in (
                          ("responsable", "manager") if row["side"] == "client"
                          else ("responsable", "manager", "contributor")))
        for row in rows
    ]


async def members(relationship_id: UUID) -> list[dict]:
    return [dict(row) for row in await db.raw(
        """
        SELECT m.id, m.role, m.org, m.kickoff, u.id AS user_id, u.name, u.email,
               CASE WHEN r.client_org = m.org THEN 'client' ELSE 'supplier' END AS side
        FROM relationship_member m
        JOIN relationship r ON r.id = m.relationship
        JOIN app_user u ON u.id = m."user"
        WHERE m.relationship = $1
        ORDER BY side, u.name
        """,
        relationship_id,
    )]


async def counts(relationship_id: UUID) -> dict[str, int]:
    row = await db.raw_one(
        "SELECT (SELECT count(*) FROM contact WHERE relationship = $1) AS contacts,"
        " (SELECT count(*) FROM relationship_member WHERE relationship = $1) AS members",
        relationship_id,
    )
    return dict(row)
