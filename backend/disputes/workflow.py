"""The controversy workflow of DESIGN.md section 4 as data: which action moves which state, who
may take it, whose move it is next, and how long the clock runs. No database here.

Client = the client side's responsable or manager; supplier = the supplier side's members with a
role above viewer; an organization admin acts for its side. Arbitration outcomes are recorded
by an admin of either side.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from backend.disputes.deadlines import deadline
from backend.web.i18n import lazy

CLIENT, SUPPLIER = "client", "supplier"
CLIENT_ROLES = ("responsable", "manager")
SUPPLIER_ROLES = ("responsable", "manager", "contributor")

STATUSES = {
    "proposed": lazy("Proposed, to confirm"), "open": lazy("Open"), "contested": lazy("Contested"),
    "settlement_proposed": lazy("Settlement proposed"), "escalated": lazy("Escalated"),
    "arbitration": lazy("In arbitration"), "accepted": lazy("Accepted"), "upheld": lazy("Upheld"),
    "settled": lazy("Settled"), "waived": lazy("Waived"), "withdrawn": lazy("Withdrawn"),
    "arbitrated": lazy("Arbitrated"), "dismissed": lazy("Dismissed"),
}
FINAL = frozenset({"accepted", "upheld", "settled", "waived", "withdrawn", "arbitrated", "dismissed"})
ACTIVE = frozenset(STATUSES) - FINAL - {"proposed"}
SEVERITIES = {"low": lazy("Low"), "medium": lazy("Medium"), "high": lazy("High"), "critical": lazy("Critical")}
OUTCOMES = {"upheld": lazy("Upheld (the computed penalty applies)"), "settled": lazy("Settled at an amount"),
            "waived": lazy("Waived (no penalty)")}

# action → (states it starts from, who may take it)
#   client / supplier: that side; other: the side that did not make the pending proposal;
#   either: both sides; admin: an organization admin of either side; answerer: the side asked.
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "confirm": (frozenset({"proposed"}), CLIENT),
    "dismiss": (frozenset({"proposed"}), CLIENT),
    "accept": (frozenset({"open"}), SUPPLIER),
    "contest": (frozenset({"open"}), SUPPLIER),
    "withdraw": (frozenset({"open", "contested"}), CLIENT),
    "uphold": (frozenset({"contested"}), CLIENT),
    "propose_settlement": (frozenset({"contested"}), CLIENT),
    "accept_settlement": (frozenset({"settlement_proposed"}), "other"),
    "reject_settlement": (frozenset({"settlement_proposed"}), "other"),
    "propose_outcome": (frozenset({"escalated"}), "either"),
    "confirm_outcome": (frozenset({"escalated"}), "other"),
    "reject_outcome": (frozenset({"escalated"}), "other"),
    "request_info": (frozenset({"open", "contested"}), "mover"),
    "answer_info": (ACTIVE, "answerer"),
    "record_arbitration": (frozenset({"arbitration"}), "admin"),
}
ACTION_LABELS = {
    "log": lazy("logged the deviation"), "propose": lazy("proposed the deviation from the data"),
    "confirm": lazy("confirmed the deviation"), "dismiss": lazy("dismissed the proposed deviation"),
    "accept": lazy("accepted the deviation"), "contest": lazy("contested the deviation"),
    "withdraw": lazy("withdrew the deviation"), "uphold": lazy("upheld the deviation and escalated it"),
    "propose_settlement": lazy("proposed a settlement"), "accept_settlement": lazy("accepted the settlement"),
    "reject_settlement": lazy("rejected the settlement"), "propose_outcome": lazy("proposed an outcome"),
    "confirm_outcome": lazy("confirmed the proposed outcome"), "reject_outcome": lazy("rejected the proposed outcome"),
    "request_info": lazy("requested information"), "answer_info": lazy("answered the request for information"),
    "record_arbitration": lazy("recorded the arbitration outcome"),
    "deemed_accepted": lazy("deemed accepted: the response time passed"),
    "escalate": lazy("escalated: the time allowed passed"),
    "to_arbitration": lazy("sent to arbitration: the last level's time passed"),
}
BUTTONS = {
    "confirm": lazy("Confirm"), "dismiss": lazy("Dismiss"), "accept": lazy("Accept"), "contest": lazy("Contest"),
    "withdraw": lazy("Withdraw"), "uphold": lazy("Uphold and escalate"),
    "propose_settlement": lazy("Propose a settlement"), "accept_settlement": lazy("Accept the settlement"),
    "reject_settlement": lazy("Reject the settlement"), "propose_outcome": lazy("Propose an outcome"),
    "confirm_outcome": lazy("Confirm the outcome"), "reject_outcome": lazy("Reject the outcome"),
    "request_info": lazy("Request information"), "answer_info": lazy("Answer"),
    "record_arbitration": lazy("Record the arbitration outcome"),
}
DEFAULT_TERMS = {"supplier_response_days": 5, "client_review_days": 5, "on_no_response": "escalate"}


def other(side: str) -> str:
    return SUPPLIER if side == CLIENT else CLIENT


@dataclass(frozen=True)
class Who:
    side: str  # the actor's side
    role: str | None  # relationship role, None for an admin who is not a member
    is_admin: bool

    def acts_for(self, side: str) -> bool:
        if self.side != side:
            return False
        if self.is_admin:
            return True
        return self.role in (CLIENT_ROLES if side == CLIENT else SUPPLIER_ROLES)


@dataclass(frozen=True)
class State:
    status: str
    level: int = 0
    proposal_by: str | None = None  # side that made the pending settlement/outcome proposal
    paused: bool = False
    info_requested_by: str = ""


def mover(state: State) -> str:
    """Whose move it is: client | supplier | both | admin | "" (final)."""
    if state.status in FINAL:
        return ""
    if state.paused:
        return other(state.info_requested_by)
    if state.status in ("proposed", "contested"):
        return CLIENT
    if state.status == "open":
        return SUPPLIER
    if state.status in ("settlement_proposed", "escalated"):
        return other(state.proposal_by) if state.proposal_by else "both"
    if state.status == "arbitration":
        return "admin"
    return ""


def allowed(action: str, state: State, who: Who) -> bool:
    """May `who` take `action` now? (The state check and the person check in one place.)"""
    if action not in ACTIONS:
        return False
    starts, rule = ACTIONS[action]
    if state.status not in starts:
        return False
    if action == "answer_info":
        return state.paused and who.acts_for(other(state.info_requested_by))
    if state.paused:  # while waiting for information only the answer moves the dispute
        return False
    if rule in (CLIENT, SUPPLIER):
        return who.acts_for(rule)
    if rule == "other":
        return state.proposal_by is not None and who.acts_for(other(state.proposal_by))
    if rule == "either":
        return state.proposal_by is None and (who.acts_for(CLIENT) or who.acts_for(SUPPLIER))
    if rule == "mover":
        return who.acts_for(mover(state))
    if rule == "admin":
        return who.is_admin
    return False


def available(state: State, who: Who) -> list[str]:
    return [action for action in ACTIONS if allowed(action, state, who)]


def clock_days(status: str, level: int, terms: dict, ladder: list[dict], proposal_by: str | None) -> int | None:
    """Business days the new state's clock runs, or None when no clock runs."""
    terms = DEFAULT_TERMS | {k: v for k, v in (terms or {}).items() if v not in (None, "")}
    if status == "open":
        return int(terms["supplier_response_days"])
    if status == "contested":
        return int(terms["client_review_days"])
    if status == "settlement_proposed":
        responder = other(proposal_by or CLIENT)
        return int(terms["supplier_response_days"] if responder == SUPPLIER else terms["client_review_days"])
    if status == "escalated":
        step = next((row for row in ladder if int(row["level"]) == level), None)
        return int(step["days"]) if step else None
    return None


def due_at(now: datetime, days: int | None, tz: str, holidays: set[date]) -> datetime | None:
    return None if days is None else deadline(now, days, tz, holidays)


def next_level(level: int, ladder: list[dict]) -> int | None:
    """The ladder's next level above `level`, or None past the last one (arbitration)."""
    higher = sorted(int(row["level"]) for row in ladder if int(row["level"]) > level)
    return higher[0] if higher else None


def resume(due: datetime | None, paused_at: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The clock after a pause: the due moment moves by the time paused. (new due, seconds paused)"""
    paused = max(now - paused_at, timedelta(0))
    return (due + paused if due else None), int(paused.total_seconds())
