"""Scheduled agreement jobs."""
from backend.agreements.commitments import flag_overdue_commitments
from backend.agreements.reminders import send_review_reminders


async def review_reminders(ctx) -> int:
    return await send_review_reminders()


async def commitments_overdue(ctx) -> int:
    return await flag_overdue_commitments()
