"""Database foundations: declarative base, UTC datetimes, engine and session factory.

No Flask here: everything in models/ can be used from a test, a CLI command or a script.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, MetaData, bindparam, create_engine, event, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

TAIPEI = ZoneInfo("Asia/Taipei")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Store naive UTC (SQLite drops tz info), hand back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def taipei_date(moment: dt.datetime) -> dt.date:
    """The calendar date in Taipei of an aware moment: days are grouped by this."""
    return moment.astimezone(TAIPEI).date()


def taipei_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC start (inclusive) and end (exclusive) of a Taipei calendar day."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=TAIPEI)
    end = start + dt.timedelta(days=1)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


WRITE = {"hourbook_write": True}
"""Execution option: on SQLite, begin the transaction with BEGIN IMMEDIATE.

A deferred SQLite transaction that later upgrades to a write fails at once with
"database is locked" and ignores the busy timeout; taking the write lock up front
makes writers queue politely instead.
"""


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer, unless one is already running.

    Web requests that change state start this way before anything else runs; domain
    functions call it too, so a CLI command or a thread gets the same behaviour.
    """
    if not session.in_transaction():
        session.connection(execution_options=WRITE)
        return
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.get_execution_options().get("hourbook_write"):
        if session.new or session.dirty or session.deleted:
            raise RuntimeError(
                "a SQLite write must begin its transaction with begin_write() before any change"
            )
        # Only reads so far: end that read transaction and begin again as a writer, on the
        # same connection (no trip back to the pool); what was read stays loaded.
        conn.exec_driver_sql("COMMIT")
        conn.execution_options(**WRITE)  # in place: this connection's transaction writes now
        conn.dialect.hourbook_begin_immediate(conn)


def one_writer_per(session: Session, entity, entity_id: int) -> None:
    """Let one write transaction at a time past this point for this row (a unit, a site, a
    volunteer ...), until it ends: a check-then-insert ("no site of this name yet") is then
    not raced by the same form sent twice at once. PostgreSQL: SELECT ... FOR UPDATE on the
    row. SQLite: nothing more to do, begin_write already holds the database's write lock."""
    begin_write(session)
    if session.get_bind().dialect.name != "sqlite":
        from sqlalchemy import select

        table = sa_inspect(entity).local_table
        session.execute(select(table.c.id).where(table.c.id == entity_id).with_for_update())


def one_writer_per_value(session: Session, scope: str, values) -> None:
    """one_writer_per for values no single row stands for: a number that must be held once
    across units (a record-book number) is checked-then-written by any unit, so locking one
    unit's row would not stop two units at once. One write transaction at a time past this
    point per (scope, value), until it ends. PostgreSQL: a transaction-level advisory lock on
    a 64-bit hash of each value (in sorted order, so two writers of several values cannot
    deadlock; a hash collision only makes two unrelated writers queue). SQLite: nothing more
    to do, begin_write already holds the database's write lock."""
    import hashlib

    begin_write(session)
    if session.get_bind().dialect.name == "sqlite":
        return
    from sqlalchemy import text

    keys = sorted({int.from_bytes(hashlib.blake2b(f"{scope}\0{value}".encode(),
                                                  digest_size=8).digest(), "big", signed=True)
                   for value in values})
    for key in keys:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class WriterQueue:
    """SQLite writers wait their turn on an OS file lock (`<database>-writers`, flock) taken
    just before BEGIN IMMEDIATE and let go just after COMMIT or ROLLBACK.

    Without it a writer that finds the write lock taken polls in SQLite's busy handler, which
    sleeps 1, 2, 5 … 100 ms between tries: under load the lock is free most of those sleeps,
    CPU sits idle and an unlucky request waits hundreds of milliseconds while later ones slip
    in. A blocked flock() wakes as soon as the holder lets go (and releases the GIL while it
    waits). Every connection has its own descriptor, so threads of one process queue too.
    The busy timeout stays as the fallback for writers that do not use this engine, and for a
    thread that opens a second write transaction while its first one holds the queue (it would
    otherwise wait for itself forever).
    """

    def __init__(self, database_path: str):
        self.path = database_path + "-writers"
        self._fd: dict[int, int] = {}  # id(DBAPI connection) -> its own descriptor of the file
        self._holding: dict[int, int] = {}  # connection holding the lock -> its thread

    def install(self, engine: Engine) -> None:
        dialect = engine.dialect
        commit, rollback, close = dialect.do_commit, dialect.do_rollback, dialect.do_close

        @event.listens_for(engine, "connect")
        def _open(dbapi_connection, _record):
            self._fd[id(dbapi_connection)] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

        def do_commit(dbapi_connection):
            try:
                commit(dbapi_connection)
            finally:
                self.leave(dbapi_connection)

        def do_rollback(dbapi_connection):
            try:
                rollback(dbapi_connection)
            finally:
                self.leave(dbapi_connection)

        def do_close(dbapi_connection):
            self.leave(dbapi_connection)
            fd = self._fd.pop(id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection)), None)
            if fd is not None:
                os.close(fd)
            close(dbapi_connection)

        dialect.do_commit, dialect.do_rollback, dialect.do_close = do_commit, do_rollback, do_close

    def enter(self, dbapi_connection) -> None:
        fd = self._fd.get(id(dbapi_connection))
        thread = threading.get_ident()
        if fd is None or thread in self._holding.values():
            return
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks, without the GIL, until the writer before leaves
        self._holding[id(dbapi_connection)] = thread

    def leave(self, dbapi_connection) -> None:
        # SQLAlchemy hands commit/rollback the pool's proxy, close the DBAPI connection itself.
        key = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
        if self._holding.pop(key, None) is not None:
            fcntl.flock(self._fd[key], fcntl.LOCK_UN)


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def read(session: Session, statement, params: dict | None = None):
    """Run a SELECT of plain columns on the session's connection, skipping the ORM's loading
    machinery (which costs more than SQLite running the query): for the check-in's lookups.
    Returns the Core result; the rows see the session's transaction and pending INSERTs."""
    return session.connection().execute(statement, params or {})


