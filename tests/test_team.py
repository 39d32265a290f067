"""Admins assign supervisors to sites and choose the rounding rule."""
from sqlalchemy import select

from models.audit import AuditEntry
from models.unit import Rounding, Unit
from models.verification import SupervisorSite


def test_admin_assigns_sites_to_a_supervisor(db, make, unit, admin):
    a, b = make.site(unit, name_zh="大安"), make.site(unit, name_zh="萬華")
    foreign = make.site(make.unit())
    sup = make.user(unit, role="supervisor", display_name="林督導")
    page = admin.get("/admin/team/").get_data(as_text=True)
    assert "林督導" in page and "大安" in page
    response = admin.post(f"/admin/team/supervisors/{sup.id}/sites", {"site": [str(a.id), str(foreign.id)]})
    assert response.status_code == 302
    db.rollback()
    assert set(db.scalars(select(SupervisorSite.site_id).where(SupervisorSite.user_id == sup.id))) == {a.id}
    admin.post(f"/admin/team/supervisors/{sup.id}/sites", {"site": [str(b.id)]})
    db.rollback()
    assert set(db.scalars(select(SupervisorSite.site_id).where(SupervisorSite.user_id == sup.id))) == {b.id}
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "supervisor_sites").order_by(AuditEntry.id)).all()[-1]
    assert entry.before_data() == {"sites": [a.id]} and entry.after_data() == {"sites": [b.id]}


def test_rounding_rule(db, unit, admin):
    assert admin.post("/admin/team/rounding", {"rounding": "down_15"}).status_code == 302
    db.rollback()
    assert db.get(Unit, unit.id, populate_existing=True).rounding == Rounding.down_15
    assert admin.post("/admin/team/rounding", {"rounding": "up_to_the_moon"}).status_code == 400
    db.rollback()
    assert db.get(Unit, unit.id, populate_existing=True).rounding == Rounding.down_15


def test_team_is_for_admins(supervisor, volunteer):
    assert supervisor.get("/admin/team/").status_code == 403
    assert volunteer.post("/admin/team/rounding", {"rounding": "none"}).status_code == 403


def test_a_supervisor_added_before_any_site_is_told_to_add_one(make, unit, admin):
    """A new unit that added its supervisor first saw the supervisor with only a Save sites
    button and nothing to choose."""
    make.user(unit, role="supervisor", display_name="李老師")
    page = admin.get("/admin/team/").get_data(as_text=True)
    assert "李老師" in page and "儲存服務地點" not in page
    assert "尚無服務地點" in page and 'href="/admin/sites/new"' in page
    make.site(unit, name_zh="活動中心")
    page = admin.get("/admin/team/").get_data(as_text=True)
    assert "儲存服務地點" in page and "活動中心" in page and "尚無服務地點" not in page


# --- a supervisor's sign-in sheet again; deactivating one who left ---------------------------



from models.people import User
from tests.conftest import HttpUser


def _token(page: str) -> str:
    return page.split("/welcome/")[1].split('"')[0]


def _audits(db, action):
    db.rollback()
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def _set_password(app, token, password):
    person = HttpUser(app.test_client())
    person.refresh_token(f"/welcome/{token}")
    return person.post(f"/welcome/{token}", {"password": password, "confirm": password})


def test_a_lost_sign_in_sheet_gets_a_new_link(app, db, admin):
    added = admin.post("/admin/team/supervisors", {"name": "王督導", "email": "wang@example.tw"})
    assert added.status_code == 200
    old = _token(added.get_data(as_text=True))
    sup = db.scalar(select(User).where(User.email == "wang@example.tw"))
    page = admin.get("/admin/team/").get_data(as_text=True)
    assert "尚未設定密碼" in page and f"/admin/team/supervisors/{sup.id}/sign-in-link" in page
    again = admin.post(f"/admin/team/supervisors/{sup.id}/sign-in-link")
    assert again.status_code == 200 and "no-store" in again.headers["Cache-Control"]
    sheet = again.get_data(as_text=True)
    assert "王督導 的登入連結" in sheet and "data-print" in sheet and "列印" in sheet
    assert "先前的連結都會失效" in sheet and "wang@example.tw" in sheet
    new = _token(sheet)
    assert new != old
    assert app.test_client().get(f"/welcome/{old}").status_code == 410
    assert _set_password(app, new, "wang new pass 2026").status_code == 302
    assert HttpUser(app.test_client()).sign_in("wang@example.tw", "wang new pass 2026").status_code == 302
    assert "尚未設定密碼" not in admin.get("/admin/team/").get_data(as_text=True)
    assert [e.after_data()["user_id"] for e in _audits(db, "create_set_password_link")] == [sup.id, sup.id]


