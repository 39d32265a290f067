"""`hourbook awards`: who can apply for which certificate or award, as CSV or XLSX."""
from __future__ import annotations

import csv
import datetime as dt
import io

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from models import awards as aw
from models import award_rules
from models.contact import typed_date
from models.export import neutralise
from models.hours import hours_text

from .cli import counted
from .extensions import db

HEADERS = ["volunteer_no", "name_zh", "award", "award_name", "computed", "eligible", "level",
           "counted_to", "counted_hours", "service_hours", "prior_hours", "used_hours",
           "seniority_start", "seniority_source", "service_months", "missing_hours",
           "missing_months", "missing_conditions", "filing_deadline", "message"]


def _rows(session, as_of: dt.date, award: str | None, unit_id: int | None) -> list[list]:
    from models.recognition import unit_eligibility
    from models.unit import Unit

    units = [unit_id] if unit_id is not None else list(session.scalars(
        select(Unit.id).order_by(Unit.id)))
    rows = []
    for uid in units:  # in bulk per unit (models.recognition): the same answers, far quicker
        for vol, items in unit_eligibility(session, uid, as_of, [award] if award else None):
            rows.extend(_lines(vol, items, award))
    return rows


def _lines(vol, items, award) -> list[list]:
    rows = []
    for e in items:
        if award and e.award_key != award:
            continue
        rows.append([
            vol.volunteer_no, vol.name_zh, e.award_key, e.name_zh,
            "yes" if e.computed else "no", "yes" if e.eligible else "no",
            e.level_name_zh, e.counted_to or "", hours_text(e.counted_minutes),
            hours_text(e.service_minutes), hours_text(e.prior_minutes),
            hours_text(e.used_minutes), e.seniority_start or "", e.seniority_source or "",
            "" if e.service_months is None else e.service_months,
            "" if e.missing_minutes is None else hours_text(e.missing_minutes),
            e.missing_months, " ".join(e.missing_conditions), e.filing_deadline or "",
            aw.explain(e),
        ])
    return rows


def to_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in [HEADERS, *rows]:
        writer.writerow([neutralise(v) for v in line])
    return buffer.getvalue().encode("utf-8-sig")


# columns that are numbers: in XLSX as numbers (hours with two decimals), as the award lists
HOURS_COLUMNS = {"counted_hours", "service_hours", "prior_hours", "used_hours", "missing_hours"}
COUNT_COLUMNS = {"service_months", "missing_months"}


def to_xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "awards"
    for r, line in enumerate([HEADERS, *rows], start=1):
        for c, (header, value) in enumerate(zip(HEADERS, line), start=1):
            if value == "":
                continue
            cell = sheet.cell(row=r, column=c)
            if r > 1 and header in HOURS_COLUMNS:
                cell.value = float(value)
                cell.number_format = "0.00"
            elif r > 1 and header in COUNT_COLUMNS:
                cell.value = int(value)
            else:
                cell.value = str(value)
                cell.data_type = "s"  # text, even when it looks like a formula
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class TypedDate(click.ParamType):
    """A day on the command line as contact.typed_date reads it (2026-03-31, 2026/3/31, an ROC
    115/3/31, full-width too)."""
    name = "date"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        day = typed_date(value)
        if day is None:
            self.fail(f"{value!r} is not a date like 2026-03-31.", param, ctx)
        return day


@click.command("awards", help="Award eligibility of every active volunteer on a day "
               "(rules.md: certificates and awards).")
@click.option("--as-of", "as_of", required=True, type=TypedDate())
@click.option("--award", "award", default=None, help="Only this award key.")
@click.option("--unit-id", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default, or '-': standard output).")
@with_appcontext
def awards_command(as_of, award, unit_id, fmt, output):
    session = db.session
    keys = [r.key for r in award_rules.rules(session)]
    if award and award not in keys:
        raise click.BadParameter(f"unknown award; one of {', '.join(keys)}", param_hint="--award")
    rows = _rows(session, as_of, award, unit_id)
    data = to_csv(rows) if fmt == "csv" else to_xlsx(rows)
    if output and output != "-":  # '-': standard output, as for `hourbook report`
        with open(output, "wb") as fh:
            fh.write(data)
        click.echo(f"{counted(len(rows), 'row')} written to {output}", err=True)
    else:
        click.echo(data, nl=False)
