"""The admin pipeline over HTTP and the domain: openings, interview, decisions, acceptance
(volunteer + account + one-time link), stale rows, refusals, roles, audit, /welcome."""
import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import account_links
from models import openings
from models import recruitment as r
from models.audit import AuditEntry
from models.base import TAIPEI, taipei_date, utcnow
from models.idnumbers import mask, with_check_digit
from models.people import Gender, Role, User, Volunteer, VolunteerStatus
from models.account_links import SetPasswordLink, token_hash
from models.openings import Opening, OpeningStatus
from models.recruitment import Application, ApplicationStatus

ROOT = Path(__file__).resolve().parent.parent


def fresh(db, obj):
    db.rollback()
    db.expire_all()
    return db.get(type(obj), obj.id)


@pytest.fixture
def application(db, unit):
    a = Application(unit_id=unit.id, reference_no=f"A2026-{unit.id:05d}", name_zh="林美玲",
                    gender=Gender.female, birth_date=dt.date(1985, 3, 2), phone="0912-000-111",
                    email="meiling@example.tw", id_number=with_check_digit("F22334455"),
                    address="臺北市", availability="週末", emergency_contact="林先生",
                    emergency_phone="0922-000-111", privacy_consent_at=utcnow())
    db.add(a)
    db.commit()
    return a


def local(moment):
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")


def test_pipeline_is_admin_only(anon, supervisor, volunteer, admin, application):
    assert anon.get("/admin/recruitment/").status_code == 302
    assert supervisor.get("/admin/recruitment/").status_code == 403
    assert volunteer.get("/admin/recruitment/").status_code == 403
    assert supervisor.post(f"/admin/recruitment/applications/{application.id}/decide",
                           {"outcome": "accepted"}, hx=True).status_code == 403
    page = admin.get("/admin/recruitment/").get_data(as_text=True)
    assert "林美玲" in page and f'id="application-{application.id}"' in page
    assert with_check_digit("F22334455") not in page  # not on the list


def test_other_units_application_is_404(admin, make, db):
    other = make.unit()
    a = Application(unit_id=other.id, reference_no="A2026-99999", name_zh="別人", gender=Gender.male,
                    birth_date=dt.date(1980, 1, 1), phone="0900", id_number="A123456789",
                    privacy_consent_at=utcnow())
    db.add(a)
    db.commit()
    assert admin.get(f"/admin/recruitment/applications/{a.id}").status_code == 404
    assert admin.post(f"/admin/recruitment/applications/{a.id}/decide",
                      {"outcome": "declined"}, hx=True).status_code == 404


def test_schedule_interview_then_accept_creates_volunteer_account_and_link(admin, db, application, make, unit):
    make.volunteer(unit, volunteer_no="1041")
    when = utcnow().replace(second=0, microsecond=0) + dt.timedelta(days=2)
    response = admin.post(f"/admin/recruitment/applications/{application.id}/interview",
                          {"version": application.version, "interview_at": local(when),
                           "interview_place": "二樓會議室", "interviewer_id": admin.user.id,
                           "note": "有照顧經驗"}, hx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="application-{application.id}"') and "二樓會議室" in row
    a = fresh(db, application)
    assert a.status == ApplicationStatus.interview_scheduled and a.interview_at == when
    assert a.interviewer_id == admin.user.id and "有照顧經驗" in a.notes

    response = admin.post(f"/admin/recruitment/applications/{a.id}/decide",
                          {"version": a.version, "outcome": "accepted", "note": "錄取"}, hx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    row = response.get_data(as_text=True)
    assert "/welcome/" in row and "data:image/svg+xml;base64," in row
    a = fresh(db, a)
    assert a.status == ApplicationStatus.accepted and a.decided_at is not None
    vol = a.volunteer
    assert vol.volunteer_no == "1042" and vol.status == VolunteerStatus.active
    assert f'href="/evaluation/volunteers/{vol.id}/status">志工編號 1042</a>' in row  # to the new volunteer
    assert vol.joined_on is not None and vol.id_number == a.id_number and vol.name_zh == "林美玲"
    user = vol.user
    assert user.role == Role.volunteer and user.email == "meiling@example.tw"
    link = db.scalars(select(SetPasswordLink).where(SetPasswordLink.user_id == user.id)).one()
    token = row.split("/welcome/")[1].split('"')[0]
    assert link.token_hash == token_hash(token) and token not in link.token_hash
    assert dt.timedelta(days=13, hours=23) < link.expires_at - link.created_at <= dt.timedelta(days=14)
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.unit_id == a.unit_id)))
    assert {"schedule_interview", "accepted", "create_volunteer", "create_set_password_link"} <= actions
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "accepted"))
    assert entry.before_data()["status"] == "interview_scheduled"
    assert entry.after_data()["status"] == "accepted" and entry.actor_user_id == admin.user.id


