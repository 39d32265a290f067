"""The `hourbook` command: the Flask CLI of the app, with Hourbook's own commands."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from models import audit, migrate
from models.people import Role, User

from .extensions import db


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(demo)
    app.cli.add_command(users_group)


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


@click.group("users", help="Sign-in accounts.")
def users_group():
    pass


@users_group.command("create", help="Create a sign-in account (asks for the password).")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--unit-id", type=int, default=None, help="Defaults to the only unit.")
@click.password_option()
@with_appcontext
def users_create(role, email, name, unit_id, password):
    from models.unit import Unit

    session = db.session
    email = email.strip().lower()
    if session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise click.ClickException(f"{email} already has an account")
    if unit_id is None:
        units = session.scalars(select(Unit.id)).all()
        if len(units) != 1:
            raise click.ClickException("give --unit-id (there is not exactly one unit)")
        unit_id = units[0]
    if role == Role.volunteer.value:
        raise click.ClickException("volunteers get their accounts when they are accepted")
    user = User(unit_id=unit_id, email=email, display_name=name, role=Role(role))
    user.set_password(password)
    session.add(user)
    session.flush()
    audit.record(session, action="user_create", entity="user", entity_id=user.id,
                 actor_label="cli", unit_id=unit_id, after={"email": email, "role": role})
    session.commit()
    click.echo(f"created {role} {email}")


def main() -> None:
    from . import create_app

    FlaskGroup(create_app=create_app, help="Hourbook 志工時數簿").main()
