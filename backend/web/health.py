"""Liveness and readiness probes."""
from __future__ import annotations

from litestar import Request, Response, get

from backend import db


@get("/healthz", exclude_from_csrf=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz")
async def readyz(request: Request) -> Response:
    checks = {}
    try:
        async with db.DB.transaction():
            await db.raw("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # report, do not raise: this page exists to say what is wrong
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await request.app.state.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return Response(content={"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503)


routes = [healthz, readyz]
