"""Agreements: row-level security, one number per version, and the database's own refusal to
change a version once it has left the draft state (a signed version can never change)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T22:23:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agreements row level security and immutability"

SQL = r"""
GRANT SELECT, INSERT, UPDATE ON agreement_version TO pacto_runtime;
GRANT SELECT, INSERT ON agreement_signature TO pacto_runtime;

ALTER TABLE agreement_version ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON agreement_version
  USING (pacto_visible_relationship(relationship)) WITH CHECK (pacto_visible_relationship(relationship));
ALTER TABLE agreement_signature ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON agreement_signature
  USING (pacto_visible_relationship(relationship))
  WITH CHECK (pacto_visible_relationship(relationship) AND org = pacto_org());

CREATE UNIQUE INDEX agreement_version_number ON agreement_version (relationship, number);
CREATE UNIQUE INDEX agreement_signature_side ON agreement_signature (agreement_version, side);

-- Drafts change freely. A proposed version may only go back to draft (changes requested) or
-- become signed, with its content untouched; a signed version never changes, and nothing is deleted.
CREATE FUNCTION pacto_agreement_version_guard() RETURNS trigger LANGUAGE plpgsql AS
$f$ BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'agreement versions are never deleted';
  END IF;
  IF OLD.status = 'signed' THEN
    RAISE EXCEPTION 'a signed agreement version cannot change';
  END IF;
  IF OLD.status = 'proposed' AND (NEW.content IS DISTINCT FROM OLD.content
      OR NEW.effective_date IS DISTINCT FROM OLD.effective_date
      OR (NEW.status = 'signed' AND NEW.content_hash IS DISTINCT FROM OLD.content_hash)) THEN
    RAISE EXCEPTION 'a proposed agreement version cannot be edited';
  END IF;
  RETURN NEW;
END $f$;
CREATE TRIGGER agreement_version_guard BEFORE UPDATE OR DELETE ON agreement_version
  FOR EACH ROW EXECUTE FUNCTION pacto_agreement_version_guard();

CREATE FUNCTION pacto_append_only() RETURNS trigger LANGUAGE plpgsql AS
$f$ BEGIN RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME; END $f$;
CREATE TRIGGER agreement_signature_append_only BEFORE UPDATE OR DELETE ON agreement_signature
  FOR EACH ROW EXECUTE FUNCTION pacto_append_only();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
