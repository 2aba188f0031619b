"""Creating the database, applying migrations and preparing the application's role.

Migrations run as the owner (DATABASE_URL). The web processes and workers connect as
APP_DATABASE_URL: a login role that only has the `pacto_runtime` privileges, so row-level
security applies to everything they do.
"""
from __future__ import annotations

import asyncpg

from backend import db
from backend.config import Settings
from backend.runtime import APP_ROLE, database_name, with_credentials


def app_url(settings: Settings, admin_url: str) -> str:
    if settings.app_database_url:
        return settings.app_database_url
    return with_credentials(admin_url, user=APP_ROLE, password=settings.app_db_password)


async def create_database(admin_url: str) -> None:
    """Create the database named in admin_url when it does not exist (embedded servers)."""
    name = database_name(admin_url)
    conn = await asyncpg.connect(with_credentials(admin_url, database="postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def migrate(admin_url: str) -> list[str]:
    """Apply every pending migration; returns the ids applied."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    await db.configure(admin_url, pool=False)
    before = {m["name"] for m in await _applied(Migration)}
    result = await run_forwards(app_name="pacto", migration_id="all", fake=False)
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
    after = [m["name"] for m in await _applied(Migration)]
    return [name for name in after if name not in before]


async def _applied(migration_table) -> list[dict]:
    if not await migration_table.table_exists():
        return []
    return await migration_table.select(migration_table.name).order_by(migration_table.id)


async def ensure_app_role(admin_url: str, role_url: str) -> None:
    """Create the login role the application uses (when this server lets us) and grant it
    membership of pacto_runtime. It is never a superuser and never bypasses RLS."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(role_url)
    user = unquote(parts.username or APP_ROLE)
    password = unquote(parts.password or "")
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", user)
        quoted = '"' + user.replace('"', '""') + '"'
        if not exists:
            await conn.execute(
                f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                + (" PASSWORD " + _literal(password) if password else "")
            )
        await conn.execute(f"GRANT pacto_runtime TO {quoted}")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{database_name(admin_url)}" TO {quoted}')
    finally:
        await conn.close()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def check_app_role() -> None:
    """Refuse to serve as a role that would skip row-level security."""
    async with db.DB.transaction():
        row = await db.raw_one(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
    if row is None or row["rolsuper"] or row["rolbypassrls"]:
        raise RuntimeError(
            "The application must connect as a role that is neither a superuser nor BYPASSRLS "
            "(set APP_DATABASE_URL)."
        )
