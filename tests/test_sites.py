"""Service sites and their QR posters: create, edit, new poster code, the A4 poster PDF —
the domain functions and the admin pages over real HTTP."""
import re
import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from models import sites
from models.audit import AuditEntry
from models.service import DEFAULT_MAX_SESSION_MINUTES, Site
from models.sites import InvalidSite

SITE_FORM = {"name_zh": "萬華社區關懷據點", "name_en": "Wanhua Community Care Point",
             "address": "臺北市萬華區西園路二段 1 號", "max_session_minutes": "480", "active": "y"}


def fresh(db):
    """Forget what the test session loaded; the next read sees what requests committed."""
    db.rollback()
    db.expire_all()
    return db


def site_count(db) -> int:
    fresh(db)
    return db.scalar(select(func.count()).select_from(Site))


def audits(db, action):
    fresh(db)
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                      .order_by(AuditEntry.id)).all()


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "poster.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def qr_in_pdf(data: bytes, tmp_path) -> str:
    """Render the PDF's page and read its QR code back, as a phone camera would."""
    path = tmp_path / "qr.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)
    out = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "page.png")],
                         capture_output=True, text=True)
    return out.stdout.strip()


needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="pdftotext missing: ./dev setup installs poppler-utils")
needs_zbar = pytest.mark.skipif(shutil.which("zbarimg") is None,
                                reason="zbarimg missing: ./dev setup installs zbar-tools")


# --- domain --------------------------------------------------------------------------------

def test_create_site_with_defaults_and_audit(make, unit, db):
    actor = make.user(unit, role="admin")
    site = sites.create_site(db, actor, name_zh=" 大安據點 ")
    db.commit()
    assert site.unit_id == unit.id and site.name_zh == "大安據點"
    assert site.max_session_minutes == DEFAULT_MAX_SESSION_MINUTES == 720
    assert site.active and len(site.token) >= 20
    [entry] = audits(db, "site_create")
    assert entry.entity == "site" and entry.entity_id == site.id and entry.before is None
    assert entry.after_data()["name_zh"] == "大安據點"
    assert entry.after_data()["token_hint"] == sites.token_hint(site.token)
    assert site.token not in entry.after  # the token itself is not copied into the log


@pytest.mark.parametrize("values, errors", [
    ({"name_zh": ""}, {"name_zh": "required"}),
    ({"name_zh": "x" * 121}, {"name_zh": "too_long"}),
    ({"latitude": 25.03}, {"longitude": "incomplete_location", "radius_m": "incomplete_location"}),
    ({"latitude": 91.0, "longitude": 121.5, "radius_m": 100}, {"latitude": "out_of_range"}),
    ({"latitude": 25.0, "longitude": 121.5, "radius_m": 5}, {"radius_m": "out_of_range"}),
    ({"max_session_minutes": 10}, {"max_session_minutes": "out_of_range"}),
])
def test_create_site_refuses_bad_values(make, unit, db, values, errors):
    actor = make.user(unit, role="admin")
    with pytest.raises(InvalidSite) as caught:
        sites.create_site(db, actor, **{"name_zh": "據點", **values})
    db.rollback()
    assert caught.value.errors == errors
    assert site_count(db) == 0 and audits(db, "site_create") == []


def test_update_site_keeps_the_token_and_logs_before_and_after(make, unit, db):
    actor = make.user(unit, role="admin")
    site = make.site(unit, name_zh="舊名字")
    token = site.token
    sites.update_site(db, site, actor, name_zh="新名字", latitude=25.04, longitude=121.51,
                      radius_m=150)
    db.commit()
    assert site.token == token and site.radius_m == 150
    [entry] = audits(db, "site_update")
    assert entry.before_data()["name_zh"] == "舊名字" and entry.before_data()["radius_m"] is None
    assert entry.after_data()["name_zh"] == "新名字" and entry.after_data()["radius_m"] == 150


