"""Service agreements: numbered versions of one document per relationship, and their signatures."""
from piccolo.columns import JSONB, UUID, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.relationships.tables import Relationship
from backend.tenancy.tables import Organization, User

STATUSES = ("draft", "proposed", "signed")


class AgreementVersion(Table, tablename="agreement_version"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, index=True, on_delete=OnDelete.restrict)
    number = Integer()
    status = Varchar(length=16, default="draft")
    effective_date = Date(null=True, default=None)
    content = JSONB(default={})  # the sections, see sections.py
    content_hash = Varchar(length=64, default="")  # set when proposed; signatures repeat it
    based_on = UUID(null=True, default=None)  # the signed version an amendment started from
    created_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    proposed_by_org = ForeignKey(Organization, null=True, default=None, on_delete=OnDelete.restrict)
    proposed_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)  # optimistic lock
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AgreementSignature(Table, tablename="agreement_signature"):
    id = UUID(primary_key=True)
    agreement_version = ForeignKey(AgreementVersion, null=False, index=True, on_delete=OnDelete.restrict)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    side = Varchar(length=8)
    user = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    signer_name = Varchar(length=200)
    signer_email = Varchar(length=254)
    content_hash = Varchar(length=64)
    signed_at = Timestamptz()


class Requirement(Table, tablename="requirement"):
    """The client's value proposal, one requirement a row, and the supplier's answer to it."""

    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, index=True, on_delete=OnDelete.restrict)
    text = Varchar(length=2000)
    created_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    answer = Varchar(length=16, null=True, default=None)  # complies | conditions | cannot
    answer_text = Varchar(length=2000, default="")  # how, or at what implication
    answered_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    answered_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz()


class AgreementComment(Table, tablename="agreement_comment"):
    """A comment beside a section of a version: shared with the other side, or private."""

    id = UUID(primary_key=True)
    agreement_version = ForeignKey(AgreementVersion, null=False, index=True, on_delete=OnDelete.restrict)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    section = Varchar(length=40)
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    author = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200)
    body = Varchar(length=4000)
    visibility = Varchar(length=8, default="shared")  # shared | private
    created_at = Timestamptz()


class CommitmentExecution(Table, tablename="commitment_execution"):
    """The owner's record that one occurrence of a commitment was carried out, with its evidence."""

    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, index=True, on_delete=OnDelete.restrict)
    agreement_version = ForeignKey(AgreementVersion, null=False, on_delete=OnDelete.restrict)
    commitment = Varchar(length=32)  # the row id inside the version's "commitments" section
    due_date = Date()
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    recorded_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    note = Varchar(length=2000, default="")
    evidence = Varchar(length=500, default="")
    executed_on = Date()
    created_at = Timestamptz()