def test_accepting_twice_is_refused(admin, db, application):
    admin.post(f"/admin/recruitment/applications/{application.id}/decide",
               {"outcome": "accepted"}, hx=True)
    response = admin.post(f"/admin/recruitment/applications/{application.id}/decide",
                          {"outcome": "accepted"}, hx=True)
    assert response.status_code == 400
    assert "已經錄取" in response.get_data(as_text=True)
    db.rollback()
    assert len(db.scalars(select(Volunteer)).all()) == 1 + 0  # only the accepted one (admin is no volunteer)


def test_impossible_transition_is_refused(admin, db, application):
    admin.post(f"/admin/recruitment/applications/{application.id}/decide",
               {"outcome": "declined"}, hx=True)
    a = fresh(db, application)
    assert a.status == ApplicationStatus.declined
    response = admin.post(f"/admin/recruitment/applications/{a.id}/interview",
                          {"interview_at": local(utcnow()), "interview_place": "A"}, hx=True)
    assert response.status_code == 400
    assert "不能改為" in response.get_data(as_text=True)
    assert fresh(db, a).status == ApplicationStatus.declined
    bad = admin.post(f"/admin/recruitment/applications/{a.id}/decide", {"outcome": "applied"}, hx=True)
    assert bad.status_code == 400


def test_waitlist_then_accept(admin, db, application):
    admin.post(f"/admin/recruitment/applications/{application.id}/decide",
               {"outcome": "waitlisted", "note": "名額已滿"}, hx=True)
    a = fresh(db, application)
    assert a.status == ApplicationStatus.waitlisted and "名額已滿" in a.notes
    response = admin.post(f"/admin/recruitment/applications/{a.id}/decide",
                          {"outcome": "accepted", "version": a.version}, hx=True)
    assert response.status_code == 200


def test_interview_needs_when_and_where(admin, db, application):
    response = admin.post(f"/admin/recruitment/applications/{application.id}/interview",
                          {"interview_at": "", "interview_place": "A"}, hx=True)
    assert response.status_code == 400 and "請輸入面談時間" in response.get_data(as_text=True)
    response = admin.post(f"/admin/recruitment/applications/{application.id}/interview",
                          {"interview_at": local(utcnow()), "interview_place": ""}, hx=True)
    assert response.status_code == 400 and "請輸入面談地點" in response.get_data(as_text=True)
    assert fresh(db, application).status == ApplicationStatus.applied


def test_stale_version_says_who_changed_it(admin, app, make, unit, db, application):
    from tests.conftest import HttpUser

    other = make.user(unit, role="admin", email="other-admin@example.tw")
    second = HttpUser(app.test_client())
    assert second.sign_in(other.email, make.PASSWORD).status_code == 302
    old_version = application.version
    assert second.post(f"/admin/recruitment/applications/{application.id}/decide",
                       {"outcome": "waitlisted", "version": old_version}, hx=True).status_code == 200
    response = admin.post(f"/admin/recruitment/applications/{application.id}/decide",
                          {"outcome": "declined", "version": old_version}, hx=True)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "other-admin@example.tw" in page and "已經被" in page
    assert fresh(db, application).status == ApplicationStatus.waitlisted


def test_duplicate_id_number_is_shown_and_blocks_accepting(admin, db, make, unit, application):
    make.volunteer(unit, name_zh="林美玲舊", id_number=application.id_number, volunteer_no="2001")
    page = admin.get("/admin/recruitment/").get_data(as_text=True)
    assert "林美玲舊" in page
    decide_form = admin.get(f"/admin/recruitment/applications/{application.id}/row?mode=decide")
    assert "林美玲舊 (2001)" in decide_form.get_data(as_text=True)
    response = admin.post(f"/admin/recruitment/applications/{application.id}/decide",
                          {"outcome": "accepted"}, hx=True)
    assert response.status_code == 400 and "林美玲舊 (2001)" in response.get_data(as_text=True)
    assert fresh(db, application).status == ApplicationStatus.applied
    assert db.scalar(select(User).where(User.email == "meiling@example.tw")) is None


def test_email_taken_or_missing_gets_a_placeholder_and_smtp_sends_when_configured(
        admin, app, db, make, unit, application, smtp_inbox):
    make.user(unit, role="supervisor", email="meiling@example.tw")
    response = admin.post(f"/admin/recruitment/applications/{application.id}/decide",
                          {"outcome": "accepted"}, hx=True)
    assert response.status_code == 200
    user = fresh(db, application).volunteer.user
    assert user.email.endswith("@" + account_links.PLACEHOLDER_DOMAIN)
    assert smtp_inbox.messages == []  # a placeholder address is never mailed

    b = Application(unit_id=unit.id, reference_no="A2026-77777", name_zh="張三", gender=Gender.male,
                    birth_date=dt.date(1990, 1, 1), phone="0900", email="zhang@example.tw",
                    id_number=with_check_digit("B22334455"), privacy_consent_at=utcnow())
    db.add(b)
    db.commit()
    response = admin.post(f"/admin/recruitment/applications/{b.id}/decide", {"outcome": "accepted"}, hx=True)
    assert response.status_code == 200
    [(to, message)] = smtp_inbox.messages
    assert to == ["zhang@example.tw"] and message["From"] == "hourbook@example.tw"
    assert "/welcome/" in message.get_content() and "張三" in message.get_content()


