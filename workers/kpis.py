"""KPI recompute: after an ingest, only the months it touched; nightly, every open period."""
from datetime import date, datetime, timezone
from uuid import UUID
from zoneinfo import ZoneInfo

from backend import db
from backend.operations.ingest import recompute_dirty
from backend.operations.kpis import freeze_closed, recompute_many
from backend.operations.proposals import propose_for

RECONCILE_MONTHS = 13


async def recompute_kpis(ctx, relationship_id: str) -> int:
    """Until no month of the relationship is marked (a batch may land while this runs)."""
    rel = UUID(relationship_id)
    async with db.tenant_transaction(None):
        org = (await db.raw_one("SELECT pacto_relationship_client($1) AS org", rel))["org"]
    written = 0
    while True:
        async with db.tenant_transaction(org):
            done = await recompute_dirty(rel)
        if not done:
            return written
        written += done


async def reconcile_kpis(ctx, now: str | None = None) -> int:
    """Recompute the last months of every relationship with data (frozen periods stay frozen)."""
    moment = datetime.fromisoformat(now) if now else datetime.now(timezone.utc)
    async with db.tenant_transaction(None):
        targets = await db.raw("SELECT * FROM pacto_relationships_with_lines()")
    months, first = [], date(moment.year, moment.month, 1)
    for k in range(RECONCILE_MONTHS):
        index = first.year * 12 + first.month - 1 - k
        months.append(date(index // 12, index % 12 + 1, 1))
    by_org: dict = {}
    for target in targets:
        by_org.setdefault(target["client_org"], []).append(target["relationship_id"])
    written = 0
    for org, relationships in by_org.items():  # one set-based recompute per client company
        async with db.tenant_transaction(org):
            written += await recompute_many({r: months for r in relationships}, moment)
        for relationship in relationships:
            async with db.tenant_transaction(org):
                await propose_for(relationship, months, moment)
                tz = (await db.raw_one("SELECT time_zone FROM relationship WHERE id = $1", relationship))["time_zone"]
                await freeze_closed(relationship, moment.astimezone(ZoneInfo(tz)).date(), moment, months)
    return written

async def run_import(ctx, job_id: str) -> str:
    from backend.operations import imports

    return await imports.run(UUID(job_id))
