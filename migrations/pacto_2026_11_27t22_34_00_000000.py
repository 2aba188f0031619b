"""Notifications and reminders: row-level security, once-per-due-date uniqueness, and the one
cross-tenant question a scheduled job asks (which relationships have a signed agreement)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T22:34:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications row level security"

SQL = r"""
GRANT SELECT, INSERT, UPDATE ON notification TO pacto_runtime;
GRANT SELECT, INSERT ON reminder_sent TO pacto_runtime;

ALTER TABLE notification ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON notification USING (org = pacto_org())
  WITH CHECK (org = pacto_org() OR (relationship IS NOT NULL AND pacto_visible_relationship(relationship)
              AND EXISTS (SELECT 1 FROM relationship r WHERE r.id = relationship
                          AND org IN (r.client_org, r.supplier_org))));
ALTER TABLE reminder_sent ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON reminder_sent
  USING (pacto_visible_relationship(relationship)) WITH CHECK (pacto_visible_relationship(relationship));

CREATE UNIQUE INDEX reminder_sent_once ON reminder_sent (relationship, kind, due_date);
CREATE INDEX notification_unread ON notification ("user", created_at DESC) WHERE read_at IS NULL;

-- For scheduled jobs, which act for no organization until they pick a relationship: the
-- relationships that have a signed agreement, with the organization to act as.
CREATE FUNCTION pacto_relationships_with_signed_agreement()
  RETURNS TABLE (relationship_id uuid, client_org uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT DISTINCT r.id, r.client_org FROM relationship r
    JOIN agreement_version v ON v.relationship = r.id AND v.status = 'signed'
    WHERE r.status = 'active' $f$;
REVOKE ALL ON FUNCTION pacto_relationships_with_signed_agreement() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_relationships_with_signed_agreement() TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