def _accept(admin, db, application):
    response = admin.post(f"/admin/recruitment/applications/{application.id}/decide",
                          {"outcome": "accepted"}, hx=True)
    token = response.get_data(as_text=True).split("/welcome/")[1].split('"')[0]
    return token, fresh(db, application).volunteer


def test_welcome_link_sets_password_and_pin_once(app, admin, anon, db, application):
    token, vol = _accept(admin, db, application)
    assert anon.get(f"/welcome/{token}").status_code == 200
    bad = anon.post(f"/welcome/{token}", {"password": "short", "confirm": "short", "pin": "12", "pin_confirm": "12"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "8 到 200 個字元" in page and "PIN 碼為 4 到 6 位數字" in page
    mismatch = anon.post(f"/welcome/{token}", {"password": "long enough 1", "confirm": "other one 1", "pin": "1234", "pin_confirm": "1234"})
    assert mismatch.status_code == 400 and "兩次輸入的密碼不一致" in mismatch.get_data(as_text=True)
    for easy_pin in ("1111", "2345", vol.volunteer_no):  # the welcome page has the same PIN rule
        easy = anon.post(f"/welcome/{token}", {"password": "my new pass 1", "confirm": "my new pass 1",
                                               "pin": easy_pin, "pin_confirm": easy_pin})
        assert easy.status_code == 400 and "這組 PIN 碼太容易被猜到" in easy.get_data(as_text=True)
    ok = anon.post(f"/welcome/{token}", {"password": "my new pass 1", "confirm": "my new pass 1", "pin": "4831", "pin_confirm": "4831"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    home = anon.get("/")
    assert home.status_code == 200 and "林美玲" in home.get_data(as_text=True)
    vol = fresh(db, vol)
    assert vol.user.check_password("my new pass 1") and vol.check_pin("4831")
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "account_setup")) is not None
    again = app.test_client().get(f"/welcome/{token}")
    assert again.status_code == 410 and "已經使用過" in again.get_data(as_text=True)


def test_expired_and_unknown_links_are_refused(admin, anon, db, application):
    token, vol = _accept(admin, db, application)
    link = db.scalars(select(SetPasswordLink)).one()
    link.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.commit()
    response = anon.get(f"/welcome/{token}")
    assert response.status_code == 410 and "已過期" in response.get_data(as_text=True)
    assert anon.post(f"/welcome/{token}", {"password": "x" * 10, "confirm": "x" * 10,
                                           "pin": "1234", "pin_confirm": "1234"}).status_code == 410
    assert anon.get("/welcome/nonsense").status_code == 404


def test_new_welcome_sheet_replaces_the_old_link(admin, anon, db, application):
    token, vol = _accept(admin, db, application)
    response = admin.post(f"/admin/recruitment/applications/{application.id}/welcome-link")
    assert response.status_code == 200
    new_token = response.get_data(as_text=True).split("/welcome/")[1].split('"')[0]
    assert new_token != token
    assert anon.get(f"/welcome/{token}").status_code == 410
    assert anon.get(f"/welcome/{new_token}").status_code == 200


def test_the_welcome_sheet_has_a_print_button_and_prints_alone(admin, db, application):
    """The sheet says "print this": a button does (app.js, data-print: no inline script under
    the CSP), and app.css prints the sheet without the menu, the sign-out or the buttons."""
    _accept(admin, db, application)
    page = admin.post(f"/admin/recruitment/applications/{application.id}/welcome-link").get_data(as_text=True)
    assert re.search(r'<button type="button" class="btn btn-primary" data-print hidden>列印這張單</button>', page)
    assert "onclick" not in page
    app_js = (ROOT / "webapp/static/js/app.js").read_text(encoding="utf-8")
    assert 'closest("[data-print]")' in app_js and "window.print()" in app_js
    css = (ROOT / "webapp/static/css/app.css").read_text(encoding="utf-8")
    rules = css[css.index("@media print"):]
    assert all(name in rules for name in (".topbar", ".mainnav", ".no-print", "[data-print]",
                                          "main:has(.welcome-sheet)"))


def test_a_new_welcome_sheet_for_an_account_in_use_is_asked_for_first(admin, anon, db, application):
    token, vol = _accept(admin, db, application)
    url = f"/admin/recruitment/applications/{application.id}/welcome-link"
    assert admin.get(url).headers["Location"].endswith(f"/applications/{application.id}")  # not set up
    assert anon.post(f"/welcome/{token}", {"password": "my new pass 1", "confirm": "my new pass 1",
                                           "pin": "4831", "pin_confirm": "4831"}).status_code == 302
    links = db.scalar(select(func.count()).select_from(SetPasswordLink))
    detail = admin.get(f"/admin/recruitment/applications/{application.id}").get_data(as_text=True)
    assert f'href="{url}">列印新的歡迎單</a>' in detail  # a question first, not a form that acts
    unasked = admin.post(url)  # e.g. a page from before the account was set up
    assert unasked.status_code == 302 and unasked.headers["Location"].endswith(url)
    assert fresh(db, vol).user.check_password("my new pass 1")
    assert db.scalar(select(func.count()).select_from(SetPasswordLink)) == links  # no new link
    question = admin.get(url).get_data(as_text=True)
    assert "設定好帳號" in question and "要為林美玲列印新的歡迎單嗎？" in question and 'name="confirmed" value="1"' in question
    with pytest.raises(r.AccountAlreadySetUp):
        r.new_link_for_application(db, application.id, fresh(db, admin.user), utcnow())
    db.rollback()
    sheet = admin.post(url, {"confirmed": "1"})
    assert sheet.status_code == 200 and "/welcome/" in sheet.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(SetPasswordLink)) == links + 1


def test_the_recruitment_page_shares_the_public_list_of_openings(admin, anon, supervisor):
    page = admin.get("/admin/recruitment/").get_data(as_text=True)
    share = page[page.index('id="all-openings"'):]
    assert 'href="http://localhost/openings"' in share and "所有招募的公開清單" in share
    assert 'src="/admin/recruitment/openings-qr.svg"' in share
    qr = admin.get("/admin/recruitment/openings-qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert supervisor.get("/admin/recruitment/openings-qr.svg").status_code == 403
    assert anon.get("/openings").status_code == 200  # the page it points to is public


def test_application_detail_masks_the_id_number(admin, application):
    page = admin.get(f"/admin/recruitment/applications/{application.id}").get_data(as_text=True)
    assert application.id_number not in page  # rules.md, privacy: masked on screen
    assert mask(application.id_number) in page  # A22****781, as on the insurance page
    # no form wording on the page as it opens (its actions are buttons)
    assert "選填" not in page
    assert f'id="application-{application.id}"' in admin.get("/admin/recruitment/").get_data(as_text=True)


def test_admin_creates_and_publishes_an_opening(admin, anon, db, make, unit):
    item = make.item(unit, name_zh="送餐服務")
    site = make.site(unit, name_zh="萬華據點")
    bad = admin.post("/admin/recruitment/openings/new", {"title": "", "wanted": "abc",
                                                          "closes_on": "soon", "status": "published"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "請輸入標題" in page and "請輸入 1 到 10000 之間的數字" in page and "請輸入像 2026-01-31 這樣的日期" in page
    assert page.count("請輸入 1 到 10000 之間的數字") == 1 and "請輸入整數" not in page  # one message for "abc"
    zero = admin.post("/admin/recruitment/openings/new", {"title": "X", "wanted": "0", "status": "draft"})
    assert zero.status_code == 400
    other_site = make.site(make.unit())
    foreign = admin.post("/admin/recruitment/openings/new", {"title": "X", "status": "draft",
                                                             "sites": [str(other_site.id)]})
    assert foreign.status_code == 400
    assert db.scalar(select(Opening)) is None
    response = admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "service_items": [str(item.id)], "sites": [str(site.id)],
        "description": "協助送餐", "schedule": "週一至週五 11:00", "wanted": "3",
        "requirements": "會騎機車", "closes_on": "2099-12-31", "status": "published"})
    assert response.status_code == 302
    twice = admin.post("/admin/recruitment/openings/new", {"title": "送餐志工", "status": "published"})
    assert twice.status_code == 400 and "已有同樣標題的招募" in twice.get_data(as_text=True)
    db.rollback()
    o = db.scalars(select(Opening)).one()
    assert o.status == OpeningStatus.published and [s.id for s in o.sites] == [site.id]
    detail = admin.get(f"/admin/recruitment/openings/{o.id}").get_data(as_text=True)
    assert f"/openings/{o.public_id}" in detail and "qr.svg" in detail
    assert "還沒有人報名。" in detail
    # the opening's page lists the applications sent to it, and only those
    for n, opening_id in enumerate((o.id, None)):
        db.add(Application(unit_id=unit.id, opening_id=opening_id, reference_no=f"A2099-0000{n}",
                           name_zh=("王報名", "李其他")[n], gender=Gender.female,
                           birth_date=dt.date(1985, 3, 2), phone="0912-000-111",
                           id_number=with_check_digit(f"F2233445{n}"), privacy_consent_at=utcnow()))
    db.commit()
    listed = admin.get(f"/admin/recruitment/openings/{o.id}").get_data(as_text=True)
    listed = listed.split('id="opening-applications"')[1].split("</section>")[0]
    assert "王報名" in listed and "A2099-00000</span> · 已報名" in listed and "李其他" not in listed
    text = admin.get(f"/admin/recruitment/openings/{o.id}/announcement.txt")
    assert text.mimetype == "text/plain"
    body = text.get_data(as_text=True)
    assert "送餐志工" in body and "萬華據點" in body and "2099-12-31" in body and f"/openings/{o.public_id}" in body
    assert anon.get(f"/openings/{o.public_id}").status_code == 200
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "create_opening"))
    assert entry.after_data()["title"] == "送餐志工"
    edit = admin.post(f"/admin/recruitment/openings/{o.id}/edit", {"title": "送餐志工", "status": "closed"})
    assert edit.status_code == 302
    db.rollback()
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "update_opening")).before_data()["status"] == "published"


