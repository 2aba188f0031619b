"""Deviations: row-level security, private comments, the indexes the lists page through, and
the one cross-tenant question the deadline job asks (which clocks ran out)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T23:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "deviations row level security"

SQL = r"""
GRANT SELECT, INSERT, UPDATE ON deviation, period_value TO pacto_runtime;
GRANT SELECT, INSERT ON deviation_event, deviation_comment, evidence_file TO pacto_runtime;

ALTER TABLE deviation ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON deviation
  USING (pacto_visible_relationship(relationship)) WITH CHECK (pacto_visible_relationship(relationship));
ALTER TABLE deviation_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON deviation_event
  USING (pacto_visible_relationship(relationship)) WITH CHECK (pacto_visible_relationship(relationship));
ALTER TABLE evidence_file ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON evidence_file
  USING (pacto_visible_relationship(relationship))
  WITH CHECK (pacto_visible_relationship(relationship) AND org = pacto_org());
ALTER TABLE deviation_comment ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON deviation_comment
  USING (pacto_visible_relationship(relationship) AND (visibility = 'shared' OR org = pacto_org()))
  WITH CHECK (pacto_visible_relationship(relationship) AND org = pacto_org());
ALTER TABLE period_value ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON period_value
  USING (pacto_visible_relationship(relationship)) WITH CHECK (pacto_visible_relationship(relationship));

CREATE UNIQUE INDEX deviation_number ON deviation (relationship, number);
CREATE UNIQUE INDEX deviation_source_key ON deviation (relationship, source_key) WHERE source_key IS NOT NULL;
CREATE INDEX deviation_list ON deviation (relationship, occurred_at DESC, id DESC);
CREATE INDEX deviation_by_status ON deviation (relationship, status, occurred_at DESC, id DESC);
CREATE INDEX deviation_by_type ON deviation (relationship, type, occurred_at DESC, id DESC);
CREATE INDEX deviation_by_waiting ON deviation (relationship, waiting_for, occurred_at DESC, id DESC);
CREATE INDEX deviation_by_period ON deviation (relationship, period, occurred_at DESC, id DESC);
CREATE INDEX deviation_clock ON deviation (due_at) WHERE paused_at IS NULL AND status IN ('open', 'escalated');
CREATE INDEX deviation_event_of ON deviation_event (deviation, created_at);
CREATE INDEX deviation_comment_of ON deviation_comment (deviation, created_at);
CREATE INDEX evidence_file_of ON evidence_file (deviation, created_at);
CREATE UNIQUE INDEX period_value_once ON period_value (relationship, period);

-- For the deadline job, which acts for no organization until it picks a deviation: the clocks
-- that ran out, with the organization to act as.
CREATE FUNCTION pacto_deviations_due(p_now timestamptz)
  RETURNS TABLE (deviation_id uuid, client_org uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT d.id, r.client_org FROM deviation d JOIN relationship r ON r.id = d.relationship
    WHERE d.status IN ('open', 'escalated') AND d.paused_at IS NULL AND d.due_at <= p_now
    ORDER BY d.due_at $f$;
REVOKE ALL ON FUNCTION pacto_deviations_due(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_deviations_due(timestamptz) TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
