"""Scheduled sign-in jobs."""
from backend.web import sessions


async def expired_sessions(ctx) -> int:
    return await sessions.delete_expired()
