"""Database foundations: declarative base, UTC datetimes, engine and session factory.

No Flask here: everything in models/ can be used from a test, a CLI command or a script.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
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
        # Only reads so far: end that read transaction and start again as a writer.
        session.commit()
        session.connection(execution_options=WRITE)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("hourbook_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 10, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