def test_domain_next_volunteer_no_and_minor_rule(db, make, unit):
    assert r.next_volunteer_no(db, unit.id) == "1001"
    make.volunteer(unit, volunteer_no="1500")
    make.volunteer(unit, volunteer_no="X12")
    assert r.next_volunteer_no(db, unit.id) == "1501"
    assert r.is_minor(dt.date(2010, 6, 2), dt.date(2028, 6, 1))
    assert not r.is_minor(dt.date(2010, 6, 1), dt.date(2028, 6, 1))


def test_unaccepted_applications_are_deleted_after_a_year(app, db, unit):
    now = utcnow()

    def add(ref, status, created_days_ago, decided_days_ago=None):
        a = Application(unit_id=unit.id, reference_no=ref, name_zh="申請人", gender=Gender.male,
                        birth_date=dt.date(1990, 1, 1), phone="0912", id_number=with_check_digit("A12345678"),
                        privacy_consent_at=now, status=status,
                        created_at=now - dt.timedelta(days=created_days_ago),
                        decided_at=None if decided_days_ago is None else now - dt.timedelta(days=decided_days_ago))
        db.add(a)
        return a

    old_declined = add("P-1", ApplicationStatus.declined, 500, 400)
    recent_declined = add("P-2", ApplicationStatus.declined, 500, 100)
    old_undecided = add("P-3", ApplicationStatus.applied, 400)
    old_accepted = add("P-4", ApplicationStatus.accepted, 800, 700)
    db.commit()
    result = app.test_cli_runner().invoke(args=["applications", "purge"])
    assert "deleted 2 applications older" in result.output
    db.rollback()
    left = set(db.scalars(select(Application.reference_no)))
    assert left == {"P-2", "P-4"}
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "applications_purged"))
    assert sorted(entry.after_data()["ids"]) == sorted([old_declined.id, old_undecided.id])
    assert "申請人" not in (entry.after or "")
    _ = (recent_declined, old_accepted)


