"""The database engine, the tenant-scoped transaction and after-commit side effects.

Every request and every job runs its queries inside `tenant_transaction(org_id)`: one
transaction that tells PostgreSQL, with `set_config('app.org_id', ..., true)`, which
organization is acting. Row-level security policies read that setting; they are the second
wall behind the checks in each domain's access.py.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

log = logging.getLogger("pacto.db")

class _Engine(PostgresEngine):
    async def check_version(self) -> None:
        """Piccolo checks the server version when the engine is built, at import time; our DSN is
        only known later (configure()), so there is nothing to connect to yet."""


class _Connection(asyncpg.Connection):
    """A connection that can end its transaction and reset its session in one round trip."""

    __slots__ = ("_reset_by_commit",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reset_by_commit = False

    async def commit_and_reset(self) -> None:
        """COMMIT, then what the pool runs on release (unlock advisory locks, close cursors,
        unlisten, RESET ALL) in the same message; the release then has nothing left to do."""
        await self.execute("COMMIT; " + self.get_reset_query())
        self._reset_by_commit = True


async def _reset_on_release(connection: _Connection) -> None:
    """The pool's reset of a released connection, unless its commit has just done it."""
    if connection._reset_by_commit:
        connection._reset_by_commit = False
        return
    if query := connection.get_reset_query():
        await connection.execute(query)


class _TenantTransaction(PostgresTransaction):
    """A transaction acting as an organization: BEGIN and `set_config('app.org_id', …, true)` in
    one round trip, COMMIT and the connection's reset in another (a request used to spend four)."""

    __slots__ = ("_org",)

    def __init__(self, engine: PostgresEngine, org_id: UUID | None) -> None:
        super().__init__(engine, allow_nested=False)
        # a UUID's text is hex digits and dashes: nothing in it can leave the literal
        self._org = str(UUID(str(org_id))) if org_id else ""

    async def begin(self) -> None:
        await self.connection.execute(f"BEGIN; SELECT set_config('app.org_id', '{self._org}', true)")

    async def __aenter__(self) -> _TenantTransaction:
        """As Piccolo's, except that a BEGIN that fails (or is cancelled) gives the connection back."""
        self.connection = await self.get_connection()
        try:
            await self.begin()
        except BaseException:
            await self._release()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def commit(self) -> None:
        """A COMMIT asked for inside the block: the block may go on using the connection, so its
        session is reset only when it is released."""
        await self.connection.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        """As Piccolo's, except that the connection goes back to the pool even when the COMMIT
        fails (a deferred constraint, a lost connection); the pool then resets or drops it."""
        try:
            if exception is not None:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.connection.commit_and_reset()  # the block is over: nothing runs after
                self._committed = True
        finally:
            try:
                await self._release()
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None

    async def _release(self) -> None:
        if self.engine.pool:
            await self.engine.pool.release(self.connection)
        else:
            await self.connection.close()


# The DSN is set by configure() before the first query; tables find this engine through
# backend/piccolo_conf.py.
DB = _Engine(config={"dsn": "postgresql://unconfigured/pacto"}, log_queries=False)

_after_commit: contextvars.ContextVar[list[Callable[[], Awaitable[None]]] | None] = contextvars.ContextVar(
    "pacto_after_commit", default=None
)
_acting_org: contextvars.ContextVar[UUID | None] = contextvars.ContextVar("pacto_acting_org", default=None)


async def configure(dsn: str, *, pool: bool = True, max_size: int = 10) -> bool:
    """Point the engine at a database (closing any pool on the previous one). False when it
    already pointed there with a pool (a worker running in the web process shares it)."""
    if pool and DB.pool is not None and DB.config.get("dsn") == dsn:
        return False
    await close()
    DB.config = {"dsn": dsn, "connection_class": _Connection}
    if pool:
        await DB.start_connection_pool(min_size=1, max_size=max_size, reset=_reset_on_release)
    return True


async def close() -> None:
    if DB.pool is not None:
        await DB.close_connection_pool()
        DB.pool = None


def after_commit(fn: Callable[[], Awaitable[None]]) -> None:
    """Run fn once the current transaction has committed (e-mails, jobs). Dropped on rollback."""
    pending = _after_commit.get()
    if pending is None:
        raise RuntimeError("after_commit() outside tenant_transaction()")
    pending.append(fn)


