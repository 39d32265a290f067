"""A date typed as text, read the same wherever one is read (contact.typed_date): a phone's
Chinese keyboard types full-width digits and separators (２０２６／１２／０１), which every
date field, query string, the roster import and the CLI take as the date they mean."""
from __future__ import annotations

import ast
import datetime as dt
import pathlib

import pytest

from models.contact import typed_date
from webapp.forms import local_moment, plain_date


@pytest.mark.parametrize("text, day", [
    ("2026-12-01", dt.date(2026, 12, 1)),
    ("２０２６-１２-０１", dt.date(2026, 12, 1)),
    ("２０２６／１２／０１", dt.date(2026, 12, 1)),
    ("２０２６－１２－０１", dt.date(2026, 12, 1)),
    ("　２０２６．１２．０１ ", dt.date(2026, 12, 1)),
    ("2026–12–01", dt.date(2026, 12, 1)),  # an en dash, as a word processor makes one
    ("2026/3/5", dt.date(2026, 3, 5)),
    ("１１５／３／５", dt.date(2026, 3, 5)),  # an ROC date
    ("1150305", dt.date(2026, 3, 5)),
    ("20260305", dt.date(2026, 3, 5)),
    ("0001-01-01", dt.date(1, 1, 1)),  # four digits are the Western year, as a picker sends it
    ("2026-02-30", None), ("２０２６／１３／０１", None), ("٢٠٢٦-٠١-٠١", None), ("2026", None),
    ("", None), (None, None), ("yesterday", None),
])
def test_typed_date_reads_full_width_digits_and_separators(text, day):
    assert typed_date(text) == day


def test_query_strings_and_moments_read_them_too():
    assert plain_date("２０２６／１２／０１") == dt.date(2026, 12, 1)
    assert plain_date("９９９９-１２-３１") is None  # out of 1900–2100 as before
    assert local_moment("２０２６－１２－０１Ｔ０９：３０") \
        == dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.timezone.utc)
    assert local_moment("2026-12-01T09:30+08:00") is None  # a wall time only, as before


def test_every_form_takes_its_date_field_from_the_one_place():
    """A form with wtforms' own DateField would refuse ２０２６／１２／０１ again."""
    routes = pathlib.Path(__file__).parent.parent / "webapp"
    offenders = []
    for path in routes.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("wtforms") \
                    and any(a.name in ("DateField", "DateTimeField", "DateTimeLocalField")
                            for a in node.names):
                offenders.append(str(path.relative_to(routes)))
    assert offenders == []


def test_a_cover_typed_full_width_is_saved_over_http(admin, make, unit, db):
    from models.insurance import InsuranceCover
    from sqlalchemy import select

    vol = make.volunteer(unit)
    response = admin.post(f"/admin/insurance/volunteers/{vol.id}/covers/new", {
        "kind": "commercial", "insurer": "富邦產險", "policy_no": "FW-1",
        "starts_on": "２０２６／０１／０１", "ends_on": "２０２６－１２－３１"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.rollback()
    cover = db.scalars(select(InsuranceCover).where(InsuranceCover.policy_no == "FW-1")).one()
    assert (cover.starts_on, cover.ends_on) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_the_cli_reads_a_full_width_day(app):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["awards", "--as-of", "２０２６／０６／１５"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(args=["awards", "--as-of", "２０２６／１３／１５"])
    assert out.exit_code != 0 and "is not a date like 2026-03-31" in out.output
