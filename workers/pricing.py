"""The price schedule's watch: each contract year that began gets its step decided, once; a
volume heading below its commitment warns both sides, once."""
from datetime import datetime, timezone

from backend import db
from backend.pricing.actions import evaluate_year_ends, watch_volumes


async def price_year_end(ctx, now: str | None = None) -> int:
    """Each relationship in its own transaction: a crash leaves the rest for the next run, and a
    decision already recorded is never made twice (unique per relationship and year)."""
    moment = datetime.fromisoformat(now) if now else datetime.now(timezone.utc)
    async with db.tenant_transaction(None):
        targets = await db.raw("SELECT * FROM pacto_relationships_with_steps()")
    made = 0
    for target in targets:
        async with db.tenant_transaction(target["client_org"]):
            made += await evaluate_year_ends(target["relationship_id"], moment)
            made += await watch_volumes(target["relationship_id"], moment)
    return made


async def review_action_reminders(ctx, now: str | None = None) -> int:
    from backend.reviews.actions import remind_actions

    return await remind_actions(datetime.fromisoformat(now) if now else None)
