"""A KPI shortfall keeps ten decimals of its percentage points: the service credit is computed from
the exact shortfall (600/7 % against 96 % is 10.2857142857 points) and rounded only as money; four
decimals moved a credit of 10,285.71 to 10,285.70.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "shortfall points with ten decimals"

SQL = "ALTER TABLE deviation ALTER COLUMN shortfall_points TYPE numeric(20, 10);"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