def test_opening_form_offers_active_items_in_the_readers_language(admin, db, make, unit):
    """The form listed every item by its Chinese name, retired ones too."""
    active = make.item(unit, code="C01", name_zh="送餐服務", name_en="Meal delivery")
    retired = make.item(unit, code="C09", name_zh="舊活動支援", name_en="Old events", active=False)
    make.site(unit, name_zh="萬華據點", name_en="Wanhua centre")
    closed = make.site(unit, name_zh="舊據點", name_en="Old centre", active=False)
    zh = admin.get("/admin/recruitment/openings/new").get_data(as_text=True)
    assert "C01 送餐服務" in zh and "舊活動支援" not in zh and "舊據點" not in zh
    en = admin.get("/admin/recruitment/openings/new",
                   headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "C01 Meal delivery" in en and "Wanhua centre" in en and "Old events" not in en

    # a retired item or site cannot be added by hand either
    refused = admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "status": "draft", "service_items": [str(retired.id)]})
    assert refused.status_code == 400 and "服務項目 C09 已停用" in refused.get_data(as_text=True)
    refused = admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "status": "draft", "sites": [str(closed.id)]})
    assert refused.status_code == 400 and "不能加入已停用的服務地點" in refused.get_data(as_text=True)
    assert db.scalar(select(Opening)) is None

    # an opening that named an item before it was retired keeps it, marked, and saves as it was
    saved = admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "status": "draft", "service_items": [str(active.id)]})
    assert saved.status_code == 302
    db.rollback()
    opening = db.scalar(select(Opening))
    active.active = False
    db.commit()
    form = admin.get(f"/admin/recruitment/openings/{opening.id}/edit").get_data(as_text=True)
    assert "C01 送餐服務（已停用）" in form
    again = admin.post(f"/admin/recruitment/openings/{opening.id}/edit", {
        "title": "送餐志工", "status": "published", "service_items": [str(active.id)]})
    assert again.status_code == 302


def test_announcement_text_is_chinese_whatever_the_ui_language(admin, db, make, unit):
    """The Taipei city platform takes Chinese: with the UI in English the box and the download
    said "Service items:" and "What the work is:"."""
    item = make.item(unit, code="C01", name_zh="送餐服務", name_en="Meal delivery")
    site = make.site(unit, name_zh="萬華據點", name_en="Wanhua centre")
    admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "status": "published", "service_items": [str(item.id)],
        "sites": [str(site.id)], "description": "協助送餐", "closes_on": "2099-12-31"})
    db.rollback()
    o = db.scalar(select(Opening))
    chinese = (f"送餐志工\n\n單位：\n{unit.name}\n\n服務項目：\n送餐服務\n\n服務地點：\n萬華據點\n\n"
               "工作內容：\n協助送餐\n\n截止日期：\n2099-12-31\n\n")
    for headers in ({}, {"Accept-Language": "en"}):
        text = admin.get(f"/admin/recruitment/openings/{o.id}/announcement.txt",
                         headers=headers).get_data(as_text=True)
        assert text.startswith(chinese), text
        assert "Service items" not in text and "Wanhua centre" not in text and ":" not in text.split("http")[0]
    page = admin.get(f"/admin/recruitment/openings/{o.id}",
                     headers={"Accept-Language": "en"}).get_data(as_text=True)
    box = page.split('id="announcement"', 1)[1].split("</textarea>", 1)[0]
    assert box.startswith(' rows="12" readonly lang="zh-Hant-TW">')  # read and typed as Chinese
    assert chinese in box and "What the work is" not in box
    assert "Text for the city platform" in page and "Download as text" in page  # the page stays English
    assert "Edit" in page and "Sites" not in box


