"""Dispute deadlines: what the dispute terms say when a clock runs out."""
from datetime import datetime

from backend.disputes.actions import run_deadlines


async def dispute_deadlines(ctx, now: str | None = None) -> int:
    """`now` (ISO 8601) lets a test or an operator run the job as of a given moment."""
    return await run_deadlines(datetime.fromisoformat(now) if now else None)
