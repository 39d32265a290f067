"""The `hourbook` command: the Flask CLI of the app, with Hourbook's own commands."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from models import audit, migrate
from models.people import Role, User
from models.unit import Category, LegalType

from .extensions import db


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 session', '2 sessions': the commands' English output for operators and cron logs."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def base_url_link(path: str) -> str:
    """An address on this site for mail and command output (no request to take it from):
    HOURBOOK_BASE_URL + path, or "" when it is not set."""
    base = current_app.config.get("HOURBOOK_BASE_URL", "")
    return base + path if base else ""


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(demo)
    app.cli.add_command(units_group)
    app.cli.add_command(users_group)
    app.cli.add_command(translate_group)
    app.cli.add_command(sessions_group)
    app.cli.add_command(applications_group)
    app.cli.add_command(files_group)
    app.cli.add_command(import_roster)
    app.cli.add_command(__import__("webapp.cli_awards", fromlist=["awards_command"]).awards_command)
    app.cli.add_command(__import__("webapp.cli_reports", fromlist=["report_command"]).report_command)
    app.cli.add_command(__import__("webapp.cli_reminders",
                                   fromlist=["reminders_group"]).reminders_group)
    for command in __import__("webapp.cli_backup", fromlist=["COMMANDS"]).COMMANDS:
        app.cli.add_command(command)


@click.group("db", help="Database schema (Alembic migrations).")
def db_group():
    pass


@db_group.command("upgrade", help="Migrate the database to the newest schema.")
@click.option("--revision", default="head")
@with_appcontext
def db_upgrade(revision):
    migrate.upgrade(current_app.config["HOURBOOK_DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade", help="Migrate the database back to a revision.")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision):
    migrate.downgrade(current_app.config["HOURBOOK_DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@click.command("demo", help="Seed a realistic demo unit and print its sign-in accounts.")
@with_appcontext
def demo():
    from models.demo import ADMIN_EMAIL, DEMO_PASSWORD, demo_exists, seed_demo

    if demo_exists(db.session):
        click.echo(f"The demo unit is already there. Sign in as {ADMIN_EMAIL} / {DEMO_PASSWORD}.")
        return
    result = seed_demo(db.session)
    db.session.commit()
    click.echo(f"Demo unit: {result['unit']}")
    click.echo(f"Password for every demo account: {result['password']}")
    for role, email in result["accounts"]:
        click.echo(f"  {role:<10} {email}")


@click.group("units", help="Volunteer units (志願服務運用單位).")
def units_group():
    pass


@units_group.command("create", help="Create a new, empty unit; then give it its first admin "
                     "with `hourbook users create --role admin`. The rest of the profile (address, "
                     "contacts, seal) is filled in by the admin under Unit and plan.")
@click.option("--name", required=True, help="The unit's name, as registered.")
@click.option("--legal-type", required=True,
              type=click.Choice([t.value for t in LegalType]),
              help="agency 機關, institution 機構, school 學校, juridical_person 法人, "
                   "registered_group 經政府立案團體.")
@click.option("--category", required=True, type=click.Choice([c.value for c in Category]),
              help="social_welfare 社會福利類 or comprehensive 綜合類.")
@click.option("--registration-no", default="", help="Registration or filing number (立案字號).")
@with_appcontext
def units_create(name, legal_type, category, registration_no):
    from models.unit_profile import ProfileError, create_unit

    try:
        unit = create_unit(db.session, name=name, legal_type=legal_type, category=category,
                           registration_no=registration_no)
    except ProfileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"created unit {unit.id}: {unit.name}")
    click.echo(f"next: hourbook users create --role admin --email ADMIN@EXAMPLE.TW --unit-id {unit.id}")


@units_group.command("list", help="Every unit with its id.")
@with_appcontext
def units_list():
    from models.unit import Unit

    for unit in db.session.scalars(select(Unit).order_by(Unit.id)):
        click.echo(f"{unit.id}\t{unit.legal_type.value}\t{unit.category.value}\t{unit.name}")


@click.group("users", help="Sign-in accounts.")
def users_group():
    pass


@users_group.command("create", help="Create a sign-in account (asks for the name and the password).")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", prompt="Name (greets them on the home page; printed on hour slips)",
              help="The person's name, as the home page greets them and hour slips print it.")
@click.option("--unit-id", type=int, default=None, help="Defaults to the only unit.")
@click.password_option()
@with_appcontext
def users_create(role, email, name, unit_id, password):
    from models.unit import Unit

    from models import account_links

    session = db.session
    try:  # the rules the admin's team page keeps for a new staff account, and the welcome link's
        email = account_links.check_sign_in_email(session, email)
        account_links.check_password(password)
    except account_links.AccountSetupError as error:
        raise click.ClickException(error.message % error.params) from None
    name = (name or "").strip()
    if not name:
        raise click.ClickException("give the person's name (--name)")
    if len(name) > account_links.STAFF_NAME_MAX:
        raise click.ClickException(f"use at most {account_links.STAFF_NAME_MAX} characters "
                                   "for the name")
    if unit_id is None:
        units = session.scalars(select(Unit.id)).all()
        if not units:
            raise click.ClickException("there is no unit yet: create it first with "
                                       "`hourbook units create`")
        if len(units) != 1:
            raise click.ClickException("give --unit-id (there is not exactly one unit; "
                                       "`hourbook units list` shows them)")
        unit_id = units[0]
    elif session.get(Unit, unit_id) is None:
        raise click.ClickException(f"no unit {unit_id} (`hourbook units list` shows them)")
    if role == Role.volunteer.value:
        raise click.ClickException("volunteers get their accounts when they are accepted")
    user = User(unit_id=unit_id, email=email, display_name=name, role=Role(role))
    user.set_password(password)
    session.add(user)
    session.flush()
    audit.record(session, action="user_create", entity="user", entity_id=user.id,
                 actor_label="cli", unit_id=unit_id,
                 after={"email": email, "role": role, "name": name})
    session.commit()
    click.echo(f"created {role} {email} ({name})")


@users_group.command("link", help="Print a new one-time set-password link for a staff account "
                                  "(a forgotten password with no other admin to make one). Older "
                                  "unused links stop working.")
@click.option("--email", required=True)
@with_appcontext
def users_link(email):
    from flask import url_for

    from models import account_links
    from models.base import utcnow

    session = db.session
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account with the email {email.strip()}")
    if user.role == Role.volunteer:
        raise click.ClickException("a volunteer's new link is made by the unit's admin "
                                   "(the volunteer's status page)")
    try:
        token = account_links.staff_sign_in_link(session, user, None, utcnow())
    except account_links.AccountSetupError as error:
        raise click.ClickException(error.message % error.params) from None
    session.commit()
    with current_app.test_request_context("/"):
        path = url_for("account_setup.welcome", token=token)
    link = base_url_link(path)
    if not link:
        click.echo("HOURBOOK_BASE_URL is not set: put this site's address in front of the path",
                   err=True)
    click.echo(link or path)
    click.echo(f"it works once, for {account_links.LINK_DAYS} days (older links stop working)",
               err=True)


def main() -> None:
    from . import create_app

    FlaskGroup(create_app=create_app, help="Hourbook 志工時數簿").main()


@click.group("sessions", help="Service sessions.")
def sessions_group():
    pass


@sessions_group.command("close-stale", help="Close forgotten check-outs (run from cron every "
                        "15 minutes): sessions open past their site's limit or past midnight "
                        "Asia/Taipei become 'needs review' with 0 credited minutes.")
@with_appcontext
def sessions_close_stale():
    from models.base import utcnow
    from models.checkin import close_stale

    closed = close_stale(db.session, utcnow())
    db.session.commit()
    click.echo(f"closed {counted(len(closed), 'stale session')}")


@click.command("import", help="Import a roster (CSV/XLSX, docs/roster-template.md): all rows "
               "or none. --dry-run lists every row's problems and saves nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file only.")
@click.option("--admin", "admin_email", default=None,
              help="The admin the import is recorded as (default: the only admin).")
@with_appcontext
def import_roster(file, dry_run, admin_email):
    from pathlib import Path

    from models import roster_import
    from models.base import utcnow

    session = db.session
    query = select(User).where(User.role == Role.admin, User.active.is_(True))
    if admin_email:
        query = query.where(func.lower(User.email) == admin_email.strip().lower())
    admins = session.scalars(query).all()
    if len(admins) != 1:
        raise click.ClickException("name the admin with --admin EMAIL" if admins
                                   else "no such active admin")
    actor = admins[0]
    data = Path(file).read_bytes()
    if dry_run:
        result = roster_import.check(session, actor.unit_id, data, Path(file).name)
        session.rollback()
    else:
        try:
            result = roster_import.run(session, actor, data, Path(file).name, now=utcnow())
        except roster_import.ImportRefused as error:
            session.rollback()
            result = roster_import.Result(error.problems, {})
        else:
            session.commit()
    for p in result.problems:
        where = f"{p.sheet} row {p.row}" if p.row else (p.sheet or "file")
        click.echo(f"{where}, {p.column or '-'}: {p.text()}")
    if result.problems:
        raise click.ClickException(f"{counted(len(result.problems), 'problem')}; nothing was saved")
    counts = ", ".join(f"{k}: {v}" for k, v in result.counts.items())
    click.echo(("would import " if dry_run else "imported ") + counts)


@click.group("applications", help="Volunteer applications.")
def applications_group():
    pass


@applications_group.command("purge", help="Delete applications not accepted, one year after the "
                            "decision (PDPA notice on the form). Run daily from cron.")
@with_appcontext
def applications_purge():
    from models.base import utcnow
    from models.recruitment import purge_unaccepted_applications

    count = purge_unaccepted_applications(db.session, utcnow())
    db.session.commit()
    click.echo(f"deleted {counted(count, 'application')} older than the retention period")


@click.group("files", help="Uploaded files (photos, certificates, logos, plan documents).")
def files_group():
    pass


@files_group.command("prune", help="Find stored files nothing points to any more and files "
                     "under the upload root without a row (left by installs from before replaced "
                     "files were deleted); list them with counts and sizes per unit and kind. "
                     "Changes nothing without --delete. Files without a row modified in the last "
                     "--min-age minutes are left alone (an upload in flight). Safe from cron with "
                     "--delete; run it by hand without first.")
@click.option("--delete", is_flag=True, help="Delete them: the rows audited, in one transaction; "
              "the bytes once it has committed.")
@click.option("--min-age", type=click.IntRange(min=0), default=60, show_default=True,
              metavar="MINUTES", help="Leave files without a row younger than this.")
@with_appcontext
def files_prune(delete, min_age):
    import datetime as dt

    from models import files
    from models.base import TAIPEI, utcnow

    from .routes.files import upload_root

    root, now, min_age = upload_root(), utcnow(), dt.timedelta(minutes=min_age)
    found = (files.prune if delete else files.orphans)(db.session, root, now, min_age=min_age)

    def when(moment):
        return moment.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")

    lines, totals = [], found.totals()  # written out once the transaction has ended
    for what, title, listed in (
            ("row", "stored files no row points to", found.rows),
            ("stray", f"files under {root} without a row", found.strays)):
        size = sum(t for (w, _, _), (_, t) in totals.items() if w == what)
        lines.append(f"{title}: {counted(len(listed), 'file')}, {size:,} bytes")
        for (w, unit_id, kind), (count, total) in totals.items():
            if w == what:
                kind = f", {kind}" if kind else ""
                lines.append(f"  unit {unit_id}{kind}: {counted(count, 'file')}, {total:,} bytes")
        for item in listed:
            if what == "row":
                lines.append(f"  #{item.id} {item.kind} {item.storage_key} {item.size:,} bytes, "
                             f"uploaded {when(item.created_at)}")
            else:
                lines.append(f"  {item.key} {item.size:,} bytes, modified {when(item.modified_at)}")
    if found.young:
        lines.append(f"left alone: {counted(len(found.young), 'file')} without a row, modified "
                     f"in the last {counted(min_age // dt.timedelta(minutes=1), 'minute')}")
    if delete:
        db.session.commit()
        lines.append(f"deleted {counted(len(found.rows), 'stored file')} and "
                     f"{counted(len(found.strays), 'file')} without a row")
    else:
        db.session.rollback()
        if found.rows or found.strays:
            lines.append("nothing deleted: run again with --delete to delete them")
    click.echo("\n".join(lines))


def _translated(message) -> bool:
    return any(message.string) if message.pluralizable else bool(message.string)


@click.group("translate", help="Translations (pybabel): extract, update, fill from pending files.")
def translate_group():
    pass


@translate_group.command("update", help="Extract messages, update the zh-TW catalogue, "
                         "fill it from webapp/translations/pending/*.json, list what is missing.")
def translate_update():
    import fcntl
    import json
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po, write_po

    root = Path(__file__).parent.parent
    tdir = root / "webapp" / "translations"
    pot = tdir / "messages.pot"
    po = tdir / "zh_Hant_TW" / "LC_MESSAGES" / "messages.po"
    with open("/tmp/hourbook-translate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pybabel = [sys.executable, "-m", "babel.messages.frontend"]
        subprocess.run([*pybabel, "extract", "-F", str(root / "babel.cfg"), "-k", "_l",
                        "-k", "lazy_gettext", "-k", "Nn_:1,2", "--no-location", "--sort-output", "-o", str(pot),
                        "."], cwd=root, check=True, capture_output=True)
        subprocess.run([*pybabel, "update", "-i", str(pot), "-d", str(tdir), "-l", "zh_Hant_TW",
                        "--no-fuzzy-matching", "--ignore-obsolete", "-w", "100"],
                       check=True, capture_output=True)
        pending: dict[str, str] = {}
        for path in sorted((tdir / "pending").glob("*.json")):
            pending.update(json.loads(path.read_text(encoding="utf-8")))
        with po.open("rb") as f:
            catalog = read_po(f, locale="zh_Hant_TW")
        for message in catalog:  # a plural entry is filled by its singular msgid (zh: one form)
            key = message.id[0] if message.pluralizable else message.id
            if key and not _translated(message) and key in pending:
                message.string = (pending[key],) if message.pluralizable else pending[key]
        with po.open("wb") as f:
            write_po(f, catalog, width=100, omit_header=False, ignore_obsolete=True)
    missing = [m.id for m in catalog if m.id and not _translated(m)]
    for m in missing:
        click.echo(f"untranslated: {m!r}")
    click.echo(f"{counted(len(missing), 'untranslated message')}")
