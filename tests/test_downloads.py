"""Files handed out by the app (webapp/downloads.py): the name the browser saves them under, in
either language, and that nothing with personal data stays in a cache."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote, unquote

import pytest

from tests.conftest import HttpUser
from webapp.downloads import ascii_filename, content_disposition

DAY = dt.date(2026, 3, 2)


def _signed_in_as(app, make, unit, role, **kw):
    user = make.user(unit, role=role, **kw)
    person = HttpUser(app.test_client())
    assert person.sign_in(user.email, make.PASSWORD).status_code == 302
    return person


def _utf8(name: str) -> str:
    return "filename*=UTF-8''" + quote(name)


def test_attendance_sheet_of_a_chinese_named_site_is_saved_under_its_chinese_name(
        admin, make, unit):
    site = make.site(unit, name_zh="大安據點", name_en="Da'an")
    response = admin.get(f"/attendance/sites/{site.id}/sheet.csv?on={DAY}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert _utf8(f"出缺席-大安據點-{DAY}.csv") in disposition
    # a browser that cannot read filename* gets a name that still says what it is
    assert 'filename="2026-03-02.csv"' in disposition

    pdf = admin.get(f"/attendance/sites/{site.id}/sheet.pdf?on={DAY}")
    assert pdf.headers["Content-Disposition"].startswith("inline; ")  # opens in the browser
    assert _utf8(f"出缺席-大安據點-{DAY}.pdf") in pdf.headers["Content-Disposition"]


def test_an_english_reader_gets_the_english_file_name(app, make, unit):
    site = make.site(unit, name_zh="大安據點", name_en="Daan")
    reader = _signed_in_as(app, make, unit, "admin", locale="en")
    response = reader.get(f"/attendance/sites/{site.id}/sheet.xlsx?on={DAY}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="attendance-Daan-{DAY}.xlsx"')


@pytest.mark.parametrize("role, url, name", [
    ("volunteer", "/me/data/download", "my-data.zip"),
    ("admin", "/admin/awards/honour_card/export.xlsx?as_of=2026-03-05",
     "honour_card-20260305.xlsx"),
    ("admin", "/reports/2026H1/export?format=csv", "results-report-2026H1.csv"),
    ("admin", "/admin/import/roster-template.xlsx", "roster-template.xlsx"),
])
def test_downloads_are_named_and_never_kept_in_a_cache(app, make, unit, role, url, name):
    person = _signed_in_as(app, make, unit, role)
    response = person.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_mohw_export_with_id_numbers_is_never_kept_in_a_cache(admin, db, make, unit):
    _verified_hour(db, make, unit)  # a period without one has no file (the page says so)
    response = admin.post("/admin/export/mohw", {"period": "range", "date_from": "2026-02-01",
                                                 "date_to": "2026-03-31", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="mohw-hours-20260201-20260331.csv"')
    assert response.headers["Cache-Control"] == "no-store"


def _verified_hour(db, make, unit):
    import datetime as dt

    from models.base import TAIPEI
    from models.service import ServiceSession, SessionSource, SessionStatus

    start = dt.datetime(2026, 2, 3, 9, 0, tzinfo=TAIPEI)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=make.volunteer(unit).id,
                          site_id=make.site(unit).id, service_item_id=make.item(unit).id,
                          checked_in_at=start, checked_out_at=start + dt.timedelta(hours=1),
                          status=SessionStatus.verified, credited_minutes=60,
                          source=SessionSource.manual))
    db.commit()


@pytest.mark.parametrize("name, fallback", [
    ("證書.pdf", "download.pdf"),
    ("出缺席-大安據點-2026-03.csv", "2026-03.csv"),
    ("attendance-大安據點-2026-03-02.pdf", "attendance-2026-03-02.pdf"),
    ('Café "menu".pdf', "Cafe menu.pdf"),
    ("受訓證明", "download"),
])
def test_a_name_that_is_not_ascii_keeps_a_readable_fallback(name, fallback):
    assert ascii_filename(name) == fallback
    kind, plain, utf8 = content_disposition(name).split("; ")
    assert (kind, plain) == ("attachment", f'filename="{fallback}"')
    assert utf8.startswith("filename*=UTF-8''") and unquote(utf8.split("''", 1)[1]) == name
    assert content_disposition(name, inline=True).startswith(f'inline; filename="{fallback}"; ')
