"""A delivery belongs to its order line's relationship, and the database says so: one foreign key
on (relationship, order_line) replaces the two single-column ones. A delivery can no longer name
one relationship and another relationship's line, and each ingested row pays one key check
instead of two."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "delivery line of its own relationship"

SQL = """
CREATE UNIQUE INDEX order_line_of_relationship ON order_line (relationship, id);
ALTER TABLE delivery DROP CONSTRAINT delivery_relationship_fkey,
                     DROP CONSTRAINT delivery_order_line_fkey;
ALTER TABLE delivery ADD CONSTRAINT delivery_line_of_relationship FOREIGN KEY (relationship, order_line)
  REFERENCES order_line (relationship, id) ON UPDATE CASCADE ON DELETE CASCADE;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
