"""Backup and restore of the whole database, safe while the app is running.

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot
  page by page; writers keep working (WAL) and the copy is a plain SQLite file.
- PostgreSQL: `pg_dump -Fc` (one repeatable-read snapshot) and `pg_restore`. The client tools
  must be the server's major version or newer (`pg_dump --version`, `SHOW server_version`).
  A URL with `options=-csearch_path=<schema>` backs up and restores only that schema.

Restore refuses a database that holds any row unless `force=True`.
No Flask here: the `hourbook backup` / `hourbook restore` commands call these.
"""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import create_engine, inspect, select, func, table, text
from sqlalchemy.engine import make_url


class BackupError(Exception):
    """Something the person running the command must fix (message in English, CLI only)."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def default_filename(url: str, stamp: str) -> str:
    return f"hourbook-{stamp}." + ("sqlite3" if is_sqlite(url) else "pgdump")


# --- SQLite ----------------------------------------------------------------------------------

def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_copy(source: Path, dest: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(dest, timeout=30)
    try:
        with dst:
            # One step, one read transaction: a consistent snapshot. In WAL mode readers do not
            # block writers, so the app keeps checking people in meanwhile.
            src.backup(dst)
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"integrity check of the copy failed: {check}")
    finally:
        src.close()
        dst.close()


# --- PostgreSQL ------------------------------------------------------------------------------

def _pg_args(url: str) -> tuple[str, dict, str | None]:
    """(libpq URI without password, environment with PGPASSWORD, schema from search_path)."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    options = u.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    match = re.search(r"-csearch_path=([A-Za-z0-9_]+)", unquote(options))
    schema = match.group(1) if match else None
    query = {k: v for k, v in u.query.items() if k != "options"}
    plain = u.set(drivername="postgresql", password=None, query=query)
    return plain.render_as_string(hide_password=False), env, schema


def _run(cmd: list[str], env: dict) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except FileNotFoundError as error:
        raise BackupError(f"{cmd[0]} is not installed (Debian: postgresql-client)") from error
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip()[-2000:]}")


def check_pg_dump_version(url: str) -> None:
    """pg_dump refuses (or worse, misses things of) a newer server: say so plainly first."""
    try:
        out = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError as error:
        raise BackupError("pg_dump is not installed (Debian: postgresql-client)") from error
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            server = int(conn.scalar(text("SHOW server_version_num"))) // 10000
    finally:
        engine.dispose()
    client = int(match.group(1)) if match else 0
    if client < server:
        raise BackupError(f"pg_dump is version {client}, the server {server}: install the "
                          f"postgresql-client-{server} package")


# --- both --------------------------------------------------------------------------------------

def backup(url: str, dest: Path) -> Path:
    """Write a consistent copy of the database at `url` to `dest` (not overwritten)."""
    dest = Path(dest)
    if dest.exists():
        raise BackupError(f"{dest} exists already")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        if is_sqlite(url):
            source = _sqlite_path(url)
            if not source.exists():
                raise BackupError(f"no database at {source}")
            _sqlite_copy(source, tmp)
        else:
            uri, env, schema = _pg_args(url)
            check_pg_dump_version(url)
            cmd = ["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(tmp)]
            if schema:
                cmd += ["-n", schema]
            _run([*cmd, "-d", uri], env)
        tmp.chmod(0o600)  # holds ID numbers
        tmp.rename(dest)  # a finished file or none: cron never leaves a half backup behind
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def row_counts(url: str) -> dict[str, int]:
    """Rows per table (of the URL's schema): what a restore would overwrite."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {n: conn.scalar(select(func.count()).select_from(table(n))) for n in names}
    finally:
        engine.dispose()


def holds_data(url: str) -> bool:
    """True when any table other than alembic_version has a row."""
    if is_sqlite(url) and not _sqlite_path(url).exists():
        return False
    return any(n != "alembic_version" and c for n, c in row_counts(url).items())


def restore(url: str, source: Path, *, force: bool = False) -> None:
    """Replace the database at `url` with the backup `source`.

    Refuses when the database holds any row, unless force (then its contents are replaced)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if not force and holds_data(url):
        raise BackupError("the database is not empty; restoring would overwrite it "
                          "(stop the app, make a backup, then use --force)")
    if is_sqlite(url):
        with source.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise BackupError(f"{source} is not a SQLite backup")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)  # the whole file, schema included, in one step
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"integrity check after restore failed: {check}")
        finally:
            src.close()
            dst.close()
        return
    with source.open("rb") as f:
        if f.read(5) != b"PGDMP":
            raise BackupError(f"{source} is not a pg_dump -Fc backup")
    uri, env, schema = _pg_args(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if schema:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            else:
                for name in inspect(conn).get_table_names():
                    conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", "-d", uri, str(source)], env)
