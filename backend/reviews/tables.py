"""Quarterly business reviews: one row per review held on the agreement's cadence, with its pack
(a snapshot of the quarter's data, frozen when generated), attendees, decisions and action items."""
from piccolo.columns import JSONB, UUID, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.relationships.tables import Relationship
from backend.tenancy.tables import User


class Review(Table, tablename="review"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    scheduled_for = Date()  # a due date of the cadence
    quarter_start = Date()  # the quarter the pack covers (the one before the review)
    status = Varchar(length=12, default="planned")  # planned | held
    pack = JSONB(default={})
    pack_generated_at = Timestamptz(null=True, default=None)
    attendees = Text(default="")  # one per line: name, company
    decisions = Text(default="")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ReviewAction(Table, tablename="review_action"):
    id = UUID(primary_key=True)
    review = ForeignKey(Review, null=False, on_delete=OnDelete.cascade)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    text = Text()
    owner = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    due_date = Date()
    status = Varchar(length=8, default="open")  # open | done
    reminded_on = Date(null=True, default=None)  # the owner's last reminder (once a day at most)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