def test_regenerated_token_makes_the_old_one_stop_working(make, unit, db):
    actor = make.user(unit, role="admin")
    site = make.site(unit)
    old = site.token
    assert sites.site_by_token(db, old).id == site.id
    fresh(db)
    new = sites.regenerate_site_token(db, site, actor)
    db.commit()
    assert new != old
    assert sites.site_by_token(db, old) is None
    assert sites.site_by_token(db, new).id == site.id
    [entry] = audits(db, "site_token_regenerate")
    assert entry.before_data()["token_hint"] == sites.token_hint(old)
    assert entry.after_data()["token_hint"] == sites.token_hint(new)


def test_site_by_token_refuses_unknown_empty_and_inactive(make, unit, db):
    inactive = make.site(unit, active=False)
    assert sites.site_by_token(db, inactive.token) is None
    assert sites.site_by_token(db, "no-such-token") is None
    assert sites.site_by_token(db, "") is None
    assert sites.site_by_token(db, None) is None
    assert sites.site_by_token(db, "x" * 500) is None


def test_another_units_admin_cannot_change_a_site(make, unit, db):
    site = make.site(unit)
    outsider = make.user(make.unit(), role="admin")
    with pytest.raises(PermissionError):
        sites.regenerate_site_token(db, site, outsider)
    db.rollback()
    with pytest.raises(PermissionError):
        sites.update_site(db, site, outsider, name_zh="搶走")
    db.rollback()


# --- who may use the pages -----------------------------------------------------------------

def site_urls(site_id):
    return [("GET", "/admin/sites/"), ("GET", "/admin/sites/new"), ("POST", "/admin/sites/new"),
            ("GET", f"/admin/sites/{site_id}/edit"), ("POST", f"/admin/sites/{site_id}/edit"),
            ("GET", f"/admin/sites/{site_id}/qr.svg"), ("GET", f"/admin/sites/{site_id}/token"),
            ("POST", f"/admin/sites/{site_id}/token"),
            ("GET", f"/admin/sites/{site_id}/poster.pdf")]


def test_anonymous_is_sent_to_sign_in(anon, make, unit):
    site = make.site(unit)
    for method, url in site_urls(site.id):
        response = anon.get(url) if method == "GET" else anon.post(url, SITE_FORM)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in?next=/admin/sites"), url


@pytest.mark.parametrize("role", ["volunteer", "supervisor"])
def test_only_admins_may_use_the_site_pages(request, role, make, unit, db):
    person = request.getfixturevalue(role)
    site = make.site(unit)
    token = site.token
    for method, url in site_urls(site.id):
        response = person.get(url) if method == "GET" else person.post(url, SITE_FORM)
        assert response.status_code == 403, (role, url)
    fresh(db)
    assert db.get(Site, site.id).token == token and site_count(db) == 1
    assert 'href="/admin/sites/"' not in person.get("/").get_data(as_text=True)


def test_another_units_site_is_not_found(admin, make):
    site = make.site(make.unit())
    for method, url in site_urls(site.id)[3:]:
        response = admin.get(url) if method == "GET" else admin.post(url, SITE_FORM)
        assert response.status_code == 404, url


# --- the pages -----------------------------------------------------------------------------

def test_admin_creates_a_site(admin, unit, db):
    assert 'href="/admin/sites/"' in admin.get("/").get_data(as_text=True)  # nav link
    form = admin.get("/admin/sites/new").get_data(as_text=True)
    assert 'value="720"' in form  # default longest session
    response = admin.post("/admin/sites/new", {**SITE_FORM, "latitude": "25.0365",
                                               "longitude": "121.4999", "radius_m": "120"})
    assert response.status_code == 302
    fresh(db)
    site = db.scalar(select(Site))
    assert response.headers["Location"] == f"/admin/sites/{site.id}/edit"
    assert (site.unit_id, site.name_zh, site.name_en) == (unit.id, SITE_FORM["name_zh"],
                                                          SITE_FORM["name_en"])
    assert (site.latitude, site.longitude, site.radius_m) == (25.0365, 121.4999, 120)
    assert site.max_session_minutes == 480 and site.active
    [entry] = audits(db, "site_create")
    assert entry.actor_user_id == admin.user.id
    listing = admin.get("/admin/sites/").get_data(as_text=True)
    assert SITE_FORM["name_zh"] in listing and "120 公尺" in listing


