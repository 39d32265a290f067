"""The performance certificate as printed (review 5092): the signature block keeps the unit's
name whole, and the 服務期間 is the period its eligibility counted (rules.md: service years from
the later of training and joining the unit), not the first verified session."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from models import certificates
from models.base import TAIPEI
from models.people import VolunteerStatus
from models.service import ServiceSession, SessionSource, SessionStatus

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Taipei
TODAY = dt.date(2026, 12, 6)
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="pdftotext missing: ./dev setup installs poppler-utils")


def layout_lines(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return [line.strip() for line in text.splitlines() if line.strip()]


@needs_poppler
@pytest.mark.parametrize("name", ["財團法人臺北市暖陽社會福利基金會",
                                  "社團法人中華民國臺北市大同區老人福利暨社區照顧服務協進會附設日間照顧中心"])
def test_the_signature_keeps_the_unit_name_on_one_line(name, tmp_path):
    """The signature read "志願服務運用單位：財團法人臺北市暖陽社會福利基 / 金會". The name stays
    whole: shrunk beside its label, or (a very long one) on the line under it."""
    from webapp.printing.performance import performance_pdf

    data = performance_pdf({
        "volunteer_name": "李素珍", "volunteer_no": "1005", "birth_date": "1968-02-15",
        "record_book_no": "北市志字第110004號", "period_start": "2024-04-03",
        "period_end": "2026-12-06", "service_items": ["長者陪伴關懷"], "service_minutes": 11790,
        "prior_minutes": 0, "unit_name": name, "responsible_person": "王大明",
        "issued_on": "2026-12-06", "serial": "P001-2026-00001"})
    lines = layout_lines(data, tmp_path)
    at = next(i for i, line in enumerate(lines) if line.startswith("志願服務運用單位："))
    assert lines[at] == "志願服務運用單位：" + name or (
        lines[at] == "志願服務運用單位：" and lines[at + 1] == name), lines[at:at + 3]
    assert any(line.startswith("負責人：王大明") for line in lines[at + 1:at + 3])


def serve(db, vol, site, item, when, hours):
    db.add(ServiceSession(unit_id=vol.unit_id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=when,
                          checked_out_at=when + dt.timedelta(hours=1),
                          status=SessionStatus.verified, credited_minutes=hours * 60,
                          source=SessionSource.manual))
    db.commit()


def issue(db, make, unit, vol, now=NOW):
    boss = make.user(unit, role="admin")
    cert = certificates.request_certificate(db, vol, boss, now)
    db.commit()
    cert = certificates.issue_certificate(db, cert.id, boss, now)
    db.commit()
    return cert


def test_the_service_period_is_the_one_the_eligibility_counted(db, make, unit):
    """服務期間 began at the first verified session (2024-05-10) while eligibility counted the
    year of service from joining (2024-04-03). It now runs from the start the eligibility
    counted to the issue day, or to the day the volunteer left."""
    site, item = make.site(unit), make.item(unit)
    vol = make.volunteer(unit, name_zh="李素珍", joined_on=dt.date(2024, 4, 3))  # trained 2000
    serve(db, vol, site, item, dt.datetime(2024, 5, 10, 9, tzinfo=TAIPEI), 100)
    serve(db, vol, site, item, dt.datetime(2026, 11, 24, 9, tzinfo=TAIPEI), 60)
    e = certificates.certificate_eligibility(db, vol, TODAY)
    assert e.eligible and e.seniority_start == dt.date(2024, 4, 3)
    cert = issue(db, make, unit, vol)
    assert cert.printed["period_start"] == "2024-04-03" == e.seniority_start.isoformat()
    assert cert.printed["period_end"] == "2026-12-06"  # served up to the day it was issued

    gone = make.volunteer(unit, name_zh="離隊志工", joined_on=dt.date(2023, 2, 1))
    serve(db, gone, site, item, dt.datetime(2023, 3, 1, 9, tzinfo=TAIPEI), 160)
    gone.status, gone.left_on = VolunteerStatus.inactive, dt.date(2026, 9, 30)
    db.commit()
    cert = issue(db, make, unit, gone)
    assert (cert.printed["period_start"], cert.printed["period_end"]) == ("2023-02-01", "2026-09-30")


def test_a_volunteer_who_left_counts_service_months_to_the_leaving_day(db, make, unit):
    """Review 5092 (found while fixing the period): a volunteer who left after 10 months was
    counted months up to today, so waiting made them eligible for the certificate's 12 months
    of service while the certificate would print a period of 10 months."""
    site, item = make.site(unit), make.item(unit)
    gone = make.volunteer(unit, name_zh="十個月", joined_on=dt.date(2025, 1, 1))
    serve(db, gone, site, item, dt.datetime(2025, 3, 1, 9, tzinfo=TAIPEI), 200)
    gone.status, gone.left_on = VolunteerStatus.inactive, dt.date(2025, 11, 1)
    db.commit()
    e = certificates.certificate_eligibility(db, gone, TODAY)
    assert e.unit_months == 10 and e.service_months == 10
    assert not e.eligible and e.missing_months == 2


@needs_poppler
def test_hours_print_as_the_app_writes_them_and_the_head_signs(db, make, unit, tmp_path):
    """Review (screen 102): the certificate printed "累計 196.5 小時" while every page says
    "196 小時 30 分", and "負責人：" stood empty. Hours are written by the app's one formatter
    (thousands grouped), the unit's responsible person is printed, and without one the label
    is followed by a line to sign by hand."""
    from models.unit_profile import profile_of
    from webapp.printing.performance import performance_pdf

    site, item = make.site(unit), make.item(unit)
    vol = make.volunteer(unit, joined_on=dt.date(2020, 1, 1))
    serve(db, vol, site, item, dt.datetime(2024, 5, 10, 9, tzinfo=TAIPEI), 1500)
    profile = profile_of(db, unit.id)
    profile.responsible_person = "王大明"
    db.add(profile)
    db.commit()
    cert = issue(db, make, unit, vol)
    assert cert.printed["responsible_person"] == "王大明"
    lines = layout_lines(performance_pdf(cert.printed), tmp_path)
    assert any("累計 1,500 小時 00 分" in line for line in lines), lines
    assert any(line.startswith("負責人：王大明") for line in lines)

    blank = dict(cert.printed, responsible_person="", service_minutes=196 * 60 + 30)
    lines = layout_lines(performance_pdf(blank), tmp_path)
    assert any("累計 196 小時 30 分" in line for line in lines) and not any(
        "196.5" in line for line in lines)
    assert "負責人：" in lines
