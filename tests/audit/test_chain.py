"""The audit log: every change leaves an entry; a rewritten entry is detected."""
import subprocess
import sys

from backend.audit.actions import verify


async def test_every_demo_change_is_chained_and_verifies(demo, owner):
    count, problems = await verify(owner)
    assert count > 10 and problems == []
    chains = await owner.fetch("SELECT chain, max(seq) AS n, count(*) AS c FROM audit_entry GROUP BY chain")
    assert all(row["n"] == row["c"] for row in chains)  # seq has no gaps


async def test_a_rewritten_entry_is_detected(demo, owner):
    # Someone with direct database access edits history (the trigger stops everyone else).
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        await owner.execute("UPDATE audit_entry SET target_label = 'Someone else'"
                            " WHERE action = 'contact.added' AND target_label = 'Muelle de recepción'")
    count, problems = await verify(owner)
    assert [p.reason for p in problems] == ["content does not match its hash"]


async def test_a_deleted_entry_breaks_the_chain(demo, owner):
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        await owner.execute("DELETE FROM audit_entry WHERE chain LIKE 'rel:%' AND seq = 2")
    _, problems = await verify(owner)
    assert problems and {"missing entry before seq 3", "previous-hash link broken"} <= {p.reason for p in problems}


async def test_even_the_owner_cannot_update_without_disabling_the_trigger(demo, owner):
    import asyncpg
    import pytest

    with pytest.raises(asyncpg.exceptions.RaiseError, match="append-only"):
        await owner.execute("UPDATE audit_entry SET action = 'x'")


async def test_pacto_audit_verify_command(demo, database, owner):
    env = {"DATABASE_URL": database.admin_url, "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "backend.cli", "audit", "verify"], env=env, capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "0 problem(s)" in ok.stdout
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        await owner.execute("UPDATE audit_entry SET details = '{\"purpose\": \"forged\"}'"
                            " WHERE target_label = 'Olga Jansen'")
    broken = subprocess.run([sys.executable, "-m", "backend.cli", "audit", "verify"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert broken.returncode == 1
    assert "BROKEN rel:" in broken.stdout and "content does not match its hash" in broken.stdout