@pytest.mark.parametrize("changes, message", [
    ({"name_zh": ""}, "請輸入服務地點名稱"),
    ({"name_en": "x" * 121}, "最多 120 個字元"),
    ({"latitude": "25.03"}, "緯度、經度與半徑請一起填寫"),
    ({"latitude": "abc", "longitude": "121.5", "radius_m": "100"}, "請輸入數字"),
    ({"latitude": "25", "longitude": "200", "radius_m": "100"}, "請輸入 -180 到 180 之間的數字"),
    ({"latitude": "25", "longitude": "121", "radius_m": "3"}, "請輸入 10 到 5000 之間的數字"),
    ({"max_session_minutes": ""}, "請輸入單次服務最長的分鐘數"),
    ({"max_session_minutes": "2000"}, "請輸入 30 到 1440 之間的數字"),
    ({"max_session_minutes": "8h"}, "請輸入整數分鐘"),
])
def test_bad_site_input_returns_the_form_with_the_error(admin, db, changes, message):
    response = admin.post("/admin/sites/new", {**SITE_FORM, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert site_count(db) == 0
    # a value that is not a number gets its own message only, not also the range rule
    if "abc" in changes.values() or "8h" in changes.values():
        assert "之間的數字" not in page


def test_a_site_name_is_used_once_in_a_unit(admin, make, unit, db):
    """The create form sent twice (a double tap) makes one site, and an edit cannot give a
    site another's name: posters and pages could not tell them apart."""
    assert admin.post("/admin/sites/new", SITE_FORM).status_code == 302
    again = admin.post("/admin/sites/new", SITE_FORM)
    assert again.status_code == 400 and "本單位已有同名的服務地點" in again.get_data(as_text=True)
    assert site_count(db) == 1
    other = make.site(unit, name_zh="另一處")
    rename = admin.post(f"/admin/sites/{other.id}/edit", {**SITE_FORM})
    assert rename.status_code == 400 and "本單位已有同名的服務地點" in rename.get_data(as_text=True)
    assert fresh(db).get(Site, other.id).name_zh == "另一處"
    # its own name again is no clash; another unit may use the name
    assert admin.post(f"/admin/sites/{other.id}/edit",
                      {**SITE_FORM, "name_zh": "另一處"}).status_code == 302
    fresh(db)
    elsewhere = make.user(make.unit())
    sites.create_site(db, elsewhere, name_zh=SITE_FORM["name_zh"])  # another unit: no clash
    db.commit()


def test_admin_edits_a_site(admin, make, unit, db):
    site = make.site(unit, name_zh="舊名字")
    token = site.token
    page = admin.get(f"/admin/sites/{site.id}/edit").get_data(as_text=True)
    assert 'value="舊名字"' in page and sites.token_hint(token) in page
    bad = admin.post(f"/admin/sites/{site.id}/edit", {**SITE_FORM, "name_zh": ""})
    assert bad.status_code == 400
    response = admin.post(f"/admin/sites/{site.id}/edit",
                          {**SITE_FORM, "name_zh": "新名字", "active": ""})
    assert response.status_code == 302
    fresh(db)
    site = db.get(Site, site.id)
    assert site.name_zh == "新名字" and not site.active and site.token == token
    [entry] = audits(db, "site_update")
    assert entry.before_data()["name_zh"] == "舊名字" and entry.before_data()["active"] is True
    assert entry.after_data()["name_zh"] == "新名字" and entry.after_data()["active"] is False


def test_new_poster_code_asks_first_then_replaces_the_token(admin, make, unit, db):
    site = make.site(unit)
    old = site.token
    url = f"/admin/sites/{site.id}/token"
    confirm = admin.get(url)
    assert confirm.status_code == 200
    assert "立即失效" in confirm.get_data(as_text=True)
    fresh(db)
    assert db.get(Site, site.id).token == old  # asking changes nothing
    assert admin.client.post(url).status_code == 400  # no CSRF token: refused
    response = admin.post(url)
    assert response.status_code == 302
    fresh(db)
    new = db.get(Site, site.id).token
    assert new != old
    assert sites.site_by_token(db, old) is None and sites.site_by_token(db, new).id == site.id
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert sites.token_hint(new) in page
    [entry] = audits(db, "site_token_regenerate")
    assert entry.actor_user_id == admin.user.id
    assert entry.before_data()["token_hint"] != entry.after_data()["token_hint"]


def test_old_poster_address_stops_working_for_volunteers(app, admin, make, unit, db):
    """End to end: the phone check-in page (kiosk blueprint) looks sites up by token."""
    from tests.conftest import HttpUser

    site = make.site(unit)
    old = site.token
    phone = HttpUser(app.test_client())
    person = make.user(unit, role="volunteer")
    assert phone.sign_in(person.email, make.PASSWORD).status_code == 302
    assert phone.get(f"/s/{old}").status_code == 200
    admin.post(f"/admin/sites/{site.id}/token")
    fresh(db)
    new = db.get(Site, site.id).token
    assert phone.get(f"/s/{old}").status_code == 404
    assert phone.get(f"/s/{new}").status_code == 200


def test_qr_preview_is_an_svg_of_the_checkin_address(admin, make, unit):
    site = make.site(unit)
    response = admin.get(f"/admin/sites/{site.id}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).lstrip().startswith("<?xml")


@needs_poppler
def test_poster_pdf_names_the_site_in_both_languages(admin, make, unit, tmp_path):
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Long-term Care Centre")
    response = admin.get(f"/admin/sites/{site.id}/poster.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_data()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    assert "大安長照服務中心" in text and "Da'an Long-term Care Centre" in text
    assert unit.name in text
    assert "請用手機掃描 QR 碼簽到／簽退" in text
    assert "Scan with your phone to check in / out" in text
    assert f"http://localhost/s/{site.token}" in text
    assert sites.token_hint(site.token) in text


@needs_poppler
@needs_zbar
def test_poster_qr_carries_the_current_token(admin, make, unit, db, tmp_path):
    site = make.site(unit)
    old = site.token
    first = admin.get(f"/admin/sites/{site.id}/poster.pdf").get_data()
    assert qr_in_pdf(first, tmp_path) == f"http://localhost/s/{old}"
    admin.post(f"/admin/sites/{site.id}/token")
    fresh(db)
    new = db.get(Site, site.id).token
    second = admin.get(f"/admin/sites/{site.id}/poster.pdf").get_data()
    assert qr_in_pdf(second, tmp_path) == f"http://localhost/s/{new}"
    assert re.search(re.escape(old), pdf_text(second, tmp_path)) is None


@needs_poppler
@needs_zbar
def test_poster_points_at_the_public_address_when_one_is_set(app, admin, make, unit, tmp_path, monkeypatch):
    """An admin printing through an internal address (http://127.0.0.1:5314) printed that
    address on the poster: with HOURBOOK_BASE_URL set, the poster and its QR use that."""
    site = make.site(unit)
    monkeypatch.setitem(app.config, "HOURBOOK_BASE_URL", "https://hours.example.tw")
    pdf = admin.get(f"/admin/sites/{site.id}/poster.pdf").get_data()
    assert qr_in_pdf(pdf, tmp_path) == f"https://hours.example.tw/s/{site.token}"
    assert "localhost" not in pdf_text(pdf, tmp_path)


def test_no_poster_for_a_site_not_in_use(admin, make, unit):
    site = make.site(unit, active=False)
    response = admin.get(f"/admin/sites/{site.id}/poster.pdf")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/sites/{site.id}/edit"
    assert "已停用" in admin.get(response.headers["Location"]).get_data(as_text=True)


def test_site_pages_speak_english_on_request(admin, make, unit):
    make.site(unit, name_zh="大安據點")
    admin.post("/language", {"lang": "en"})
    page = admin.get("/admin/sites/").get_data(as_text=True)
    assert "Service sites" in page and "Poster (PDF)" in page and "大安據點" in page