def test_announcement_text_names_the_unit_how_many_and_whom_to_contact(admin, db, make, unit):
    """The text for the city platform said 招募人數：5 with no 人, and neither which unit
    recruits nor how to reach it."""
    from models import unit_profile

    item, site = make.item(unit, code="C01", name_zh="送餐服務"), make.site(unit, name_zh="萬華據點")
    unit_profile.update_profile(db, unit, None, contact_name="王承辦", contact_phone="02-2700-0000",
                                contact_email="v@example.tw")
    db.commit()
    admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "status": "published", "service_items": [str(item.id)],
        "sites": [str(site.id)], "description": "協助送餐", "wanted": "5", "closes_on": "2099-12-31"})
    db.rollback()
    o = db.scalar(select(Opening))
    text = admin.get(f"/admin/recruitment/openings/{o.id}/announcement.txt",
                     headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert text.startswith(f"送餐志工\n\n單位：\n{unit.name}\n\n服務項目："), text
    assert "招募人數：\n5 人\n" in text
    assert text.rstrip().endswith("聯絡方式：\n聯絡人：王承辦\n電話：02-2700-0000\n電子郵件：v@example.tw"
                                  + (f"\n地址：{unit.address}" if unit.address else "")), text


def test_a_published_opening_cannot_close_before_today(admin, anon, db, unit):
    """A published opening with closing date 2020-01-01 saved without a word, while its
    public page said it was closed."""
    today = taipei_date(utcnow())
    refused = admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "closes_on": "2020-01-01", "status": "published"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "截止日期 2020-01-01 已過：請選擇較晚的日期，或將招募存為草稿或已截止。" in page
    assert 'value="2020-01-01"' in page and 'value="送餐志工"' in page
    assert db.scalar(select(Opening)) is None
    english = admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "closes_on": "2020-01-01", "status": "published"},
        headers={"Accept-Language": "en"})
    assert "The closing date 2020-01-01 has passed" in english.get_data(as_text=True)
    # the closing day itself still takes applications; drafts and closed openings may be old
    assert admin.post("/admin/recruitment/openings/new", {
        "title": "送餐志工", "closes_on": today.isoformat(), "status": "published"}).status_code == 302
    assert admin.post("/admin/recruitment/openings/new", {
        "title": "舊的招募", "closes_on": "2020-01-01", "status": "closed"}).status_code == 302
    db.rollback()
    opening = db.scalar(select(Opening).where(Opening.title == "送餐志工"))
    assert anon.get(f"/openings/{opening.public_id}/apply").status_code == 200
    # editing it later to a past date is refused too, and changes nothing
    again = admin.post(f"/admin/recruitment/openings/{opening.id}/edit", {
        "title": "送餐志工", "closes_on": (today - dt.timedelta(days=1)).isoformat(),
        "status": "published"})
    assert again.status_code == 400
    assert fresh(db, opening).closes_on == today


def test_admin_list_shows_an_opening_past_its_closing_date_as_closed(admin, anon, db, unit):
    """The admin list said "Published · Apply by 2020-01-01" where the public page said closed."""
    today = taipei_date(utcnow())
    past = Opening(unit_id=unit.id, public_id="pub-old", title="去年的招募",
                   closes_on=dt.date(2020, 1, 1), status=OpeningStatus.published)
    current = Opening(unit_id=unit.id, public_id="pub-now", title="今年的招募",
                      closes_on=today, status=OpeningStatus.published)
    db.add_all([past, current])
    db.commit()
    page = admin.get("/admin/recruitment/").get_data(as_text=True)
    rows = page.split('id="openings"', 1)[1].split("</ul>", 1)[0].split("<li>")[1:]
    old_row = next(row for row in rows if "去年的招募" in row)
    new_row = next(row for row in rows if "今年的招募" in row)
    assert "已截止" in old_row and "截止日 2020-01-01" in old_row
    assert "已公開" not in old_row and "報名截止" not in old_row
    assert "已公開" in new_row and f"報名截止：{today.isoformat()}" in new_row
    detail = admin.get(f"/admin/recruitment/openings/{past.id}").get_data(as_text=True)
    assert "已截止" in detail and "已公開" not in detail and "公開頁面不再受理報名" in detail
    assert "此招募已截止" in anon.get("/openings/pub-old").get_data(as_text=True)
    assert "此招募已截止" not in anon.get("/openings/pub-now").get_data(as_text=True)
    assert openings.shown_status(past, today) == OpeningStatus.closed
    assert openings.shown_status(current, today) == OpeningStatus.published


