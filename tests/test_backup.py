"""`hourbook backup` / `hourbook restore`: every row of every table comes back, on the backend
under test (SQLite files; PostgreSQL scratch databases of their own), and a restore never
overwrites data by accident."""
from __future__ import annotations

import secrets
import sqlite3
import threading

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from models import Base, backup as bk, completion, migrate
from models.audit import record
from models.base import begin_write, make_engine, make_sessionmaker, utcnow
from models.people import Volunteer
from models.unit import Unit
from models.unit_profile import UnitProfile
from models.demo import seed_demo
from tests.conftest import BACKEND, PG_URL


def _dump_all(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of the models (and alembic_version), in primary-key order."""
    engine = make_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                out[table.name] = [tuple(r) for r in conn.execute(
                    select(table).order_by(*table.primary_key.columns))]
            out["alembic_version"] = [tuple(r) for r in conn.execute(
                text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()
    return out


@pytest.fixture
def scratch(tmp_path):
    """make() → URL of a new, empty database on the backend under test; dropped afterwards."""
    made: list[str] = []
    admin = None
    if BACKEND == "postgresql":
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")

    def make() -> str:
        if BACKEND == "sqlite":
            return f"sqlite:///{tmp_path / f'db-{secrets.token_hex(4)}.db'}"
        name = f"hbbackup_{secrets.token_hex(4)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


COMPLETION_TEXT = "茲證明 $name 君完成本會訓練 $hours 小時"


def _seeded(url: str) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    session = make_sessionmaker(engine)()
    seed_demo(session, volunteers=12)
    unit_id = session.scalar(select(Unit.id))
    completion.save_completion_template(session, unit_id, COMPLETION_TEXT)
    trained = next(v for v in session.scalars(select(Volunteer).order_by(Volunteer.id))
                   if completion.unit_course_records(session, v))
    completion.issue_completion(session, trained, actor=None, now=utcnow())
    record(session, action="note", entity="unit", actor_label="test", after={"text": "中文 'q' \"dq\""})
    session.commit()
    session.close()
    engine.dispose()


def test_every_row_of_every_table_comes_back(scratch, tmp_path):
    source, target = scratch(), scratch()
    _seeded(source)
    before = _dump_all(source)
    filled = [name for name, rows in before.items() if rows]
    assert len(filled) >= 10, filled  # the demo unit fills most of the schema

    path = bk.backup(source, tmp_path / "backups" / bk.default_filename(source, "x"))
    assert path.stat().st_mode & 0o777 == 0o600
    bk.restore(target, path)

    after = _dump_all(target)
    assert after == before
    # the unit's completion certificate text and the certificate issued come back with it
    engine = make_engine(target)
    try:
        with engine.connect() as conn:
            assert conn.scalars(select(UnitProfile.completion_template)).all() == [COMPLETION_TEXT]
            assert len(conn.scalars(select(completion.IssuedCompletion.serial)).all()) == 1
    finally:
        engine.dispose()
    # the restored database is usable: sequences continue after the restored ids
    engine = make_engine(target)
    session = make_sessionmaker(engine)()
    begin_write(session)
    entry = record(session, action="after_restore", entity="unit", actor_label="test")
    session.commit()
    assert entry.id > max(r[0] for r in before["audit_entry"])
    session.close()
    engine.dispose()


def test_restore_refuses_a_database_with_data_unless_forced(scratch, tmp_path):
    source, target = scratch(), scratch()
    _seeded(source)
    path = bk.backup(source, tmp_path / bk.default_filename(source, "x"))

    migrate.upgrade(target)
    engine = make_engine(target)
    session = make_sessionmaker(engine)()
    begin_write(session)
    record(session, action="precious", entity="unit", actor_label="someone")
    session.commit()
    session.close()
    engine.dispose()

    with pytest.raises(bk.BackupError, match="not empty"):
        bk.restore(target, path)
    assert [r[5] for r in _dump_all(target)["audit_entry"]] == ["precious"]  # untouched

    bk.restore(target, path, force=True)
    assert _dump_all(target) == _dump_all(source)


def test_backup_never_overwrites_and_rejects_foreign_files(scratch, tmp_path):
    source = scratch()
    _seeded(source)
    path = bk.backup(source, tmp_path / "one")
    with pytest.raises(bk.BackupError, match="exists"):
        bk.backup(source, path)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(bk.BackupError, match="not a"):
        bk.restore(scratch(), junk)


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's online backup while a writer works")
def test_sqlite_backup_is_consistent_while_the_app_writes(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    _seeded(url)
    engine = make_engine(url)
    stop = threading.Event()
    written = []

    def writer():
        session = make_sessionmaker(engine)()
        while not stop.is_set():
            begin_write(session)
            # two rows per transaction: a consistent copy never holds an odd number of them
            record(session, action="pair", entity="unit", actor_label="w")
            record(session, action="pair", entity="unit", actor_label="w")
            session.commit()
            written.append(1)
        session.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = [bk.backup(url, tmp_path / f"copy-{i}.sqlite3") for i in range(5)]
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    assert written, "the writer never wrote"
    for copy in copies:
        with sqlite3.connect(copy) as conn:
            pairs = conn.execute("SELECT count(*) FROM audit_entry WHERE action='pair'").fetchone()[0]
            assert pairs % 2 == 0
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cli_backup_and_restore(app, scratch, tmp_path):
    """The commands a cron job and an operator run: backup to a file, restore into an empty
    database; a database with data is refused without --force."""
    from webapp import create_app

    source = scratch()
    _seeded(source)
    src_app = create_app({"HOURBOOK_DATABASE_URL": source, "SECRET_KEY": "x"})
    out = tmp_path / "nightly.bak"
    result = src_app.test_cli_runner().invoke(args=["backup", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output and out.exists()
    src_app.extensions["hourbook_db"]["engine"].dispose()

    target = scratch()
    dst_app = create_app({"HOURBOOK_DATABASE_URL": target, "SECRET_KEY": "x"})
    runner = dst_app.test_cli_runner()
    result = runner.invoke(args=["restore", str(out)])
    assert result.exit_code == 0, result.output
    assert _dump_all(target) == _dump_all(source)
    result = runner.invoke(args=["restore", str(out)])
    assert result.exit_code != 0 and "not empty" in result.output
    result = runner.invoke(args=["restore", "--force", str(out)])
    assert result.exit_code == 0, result.output
    dst_app.extensions["hourbook_db"]["engine"].dispose()


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump against the PostgreSQL server")
def test_an_older_pg_dump_than_the_server_is_refused_plainly(monkeypatch, tmp_path, database_url):
    import subprocess as sp

    real_run = sp.run

    def old_client(cmd, *a, **kw):
        if cmd[:2] == ["pg_dump", "--version"]:
            return sp.CompletedProcess(cmd, 0, "pg_dump (PostgreSQL) 9.6.24\n", "")
        return real_run(cmd, *a, **kw)

    monkeypatch.setattr(bk.subprocess, "run", old_client)
    with pytest.raises(bk.BackupError, match="pg_dump is version 9"):
        bk.backup(database_url, tmp_path / "x.pgdump")
    assert not (tmp_path / "x.pgdump").exists()
