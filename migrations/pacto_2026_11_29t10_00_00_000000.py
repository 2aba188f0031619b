"""Notifications by recipient, newest first (the inbox's pages); the partial index beside it
holds only the unread ones, which the header counts."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications by recipient"

SQL = 'CREATE INDEX notification_inbox ON notification ("user", created_at DESC, id DESC);'


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
