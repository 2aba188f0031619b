"""The in-app inbox, and the record of reminders already sent (so each goes out once)."""
from piccolo.columns import UUID, Date, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.relationships.tables import Relationship
from backend.tenancy.tables import Organization, User


class Notification(Table, tablename="notification"):
    id = UUID(primary_key=True)
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.cascade)  # the recipient's organization
    user = ForeignKey(User, null=False, index=True, on_delete=OnDelete.cascade)
    relationship = ForeignKey(Relationship, null=True, default=None, on_delete=OnDelete.cascade)
    kind = Varchar(length=40)
    title = Varchar(length=300)
    body = Text(default="")
    link = Varchar(length=300, default="")
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class ReminderSent(Table, tablename="reminder_sent"):
    """One row per (relationship, kind, due date): the unique key makes a reminder go out once,
    however many workers look at the same due date."""

    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=40)
    due_date = Date()
    sent_at = Timestamptz()
