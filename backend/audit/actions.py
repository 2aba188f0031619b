"""Writing and verifying the audit log.

Entries are chained per relationship (or per organization for org-level changes): each entry's
hash covers its content and the previous entry's hash, so rewriting or deleting an entry breaks
every hash after it. `pacto audit verify` recomputes the chains.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID, uuid4

from backend import db
from backend.audit.tables import AuditEntry


def _canonical(entry: dict[str, Any]) -> bytes:
    fields = ("chain", "seq", "relationship", "org", "actor", "actor_email", "action", "target_type",
              "target_id", "target_label", "details", "ip", "user_agent", "created_at", "prev_hash")
    data = {}
    for name in fields:
        value = entry[name]
        if isinstance(value, datetime):
            value = value.astimezone(timezone.utc).isoformat(timespec="microseconds")
        elif isinstance(value, UUID):
            value = str(value)
        elif name == "details" and isinstance(value, str):
            value = json.loads(value)
        data[name] = value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


async def record(action: str, *, actor=None, org_id: UUID | None = None, relationship_id: UUID | None = None,
                 target_type: str = "", target_id: Any = "", target_label: str = "",
                 details: dict[str, Any] | None = None) -> None:
    """Append an entry in the current transaction. `actor` is a web.current.Actor or None
    (a worker or a command acting on its own)."""
    user = getattr(actor, "user", None)
    org_id = org_id or (actor.org.id if actor else db.acting_org())
    chain = f"rel:{relationship_id}" if relationship_id else f"org:{org_id}"
    # Serialise writers of the same chain so that seq and prev_hash stay a line.
    await db.raw("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", chain)
    last = await db.raw_one("SELECT seq, hash FROM audit_entry WHERE chain = $1 ORDER BY seq DESC LIMIT 1", chain)
    entry = {
        "chain": chain,
        "seq": (last["seq"] + 1) if last else 1,
        "relationship": relationship_id,
        "org": org_id,
        "actor": user.id if user else None,
        "actor_email": user.email if user else "",
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id) if target_id else "",
        "target_label": (target_label or "")[:200],
        "details": json.loads(json.dumps(details or {}, default=str)),
        "ip": getattr(actor, "ip", "") or "",
        "user_agent": getattr(actor, "user_agent", "") or "",
        "created_at": datetime.now(timezone.utc),
        "prev_hash": last["hash"] if last else "",
    }
    entry["hash"] = entry_hash(entry)
    await AuditEntry.insert(AuditEntry(id=uuid4(), **entry))


@dataclass
class ChainProblem:
    chain: str
    seq: int
    entry_id: UUID
    reason: str


async def verify(conn) -> tuple[int, list[ChainProblem]]:
    """Recompute every chain (run as the owner, who sees all rows). Returns (entries, problems)."""
    rows = await conn.fetch(
        "SELECT id, chain, seq, relationship, org, actor, actor_email, action, target_type, target_id,"
        " target_label, details, ip, user_agent, created_at, prev_hash, hash"
        " FROM audit_entry ORDER BY chain, seq"
    )
    problems: list[ChainProblem] = []
    previous: dict[str, tuple[int, str]] = {}
    for row in rows:
        entry = dict(row)
        chain = entry["chain"]
        prev_seq, prev_hash = previous.get(chain, (0, ""))
        if entry["seq"] != prev_seq + 1:
            problems.append(ChainProblem(chain, entry["seq"], entry["id"], f"missing entry before seq {entry['seq']}"))
        if entry["prev_hash"] != prev_hash:
            problems.append(ChainProblem(chain, entry["seq"], entry["id"], "previous-hash link broken"))
        if entry_hash(entry) != entry["hash"]:
            problems.append(ChainProblem(chain, entry["seq"], entry["id"], "content does not match its hash"))
        previous[chain] = (entry["seq"], entry["hash"])
    return len(rows), problems
