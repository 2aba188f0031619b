"""Deviations and their dispute: one row per deviation carries its workflow state, its clock
and its penalty; events, comments and evidence files sit beside it."""
from piccolo.columns import JSONB, UUID, Date, ForeignKey, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.agreements.tables import AgreementVersion
from backend.relationships.tables import Relationship
from backend.tenancy.tables import Organization, User


class Deviation(Table, tablename="deviation"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    number = Integer()  # D-1, D-2… per relationship, for people; URLs use the id
    type = Varchar(length=32)
    subject_kind = Varchar(length=16, default="")  # commitment | kpi | order_line | ""
    subject_ref = Varchar(length=100, default="")  # the commitment/KPI row id, or the order line reference
    subject_label = Varchar(length=300, default="")
    occurred_at = Timestamptz()
    period = Varchar(length=7)  # YYYY-MM of occurred_at in the relationship's time zone
    severity = Varchar(length=8, default="medium")
    description = Text(default="")
    # the figures a penalty is computed from
    value = Numeric(digits=(14, 2), null=True, default=None)  # line value, or the period's invoiced value
    days_late = Integer(null=True, default=None)
    shortfall_points = Numeric(digits=(20, 10), null=True, default=None)
    # the workflow (DESIGN.md section 4)
    status = Varchar(length=24)
    level = Integer(default=0)  # escalation level while escalated
    waiting_for = Varchar(length=8, default="")  # client | supplier | both | admin | ""
    due_at = Timestamptz(null=True, default=None)
    paused_at = Timestamptz(null=True, default=None)  # information requested: the clock stands still
    paused_seconds = Integer(default=0)
    info_requested_by = Varchar(length=8, default="")
    proposal = JSONB(null=True, default=None)  # a settlement or an escalated outcome awaiting the other side
    outcome = Varchar(length=16, default="")
    outcome_amount = Numeric(digits=(14, 2), null=True, default=None)
    kpi_exclusion = Varchar(length=500, default="")  # agreed: the order line leaves the KPIs, for this reason
    first_response_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    # the penalty, from the version in force when the deviation occurred
    agreement_version = ForeignKey(AgreementVersion, null=True, default=None, on_delete=OnDelete.restrict)
    penalty_rule = Varchar(length=32, default="")
    penalty_status = Varchar(length=12, default="none")  # none | pending | confirmed | cancelled
    penalty_amount = Numeric(digits=(14, 2), null=True, default=None)  # computed by the rule
    penalty_final = Numeric(digits=(14, 2), null=True, default=None)  # what is charged before the period cap
    penalty_steps = JSONB(null=True, default=None)
    currency = Varchar(length=3, default="EUR")
    source = Varchar(length=16, default="person")  # person | worker
    source_key = Varchar(length=120, null=True, default=None)  # a worker's proposal is made once per key
    logged_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class DeviationEvent(Table, tablename="deviation_event"):
    """The history both sides read: who moved the dispute, from what to what, with what note."""

    id = UUID(primary_key=True)
    deviation = ForeignKey(Deviation, null=False, on_delete=OnDelete.cascade)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    action = Varchar(length=32)
    side = Varchar(length=8, default="")  # client | supplier | "" (the worker)
    actor = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    actor_name = Varchar(length=200, default="")
    from_status = Varchar(length=24, default="")
    to_status = Varchar(length=24, default="")
    note = Text(default="")
    amount = Numeric(digits=(14, 2), null=True, default=None)
    created_at = Timestamptz()


class DeviationComment(Table, tablename="deviation_comment"):
    id = UUID(primary_key=True)
    deviation = ForeignKey(Deviation, null=False, on_delete=OnDelete.cascade)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    author = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200)
    body = Text()
    visibility = Varchar(length=8, default="shared")  # shared | private
    created_at = Timestamptz()


class EvidenceFile(Table, tablename="evidence_file"):
    id = UUID(primary_key=True)
    deviation = ForeignKey(Deviation, null=False, on_delete=OnDelete.cascade)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    uploaded_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    filename = Varchar(length=255)
    kind = Varchar(length=8)
    media_type = Varchar(length=120)
    size = Integer()
    sha256 = Varchar(length=64)
    created_at = Timestamptz()


class PeriodValue(Table, tablename="period_value"):
    """The invoiced value of a relationship's month: the base of the period cap and of service
    credits. Entered by the client until invoices are ingested."""

    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    period = Varchar(length=7)
    invoiced_value = Numeric(digits=(14, 2))
    source = Varchar(length=16, default="manual")
    updated_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    updated_at = Timestamptz()
    version = Integer(default=1)
