"""Quarterly business reviews and their action items: both sides of the relationship read and
write them; one review per date of the cadence."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T04:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reviews row level security"

MINE = ("relationship IN (SELECT pacto_r.id FROM relationship pacto_r"
        " WHERE pacto_r.client_org = pacto_org() OR pacto_r.supplier_org = pacto_org())")

SQL = f"""
GRANT SELECT, INSERT, UPDATE ON review TO pacto_runtime;
ALTER TABLE review ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON review USING ({MINE}) WITH CHECK ({MINE});
CREATE UNIQUE INDEX review_once ON review (relationship, scheduled_for);

GRANT SELECT, INSERT, UPDATE ON review_action TO pacto_runtime;
ALTER TABLE review_action ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON review_action USING ({MINE}) WITH CHECK ({MINE});
CREATE INDEX review_action_of ON review_action (review, created_at);
CREATE INDEX review_action_due ON review_action (due_date) WHERE status = 'open';

-- For the reminders job, which acts for no organization until it picks a relationship.
CREATE FUNCTION pacto_review_actions_due(p_until date)
  RETURNS TABLE (action_id uuid, client_org uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT a.id, r.client_org FROM review_action a JOIN relationship r ON r.id = a.relationship
    WHERE a.status = 'open' AND a.due_date <= p_until $f$;
REVOKE ALL ON FUNCTION pacto_review_actions_due(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_review_actions_due(date) TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