def acting_org() -> UUID | None:
    return _acting_org.get()


async def bind_org(org_id: UUID | None) -> None:
    """Switch the acting organization of the current transaction (sign-in does this)."""
    _acting_org.set(org_id)
    await raw("SELECT set_config('app.org_id', $1, true)", str(org_id) if org_id else "")


async def raw(sql: str, *args):
    """Run SQL with asyncpg placeholders ($1) on the current transaction's connection."""
    tx = DB.current_transaction.get()
    if tx is None:
        raise RuntimeError("raw() outside a transaction")
    return await tx.connection.fetch(sql, *args)


async def raw_planned(sql: str, *args):
    """As raw(), through a statement of its own, so that PostgreSQL plans it for these arguments.
    raw() reuses a prepared statement, and after five runs PostgreSQL may keep one generic plan
    for it, made without knowing, say, that an array holds 50,000 ids, or from the statistics of
    a table that the same transaction has since filled."""
    tx = DB.current_transaction.get()
    if tx is None:
        raise RuntimeError("raw_planned() outside a transaction")
    statement = await tx.connection.prepare(sql)
    return await statement.fetch(*args)


async def raw_one(sql: str, *args):
    rows = await raw(sql, *args)
    return rows[0] if rows else None


def columns_of(table, alias: str) -> str:
    """A SELECT list of a Piccolo table's columns under `alias`, each named "alias.column", so one
    query can read several tables' rows whole; `row_of` takes them back out."""
    return ", ".join(f'{alias}."{c._meta.db_column_name}" AS "{alias}.{c._meta.db_column_name}"'
                     for c in table._meta.columns)


@functools.cache
def _names(table) -> tuple[tuple[str, str], ...]:
    """(column in the database, attribute on the object) of each of a table's columns."""
    return tuple((c._meta.db_column_name, c._meta.name) for c in table._meta.columns)


def _loaded(table, values: dict[str, Any]) -> Any:
    """The object Piccolo builds from a row holding every column (`table(_data=…,
    _exists_in_db=True)`), without its constructor: that one looks each column up by a column
    object that hashes in Python and fills in defaults that a whole row never needs, about 1 µs a
    column, and a page builds five such rows before it starts (tests/web/test_rows.py compares them)."""
    instance = object.__new__(table)
    instance.__dict__.update(values)
    instance._exists_in_db = True
    instance._was_created = None
    return instance


def object_of(table, row) -> Any:
    """A Piccolo object of `table` from a raw row holding all its columns."""
    return _loaded(table, {name: row[column] for column, name in _names(table)})


def row_of(table, data: dict, alias: str) -> Any:
    """The `table` object whose columns `columns_of(table, alias)` put in `data` (removed from it)."""
    return _loaded(table, {name: data.pop(f"{alias}.{column}") for column, name in _names(table)})


class Scope:
    """Handle on the open tenant transaction; rollback() discards its work without an error."""

    def __init__(self, tx) -> None:
        self._tx = tx
        self.rolled_back = False

    async def rollback(self) -> None:
        if not self.rolled_back:
            await self._tx.rollback()
            self.rolled_back = True


@contextlib.asynccontextmanager
async def tenant_transaction(org_id: UUID | None) -> AsyncIterator[Scope]:
    """One transaction acting as org_id (None: anonymous, sees no tenant rows)."""
    pending: list[Callable[[], Awaitable[None]]] = []
    token = _after_commit.set(pending)
    org_token = _acting_org.set(org_id)
    try:
        if DB.current_transaction.get() is None:
            async with _TenantTransaction(DB, org_id) as tx:
                scope = Scope(tx)
                yield scope
        else:  # inside another transaction: that one now acts as org_id
            async with DB.transaction() as tx:
                scope = Scope(tx)
                await raw("SELECT set_config('app.org_id', $1, true)", str(org_id) if org_id else "")
                yield scope
    finally:
        _after_commit.reset(token)
        _acting_org.reset(org_token)
    if scope.rolled_back:
        return
    for fn in pending:
        try:
            await fn()
        except Exception:  # a side effect must never undo a committed change
            log.exception("after-commit hook failed")


async def connect_admin(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn)
