"""The one Piccolo app: its tables are gathered from every backend/*/tables.py.

A table missing from this list makes an auto migration drop it, so check each new
migration's diff before committing it.
"""
from pathlib import Path

from piccolo.conf.apps import AppConfig

from backend.agreements.tables import (
    AgreementComment,
    AgreementSignature,
    AgreementVersion,
    CommitmentExecution,
    Requirement,
)
from backend.audit.tables import AuditEntry
from backend.disputes.tables import Deviation, DeviationComment, DeviationEvent, EvidenceFile, PeriodValue
from backend.notifications.tables import Notification, ReminderSent
from backend.operations.tables import (
    CsvMapping,
    Delivery,
    Forecast,
    ImportJob,
    Invoice,
    KpiValue,
    OrderLine,
    PurchaseOrder,
)
from backend.pricing.tables import GainReport, ImprovementReport, PriceStepDecision, ReportFile, VolumeWarning
from backend.relationships.tables import Contact, Relationship, RelationshipMember
from backend.reviews.tables import Review, ReviewAction
from backend.sso.tables import SsoConnection, SsoDomain, SsoIdentity
from backend.tenancy.tables import ApiToken, Invitation, Organization, User

APP_CONFIG = AppConfig(
    app_name="pacto",
    migrations_folder_path=str(Path(__file__).resolve().parent.parent / "migrations"),
    table_classes=[Organization, User, Invitation, Relationship, RelationshipMember, Contact, AuditEntry,
                   SsoConnection, SsoDomain, SsoIdentity, AgreementVersion, AgreementSignature,
                   Notification, ReminderSent, Requirement, AgreementComment,
                   CommitmentExecution, Deviation, DeviationEvent, DeviationComment, EvidenceFile, PeriodValue,
                   PurchaseOrder, OrderLine, Delivery, Invoice, Forecast, KpiValue, CsvMapping, ImportJob,
                   ApiToken, PriceStepDecision, ImprovementReport, GainReport, VolumeWarning, Review,
                   ReviewAction, ReportFile],
    migration_dependencies=[],
    commands=[],
)
