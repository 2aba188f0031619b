"""The price schedule's records: the year-end decision on each conditional step, and the
improvement commitments reported with evidence and confirmed by the other side."""
from piccolo.columns import JSONB, UUID, ForeignKey, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.agreements.tables import AgreementVersion
from backend.relationships.tables import Relationship
from backend.tenancy.tables import Organization, User


class PriceStepDecision(Table, tablename="price_step_decision"):
    """Year k's step as the year-end job applied it, once (unique per relationship and year)."""
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    year = Integer()
    version = ForeignKey(AgreementVersion, null=False, on_delete=OnDelete.restrict)  # the rule applied
    outcome = Varchar(length=12)  # applied | withheld | reduced
    written_pct = Numeric(digits=(9, 4))
    applied_pct = Numeric(digits=(9, 4))
    commitments = JSONB(default=[])  # year k−1's commitments as evaluated: figures and status
    decided_at = Timestamptz()


class ImprovementReport(Table, tablename="improvement_report"):
    """A commitment measured by evidence: one side reports it, the other confirms or rejects it."""
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    year = Integer()
    commitment = Varchar(length=40)  # the improvement row's id in the agreement
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)  # the reporting side
    reported_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    achieved = Numeric(digits=(14, 4), null=True, default=None)
    note = Text(default="")
    evidence = Varchar(length=300, default="")  # where the evidence is: document, reference
    status = Varchar(length=12, default="reported")  # reported | confirmed | rejected
    decided_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    decision_note = Text(default="")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class GainReport(Table, tablename="gain_report"):
    """An efficiency gain the supplier reports with evidence; once the client confirms it, the
    agreed split gives each side its share."""
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    year = Integer()
    description = Text()
    amount = Numeric(digits=(14, 2))
    evidence = Varchar(length=300)
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    reported_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    status = Varchar(length=12, default="reported")  # reported | confirmed | rejected
    supplier_share = Numeric(digits=(14, 2), null=True, default=None)  # set on confirmation, by the rule then
    client_share = Numeric(digits=(14, 2), null=True, default=None)
    decided_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    decision_note = Text(default="")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class VolumeWarning(Table, tablename="volume_warning"):
    """An early warning sent once: an item's run-rate projection below what the year assumed."""
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    year = Integer()
    item_code = Varchar(length=100)
    kind = Varchar(length=12)  # commitment | tier
    actual = Numeric(digits=(16, 3))
    projected = Numeric(digits=(16, 3))
    threshold = Numeric(digits=(16, 3))
    created_at = Timestamptz()


class ReportFile(Table, tablename="report_file"):
    """A file attached as evidence to an improvement report or a gain report, kept in the evidence store."""
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    report_kind = Varchar(length=12)  # improvement | gain
    report_id = UUID()
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    uploaded_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    filename = Varchar(length=255)
    kind = Varchar(length=8)
    media_type = Varchar(length=120)
    size = Integer()
    sha256 = Varchar(length=64)
    created_at = Timestamptz()
