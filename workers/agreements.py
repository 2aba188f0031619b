"""Scheduled agreement jobs."""
from backend.agreements.reminders import send_review_reminders


async def review_reminders(ctx) -> int:
    return await send_review_reminders()
