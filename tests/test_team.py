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