_INSERT_OF: dict = {}


def row_values(obj) -> dict:
    """The column values a new ORM object will be INSERTed with, column defaults applied (and
    set on `obj`). Foreign keys must be set as ids: relationships set on `obj` are not read."""
    mapper = sa_inspect(obj).mapper
    values, state = {}, obj.__dict__
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in state:
            value = state[prop.key]
        elif column.primary_key or column.server_default is not None:
            continue  # the database decides; the attribute is loaded when first read
        elif column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
            setattr(obj, prop.key, value)
        else:
            value = None
            setattr(obj, prop.key, None)
        values[column.key] = value
    return values


def attach_as_loaded(session: Session, obj, primary_key) -> None:
    """Give an object just INSERTed by hand its id and attach it to the session as if it had
    been loaded (nothing left to flush)."""
    mapper = sa_inspect(obj).mapper
    keys = primary_key if isinstance(primary_key, (tuple, list)) else (primary_key,)
    for column, value in zip(mapper.local_table.primary_key.columns, keys):
        setattr(obj, mapper.get_property_by_column(column).key, value)
    make_transient_to_detached(obj)
    session.add(obj)


def insert_now(session: Session, obj):
    """Write a new ORM object with one INSERT at once and attach it to the session as if it had
    been loaded: for the hot paths (a check-in, its event and audit entry), where the unit of
    work's flush costs several times the SQL. Returns `obj`, with its id."""
    table = sa_inspect(obj).mapper.local_table
    statement = _INSERT_OF.get(table)
    if statement is None:
        statement = _INSERT_OF[table] = insert(table)
    result = session.connection().execute(statement, row_values(obj))
    attach_as_loaded(session, obj, tuple(result.inserted_primary_key))
    return obj


_UPDATE_OF: dict = {}


def update_now(session: Session, obj, **changes) -> None:
    """UPDATE columns of one loaded ORM object with one statement at once (no flush), checking
    and bumping its version like the unit of work does; the object then reads the new values.
    The hot-path twin of insert_now. `changes` maps attribute names to new values."""
    mapper = sa_inspect(obj).mapper
    table = mapper.local_table
    version = mapper.version_id_col
    names = tuple(sorted(changes))
    statement = _UPDATE_OF.get((table, names))
    if statement is None:
        where = [c == bindparam(f"pk_{c.key}") for c in table.primary_key.columns]
        values = {mapper.get_property(n).columns[0].key: bindparam(f"new_{n}") for n in names}
        if version is not None:
            where.append(version == bindparam("old_version"))
            values[version.key] = bindparam("new_version")
        statement = _UPDATE_OF[(table, names)] = update(table).where(*where).values(values)
    params = {f"new_{n}": value for n, value in changes.items()}
    for column in table.primary_key.columns:
        params[f"pk_{column.key}"] = getattr(obj, mapper.get_property_by_column(column).key)
    version_key = mapper.get_property_by_column(version).key if version is not None else None
    if version_key:
        params["old_version"] = getattr(obj, version_key)
        params["new_version"] = params["old_version"] + 1
    if session.connection().execute(statement, params).rowcount != 1:
        raise StaleDataError(f"{table.name}: the row changed or went since it was read")
    for name, value in changes.items():
        set_committed_value(obj, name, value)
    if version_key:
        set_committed_value(obj, version_key, params["new_version"])


def _configure_sqlite(engine: Engine, url: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    path = _sqlite_file(url)
    queue = WriterQueue(path) if path else None
    if queue is not None:
        queue.install(engine)

    def begin_immediate(conn) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if queue is not None:
            queue.enter(dbapi_connection)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queue is not None:
                queue.leave(dbapi_connection)
            raise

    engine.dialect.hourbook_begin_immediate = begin_immediate  # begin_write upgrades with it

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("hourbook_write"):
            conn.dialect.hourbook_begin_immediate(conn)
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 10, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, url)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
