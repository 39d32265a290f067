"""`hourbook report`: the half-year or yearly results report (成果報表) as XLSX or CSV."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from models import reports
from models.base import taipei_date, utcnow
from models.unit import Unit

from .cli import counted
from .extensions import db


def _period(_ctx, _param, value):
    try:
        return reports.parse_period(value)
    except reports.PeriodError as error:
        raise click.BadParameter(str(error)) from None


@click.command("report", help="The results report of a period: 2026H1 (January–June), 2026H2 "
               "(July–December) or 2026 (the year). A period not ended yet is marked as a draft.")
@click.option("--period", required=True, callback=_period, help="2026H1, 2026H2 or 2026 (or in ROC years: 115H1)")
@click.option("--format", "fmt", type=click.Choice(list(reports.FORMATS)), default="xlsx")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: the standard file name in this folder; '-' for "
                   "standard output).")
@click.option("--filed", is_flag=True, help="The figures as filed (the snapshot), not today's.")
@click.option("--unit-id", type=int, default=None, help="Defaults to the only unit.")
@with_appcontext
def report_command(period, fmt, output, filed, unit_id):
    session = db.session
    if unit_id is None:
        units = session.scalars(select(Unit.id)).all()
        if len(units) != 1:
            raise click.ClickException("give --unit-id (there is not exactly one unit)")
        unit_id = units[0]
    elif session.get(Unit, unit_id) is None:
        raise click.ClickException(f"no unit {unit_id}")
    report = reports.build(session, unit_id, period, taipei_date(utcnow()))
    if filed and report.filed is None:
        raise click.ClickException(f"{period.code} has not been filed")
    data, filename = reports.render(report, fmt, use_filed=filed)
    session.rollback()
    if output == "-":
        click.echo(data, nl=False)
        return
    target = output or filename
    with open(target, "wb") as fh:
        fh.write(data)
    state = ("filed" if filed else "DRAFT (period not ended)" if report.draft
             else "not filed" if report.filed is None else "filed; today's figures")
    click.echo(f"{period.code}: {counted(len(report.lines), 'line')} written to {target} [{state}]",
               err=True)