def test_new_link_and_deactivate_are_for_the_admin_of_the_unit(app, db, make, unit, admin, supervisor,
                                                               volunteer):
    sup = supervisor.user
    other = make.user(make.unit(), role="supervisor")
    for action in ("sign-in-link", "active"):
        url = f"/admin/team/supervisors/{sup.id}/{action}"
        assert supervisor.post(url, {"active": "0"}).status_code == 403
        assert volunteer.post(url, {"active": "0"}).status_code == 403
        assert admin.post(f"/admin/team/supervisors/{other.id}/{action}", {"active": "0"}).status_code == 404
        assert admin.post(f"/admin/team/supervisors/{admin.user.id}/{action}", {"active": "0"}).status_code == 404
        # no CSRF token: refused, nothing changes
        assert admin.client.post(url, data={"active": "0"}).status_code == 400
    assert _audits(db, "create_set_password_link") == [] and _audits(db, "user_deactivate") == []
    assert db.get(User, sup.id, populate_existing=True).active


def test_a_deactivated_supervisor_is_signed_out_and_cannot_sign_in(app, db, make, unit, admin, supervisor):
    sup = supervisor.user
    assert supervisor.get("/dashboard/").status_code == 200
    done = admin.post(f"/admin/team/supervisors/{sup.id}/active", {"active": "0"})
    assert done.status_code == 302
    page = admin.get("/admin/team/").get_data(as_text=True)
    assert "已停用" in page and "重新啟用" in page and f"/supervisors/{sup.id}/sign-in-link" not in page
    # the open session ends on its next request; the password no longer signs in
    assert supervisor.get("/dashboard/").status_code in (302, 401)
    assert HttpUser(app.test_client()).sign_in(sup.email, make.PASSWORD).status_code != 302
    # no new sheet for a deactivated account; deactivating twice changes nothing
    refused = admin.post(f"/admin/team/supervisors/{sup.id}/sign-in-link")
    assert refused.status_code == 409 and "請先重新啟用" in refused.get_data(as_text=True)
    assert admin.post(f"/admin/team/supervisors/{sup.id}/active", {"active": "0"}).status_code == 409
    [entry] = _audits(db, "user_deactivate")
    assert (entry.entity_id, entry.before_data(), entry.after_data()) == (sup.id, {"active": True},
                                                                          {"active": False})
    assert entry.actor_user_id == admin.user.id
    # back again: the same password signs in
    assert admin.post(f"/admin/team/supervisors/{sup.id}/active", {"active": "1"}).status_code == 302
    assert len(_audits(db, "user_reactivate")) == 1
    assert "可以再登入了" in admin.get("/admin/team/").get_data(as_text=True)
    back = HttpUser(app.test_client())
    assert back.sign_in(sup.email, make.PASSWORD).status_code == 302
    assert back.get("/dashboard/").status_code == 200


def test_deactivating_ends_an_unused_sign_in_link(app, db, admin):
    added = admin.post("/admin/team/supervisors", {"name": "李督導", "email": "li@example.tw"})
    token = _token(added.get_data(as_text=True))
    sup = db.scalar(select(User).where(User.email == "li@example.tw"))
    admin.post(f"/admin/team/supervisors/{sup.id}/active", {"active": "0"})
    admin.post(f"/admin/team/supervisors/{sup.id}/active", {"active": "1"})
    assert app.test_client().get(f"/welcome/{token}").status_code == 410
