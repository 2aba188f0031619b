"""The tenant transaction: it names the acting organization for its own duration only, commits
or rolls back, and hands its connection back clean (the next user of the pooled connection sees
no setting, lock or cursor of the previous one), whichever way it ended."""
import asyncpg
import pytest

from backend import db


async def _dirty_the_session() -> int:
    """Leave session-level state behind: a setting, an advisory lock, an open cursor."""
    await db.raw("SELECT set_config('pacto.probe', 'left over', false)")
    await db.raw("SELECT pg_advisory_lock(4242)")
    await db.raw("DECLARE leftover CURSOR WITH HOLD FOR SELECT 1")
    return (await db.raw_one("SELECT pg_backend_pid() AS pid"))["pid"]


async def _session_state() -> dict:
    return dict(await db.raw_one(
        "SELECT pg_backend_pid() AS pid, current_setting('app.org_id', true) AS org,"
        " coalesce(current_setting('pacto.probe', true), '') AS probe,"
        " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks,"
        " (SELECT count(*) FROM pg_cursors WHERE name = 'leftover') AS cursors"))


async def test_a_committed_transaction_leaves_a_clean_connection(demo, one_connection, owner):
    org = demo["orgs"]["Lácteos del Valle"]
    async with db.tenant_transaction(org):
        assert (await db.raw_one("SELECT current_setting('app.org_id') AS org"))["org"] == str(org)
        assert [r["name"] for r in await db.raw("SELECT name FROM organization WHERE id = $1", org)] == [
            "Lácteos del Valle"]
        await db.raw("UPDATE organization SET name = 'Lácteos del Valle SA' WHERE id = $1", org)
        pid = await _dirty_the_session()
    assert await owner.fetchval("SELECT name FROM organization WHERE id = $1", org) == "Lácteos del Valle SA"
    async with db.tenant_transaction(None):
        state = await _session_state()
        assert await db.raw("SELECT name FROM organization") == []  # no organization named: no rows
    assert state == {"pid": pid, "org": "", "probe": "", "locks": 0, "cursors": 0}


async def test_a_rolled_back_transaction_keeps_nothing_and_leaves_a_clean_connection(demo, one_connection, owner):
    org = demo["orgs"]["Envases Norte"]
    async with db.tenant_transaction(org) as tx:
        await db.raw("UPDATE organization SET name = 'renamed' WHERE id = $1", org)
        pid = await _dirty_the_session()
        await tx.rollback()
    with pytest.raises(RuntimeError):
        async with db.tenant_transaction(org):
            await db.raw("UPDATE organization SET name = 'renamed' WHERE id = $1", org)
            pid = await _dirty_the_session()
            raise RuntimeError("the handler failed")
    assert await owner.fetchval("SELECT name FROM organization WHERE id = $1", org) == "Envases Norte"
    async with db.tenant_transaction(None):
        state = await _session_state()
    assert state == {"pid": pid, "org": "", "probe": "", "locks": 0, "cursors": 0}


async def test_a_failed_commit_rolls_back_and_the_connection_is_reset(demo, one_connection, owner):
    org = demo["orgs"]["Envases Norte"]
    with pytest.raises(asyncpg.UniqueViolationError):
        async with db.tenant_transaction(org):
            await db.raw("CREATE TEMP TABLE probe (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
            await db.raw("INSERT INTO probe VALUES (1), (1)")  # refused only at COMMIT
            await db.raw("UPDATE organization SET name = 'renamed' WHERE id = $1", org)
            pid = await _dirty_the_session()
    assert await owner.fetchval("SELECT name FROM organization WHERE id = $1", org) == "Envases Norte"
    async with db.tenant_transaction(None):
        state = await _session_state()
    assert state == {"pid": pid, "org": "", "probe": "", "locks": 0, "cursors": 0}


async def test_a_commit_inside_the_block_still_leaves_a_clean_connection(demo, one_connection, owner):
    """Work done after a COMMIT asked for inside the block runs outside any transaction; whatever
    it leaves in the session is still reset when the connection goes back."""
    org = demo["orgs"]["Envases Norte"]
    async with db.tenant_transaction(org):
        await db.raw("UPDATE organization SET name = 'Envases Norte SL' WHERE id = $1", org)
        async with db.DB.transaction() as tx:  # a nested Piccolo transaction is the outer one
            await tx.commit()
        pid = await _dirty_the_session()
    assert await owner.fetchval("SELECT name FROM organization WHERE id = $1", org) == "Envases Norte SL"
    async with db.tenant_transaction(None):
        state = await _session_state()
    assert state == {"pid": pid, "org": "", "probe": "", "locks": 0, "cursors": 0}


async def test_the_organization_must_be_an_id(demo, one_connection):
    with pytest.raises(ValueError):
        async with db.tenant_transaction("x', true); SELECT set_config('app.org_id', 'y"):
            pass
