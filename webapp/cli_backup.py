"""`hourbook backup` and `hourbook restore`: a consistent copy while the app runs (models/backup.py)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from models import backup as bk
from models.base import TAIPEI, utcnow


@click.command("backup", help="Write a consistent copy of the database while the app keeps "
               "running (SQLite online backup; pg_dump -Fc on PostgreSQL). Default file: "
               "<instance>/backups/hourbook-<Taipei time>.sqlite3|.pgdump")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="The backup file to write (must not exist).")
@with_appcontext
def backup_command(output):
    url = current_app.config["HOURBOOK_DATABASE_URL"]
    if output is None:
        stamp = utcnow().astimezone(TAIPEI).strftime("%Y%m%d-%H%M%S")
        output = Path(current_app.instance_path) / "backups" / bk.default_filename(url, stamp)
    try:
        path = bk.backup(url, Path(output))
    except bk.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backup written to {path} ({path.stat().st_size} bytes)")


@click.command("restore", help="Replace the database with a backup made by `hourbook backup`. "
               "Refuses a database that holds data unless --force; stop the app first.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite a database that holds data.")
@with_appcontext
def restore_command(path, force):
    url = current_app.config["HOURBOOK_DATABASE_URL"]
    try:
        bk.restore(url, Path(path), force=force)
    except bk.BackupError as error:
        raise click.ClickException(str(error)) from error
    counts = bk.row_counts(url)
    click.echo(f"restored {path}: {sum(counts.values())} rows in {len(counts)} tables")


COMMANDS = [backup_command, restore_command]