def test_an_interview_cannot_be_scheduled_in_the_past(admin, db, application):
    response = admin.post(f"/admin/recruitment/applications/{application.id}/interview",
                          {"version": application.version, "interview_at": "2020-01-01T10:00",
                           "interview_place": "二樓會議室"}, hx=True)
    assert response.status_code == 400
    assert "面談時間不能是過去的時間" in response.get_data(as_text=True)
    a = fresh(db, application)
    assert a.status == ApplicationStatus.applied and a.interview_at is None
    # this very minute is still fine (the form gives minutes)
    now = utcnow()
    response = admin.post(f"/admin/recruitment/applications/{application.id}/interview",
                          {"version": a.version, "interview_at": local(now),
                           "interview_place": "二樓會議室"}, hx=True)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("when", ["2020-01-01T10:00", "明天早上"], ids=["past", "not a time"])
def test_a_refused_interview_form_comes_back_as_typed(admin, db, make, unit, application, when):
    """After a refusal (the domain's or the route's own) the admin fixes one field, not four."""
    other = make.user(unit, role="supervisor", display_name="陳督導")
    response = admin.post(f"/admin/recruitment/applications/{application.id}/interview",
                          {"version": application.version, "interview_at": when,
                           "interview_place": "二樓會議室", "interviewer_id": other.id,
                           "note": "請帶身分證"}, hx=True)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'value="{when}"' in page and 'value="二樓會議室"' in page
    assert f'<option value="{other.id}" selected>' in page
    assert f'<option value="{admin.user.id}" selected>' not in page  # not reset to the admin
    assert ">請帶身分證</textarea>" in page
    assert fresh(db, application).status == ApplicationStatus.applied


def test_a_refused_decision_keeps_the_note(admin, application):
    response = admin.post(f"/admin/recruitment/applications/{application.id}/decide",
                          {"version": application.version, "outcome": "maybe",
                           "note": "再想想"}, hx=True)
    assert response.status_code == 400 and ">再想想</textarea>" in response.get_data(as_text=True)


@pytest.mark.parametrize("typed, zh, en", [
    ("2026-13-45T10:00", "請輸入時間，例如 2026-01-31 17:00。", "Enter the time, like 2026-01-31 17:00."),
    ("明天早上", "請輸入時間，例如 2026-01-31 17:00。", "Enter the time, like 2026-01-31 17:00."),
    ("0001-01-01T00:30", "時間：請輸入 1900-01-01 到 2100-12-31 之間的日期。",
     "When: enter a date from 1900-01-01 to 2100-12-31."),
    ("9999-12-31T10:00", "時間：請輸入 1900-01-01 到 2100-12-31 之間的日期。",
     "When: enter a date from 1900-01-01 to 2100-12-31."),
], ids=["no such day", "words", "year 1", "year 9999"])
def test_a_bad_interview_time_is_refused_in_words_and_changes_nothing(admin, db, application, typed, zh, en):
    """The interview's time is read as every form's datetime-local field is (forms.local_moment):
    a badly typed one shows the format, a date out of range names the field."""
    url, version = f"/admin/recruitment/applications/{application.id}/interview", application.version
    form = {"version": version, "interview_at": typed, "interview_place": "二樓會議室"}
    response = admin.post(url, form, hx=True)
    assert response.status_code == 400 and zh in response.get_data(as_text=True)
    assert 'name="interview_at"' in response.get_data(as_text=True)  # the form is shown again
    response = admin.post(url, form, hx=True, headers={"Accept-Language": "en"})
    assert response.status_code == 400 and en in response.get_data(as_text=True)
    a = fresh(db, application)
    assert a.status == ApplicationStatus.applied and a.interview_at is None and a.version == version
    assert not db.scalars(select(AuditEntry).where(AuditEntry.action == "schedule_interview")).all()


def test_an_interview_in_another_year_shows_its_year(admin, db, application):
    """"01/01 10:00" alone reads as this January."""
    this_year = taipei_date(utcnow()).year
    next_january = dt.datetime(this_year + 1, 1, 5, 10, 0, tzinfo=TAIPEI)
    response = admin.post(f"/admin/recruitment/applications/{application.id}/interview",
                          {"version": application.version, "interview_at": "%d-01-05T10:00" % (this_year + 1),
                           "interview_place": "二樓會議室"}, hx=True)
    assert response.status_code == 200
    assert f"{this_year + 1}-01-05 10:00" in response.get_data(as_text=True)
    assert fresh(db, application).interview_at == next_january
    later_this_year = dt.datetime(this_year, 12, 31, 23, 0, tzinfo=TAIPEI)
    a = fresh(db, application)
    a.interview_at = later_this_year
    db.commit()
    page = admin.get("/admin/recruitment/").get_data(as_text=True)
    assert "12/31 23:00" in page and f"{this_year}-12-31 23:00" not in page


