"""Each operational row remembers the organization that sent it (`source_org`): sending the same
external id again updates the row only for that organization, so neither side of a relationship
can rewrite the rows the other side's ERP sent (a supplier could otherwise move the client's
promised dates, the inputs of its own on-time figures). Rows stored before have none: the next
organization to send them takes them over.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T07:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "operational rows keep the organization that sent them"

SQL = """
ALTER TABLE purchase_order ADD COLUMN source_org uuid;
ALTER TABLE order_line ADD COLUMN source_org uuid;
ALTER TABLE delivery ADD COLUMN source_org uuid;
ALTER TABLE invoice ADD COLUMN source_org uuid;
ALTER TABLE forecast ADD COLUMN source_org uuid;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
