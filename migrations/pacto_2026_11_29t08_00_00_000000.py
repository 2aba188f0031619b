"""Order lines by delivery location (only those that name one), for receiving-window adherence:
the KPI reads a location's lines of a month without scanning the month's other lines.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order lines by delivery location"

SQL = ("CREATE INDEX order_line_location ON order_line (relationship, lower(trim(location)), promised_date)"
       " WHERE location <> '';")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