def test_the_application_page_schedules_the_interview_and_decides_with_the_lists_forms(
        admin, supervisor, db, application):
    """The application's own page has the list row's actions: the same forms and endpoints
    (admins only, CSRF, audited), each answered with the page's card."""
    url = f"/admin/recruitment/applications/{application.id}"
    page = admin.get(url).get_data(as_text=True)
    assert f'hx-get="{url}/row?mode=interview&amp;on=page"' in page
    assert f'hx-get="{url}/row?mode=decide&amp;on=page"' in page
    assert 'hx-target="#application-card"' in page and 'id="welcome-sheet"' in page
    form = admin.get(f"{url}/row?mode=interview&on=page").get_data(as_text=True)
    assert "id=\"application-card\"" in form
    assert f'hx-post="{url}/interview"' in form and 'name="on" value="page"' in form
    assert admin.user.name in form  # the interviewers to choose from
    when = utcnow().replace(second=0, microsecond=0) + dt.timedelta(days=2)
    sent = {"version": application.version, "interview_at": local(when), "on": "page",
            "interview_place": "三樓教室", "interviewer_id": admin.user.id}
    assert supervisor.post(f"{url}/interview", sent, hx=True).status_code == 403
    no_token = admin.client.post(f"{url}/interview", data=sent, headers={"HX-Request": "true"})
    assert no_token.status_code == 400
    assert fresh(db, application).status == ApplicationStatus.applied
    response = admin.post(f"{url}/interview", sent, hx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    card = response.get_data(as_text=True)
    assert 'id="application-card"' in card and "<tr" not in card
    assert "三樓教室" in card and "已排面談" in card
    a = fresh(db, application)
    assert a.status == ApplicationStatus.interview_scheduled and a.interview_place == "三樓教室"
    # a refusal comes back in the card, as typed
    refused = admin.post(f"{url}/decide", {"version": a.version, "on": "page", "note": "再想想"},
                         hx=True)
    assert refused.status_code == 400 and 'id="application-card"' in refused.get_data(as_text=True)
    assert "再想想" in refused.get_data(as_text=True)
    response = admin.post(f"{url}/decide", {"version": a.version, "outcome": "accepted",
                                            "on": "page"}, hx=True)
    assert response.status_code == 200
    card = response.get_data(as_text=True)
    assert 'id="welcome-sheet" hx-swap-oob="true"' in card and "/welcome/" in card
    a = fresh(db, application)
    assert a.status == ApplicationStatus.accepted and a.volunteer is not None
    actions = [e.action for e in db.scalars(select(AuditEntry).where(
        AuditEntry.entity == "application", AuditEntry.entity_id == a.id).order_by(AuditEntry.id))]
    assert actions[-2:] == ["schedule_interview", "accepted"]


def test_an_accepted_application_leads_to_the_new_volunteers_pages(admin, db, application):
    """After "Accept", the application's page links the volunteer's status, training records,
    insurance and record book: the next steps of the onboarding."""
    page = admin.get(f"/admin/recruitment/applications/{application.id}").get_data(as_text=True)
    assert 'id="new-volunteer-links"' not in page
    admin.post(f"/admin/recruitment/applications/{application.id}/decide",
               {"version": application.version, "outcome": "accepted"}, hx=True)
    vol = fresh(db, application).volunteer
    page = admin.get(f"/admin/recruitment/applications/{application.id}").get_data(as_text=True)
    links = page.split('id="new-volunteer-links"', 1)[1].split("</nav>", 1)[0]
    for href in (f"/evaluation/volunteers/{vol.id}/status", f"/admin/training/volunteers/{vol.id}",
                 f"/admin/insurance/volunteers/{vol.id}", f"/admin/record-book/volunteers/{vol.id}"):
        assert f'href="{href}"' in links
        assert admin.get(href).status_code == 200
    assert f"志工 {vol.volunteer_no}" in links


def test_the_printed_welcome_sheet_speaks_to_the_volunteer(admin, db, application, unit):
    """What prints: the unit and how to reach it, the steps, the link's expiry date (Taipei);
    the admin's instructions are on screen only (.no-print)."""
    unit.phone = "02-2700-0000"
    db.commit()
    response = admin.post(f"/admin/recruitment/applications/{application.id}/decide",
                          {"version": application.version, "outcome": "accepted"}, hx=True)
    sheet = response.get_data(as_text=True).split('class="qr-card welcome-sheet"', 1)[1]
    link = db.scalars(select(SetPasswordLink)).one()
    until = link.expires_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")
    assert f"這個連結只能使用一次，有效至 {until}。" in sheet
    assert f'<p class="lead" id="welcome-unit">{unit.name}</p>' in sheet
    steps = sheet.split('id="welcome-steps"', 1)[1].split("</ol>", 1)[0]
    assert "用手機相機掃描上方的 QR 碼" in steps and "設定密碼與簽到站 PIN 碼" in steps
    assert "meiling@example.tw" in steps
    assert 'id="unit-contact"' in sheet and "02-2700-0000" in sheet
    assert '<p class="no-print" id="welcome-admin-note">請列印' in sheet
