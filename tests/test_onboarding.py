"""A brand-new unit from an empty database: what it needs before its first check-in, without
the demo's seeded data (the unit itself, its service items, its supervisors)."""
from __future__ import annotations

from sqlalchemy import select

from models.audit import AuditEntry
from models.base import taipei_date, utcnow
from models.people import Role, User
from models.training import TrainingCourse
from models.unit import Category, LegalType, Unit


# --- the unit and its first admin, from the command line -------------------------------------

def test_cli_creates_a_unit_then_its_first_admin(app, db):
    runner = app.test_cli_runner()
    no_unit = runner.invoke(args=["users", "create", "--name", "陳承辦", "--role", "admin", "--email", "a@school.tw",
                                  "--password", "first-admin-2026"])
    assert no_unit.exit_code != 0 and "hourbook units create" in no_unit.output

    result = runner.invoke(args=["units", "create", "--name", "臺北市立明德國民中學",
                                 "--legal-type", "school", "--category", "comprehensive",
                                 "--registration-no", "北市教字第 1130001234 號"])
    assert result.exit_code == 0, result.output
    unit = db.scalar(select(Unit))
    assert (unit.name, unit.legal_type, unit.category, unit.registration_no) == (
        "臺北市立明德國民中學", LegalType.school, Category.comprehensive, "北市教字第 1130001234 號")
    # the course catalogue of rules.md comes with it: training can be recorded at once
    codes = set(db.scalars(select(TrainingCourse.code).where(TrainingCourse.unit_id == unit.id)))
    assert {"B01", "B02", "B03", "CO01", "CO02"} <= codes
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "unit_created")) is not None

    admin = runner.invoke(args=["users", "create", "--role", "admin", "--email", "a@school.tw",
                                "--name", "陳承辦", "--password", "first-admin-2026"])
    assert admin.exit_code == 0, admin.output
    db.rollback()  # a fresh look: the command committed in its own session
    user = db.scalar(select(User).where(User.email == "a@school.tw"))
    assert (user.unit_id, user.role) == (unit.id, Role.admin)

    listed = runner.invoke(args=["units", "list"])
    assert f"{unit.id}\tschool\tcomprehensive\t臺北市立明德國民中學" in listed.output


def test_cli_refuses_a_unit_that_may_not_be_one(app, db):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["units", "create", "--name", "某公司", "--legal-type", "company",
                              "--category", "comprehensive"])
    assert bad.exit_code == 2 and "juridical_person" in bad.output
    blank = runner.invoke(args=["units", "create", "--name", "  ", "--legal-type", "school",
                                "--category", "comprehensive"])
    assert blank.exit_code == 1 and "name" in blank.output
    assert db.scalar(select(Unit)) is None
    missing = runner.invoke(args=["users", "create", "--name", "陳承辦", "--role", "admin", "--email", "x@y.tw",
                                  "--unit-id", "999", "--password", "first-admin-2026"])
    assert missing.exit_code == 1 and "no unit 999" in missing.output


def test_cli_keeps_the_account_rules_of_the_pages(app, db, unit):
    """`hourbook users create` keeps the welcome link's password rule and the team page's
    email rule (account_links.check_password, check_sign_in_email): it took any password, even
    one character, and any text as an email."""
    runner = app.test_cli_runner()
    short = runner.invoke(args=["users", "create", "--name", "陳承辦", "--role", "admin", "--email", "a@school.tw",
                                "--password", "abc"])
    assert short.exit_code == 1 and "at least 8" in short.output
    not_email = runner.invoke(args=["users", "create", "--name", "林督導", "--role", "supervisor", "--email",
                                    "chen", "--password", "long-enough-2026"])
    assert not_email.exit_code == 1 and "email address" in not_email.output
    assert db.scalar(select(User).where(User.role != Role.volunteer)) is None
    ok = runner.invoke(args=["users", "create", "--name", "陳承辦", "--role", "admin", "--email", " A@School.tw ",
                             "--password", "long-enough-2026"])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(args=["users", "create", "--name", "林督導", "--role", "supervisor", "--email",
                                "a@school.tw", "--password", "long-enough-2026"])
    assert again.exit_code == 1 and "already has an account" in again.output


def test_cli_first_admin_has_a_name_asked_for_when_not_given(app, db, unit, admin):
    """The first admin had no name: the home page greeted their email and slips printed it as
    the issuer (核發人)."""
    runner = app.test_cli_runner()
    asked = runner.invoke(args=["users", "create", "--role", "admin", "--email", "b@school.tw",
                                "--password", "long-enough-2026"], input="  王承辦  \n")
    assert asked.exit_code == 0, asked.output
    assert "Name" in asked.output and "created admin b@school.tw (王承辦)" in asked.output
    blank = runner.invoke(args=["users", "create", "--role", "admin", "--email", "c@school.tw",
                                "--name", "   ", "--password", "long-enough-2026"])
    assert blank.exit_code == 1 and "--name" in blank.output
    db.rollback()
    user = db.scalar(select(User).where(User.email == "b@school.tw"))
    assert user.display_name == "王承辦" and db.scalar(select(User).where(User.email == "c@school.tw")) is None
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "user_create",
                                                AuditEntry.entity_id == user.id)).one()
    assert entry.after_data()["name"] == "王承辦" and entry.actor_label == "cli"
    from tests.conftest import HttpUser
    person = HttpUser(app.test_client())
    assert person.sign_in("b@school.tw", "long-enough-2026").status_code == 302
    home = person.get("/").get_data(as_text=True)
    assert "王承辦" in home and "b@school.tw" not in home.split("<main")[1]


def test_cli_link_for_a_forgotten_admin_password(app, db, make, unit, monkeypatch):
    """The only admin forgot their password: `hourbook users link` prints a new one-time link
    (the older unused ones stop), with HOURBOOK_BASE_URL in front like the mail's links."""
    from tests.conftest import HttpUser

    admin = make.user(unit, role="admin", email="boss@school.tw")
    runner = app.test_cli_runner()
    monkeypatch.setitem(app.config, "HOURBOOK_BASE_URL", "https://hours.school.tw")
    first = runner.invoke(args=["users", "link", "--email", " Boss@School.tw "])
    assert first.exit_code == 0, first.output
    old = first.stdout.strip().splitlines()[-1]
    assert old.startswith("https://hours.school.tw/welcome/")
    second = runner.invoke(args=["users", "link", "--email", "boss@school.tw"])
    new = second.stdout.strip().splitlines()[-1]
    assert new != old and "14 days" in second.output
    client = app.test_client()
    assert client.get(old.removeprefix("https://hours.school.tw")).status_code == 410
    path = new.removeprefix("https://hours.school.tw")
    person = HttpUser(app.test_client())
    person.refresh_token(path)
    assert person.post(path, {"password": "new boss pass 2026", "confirm": "new boss pass 2026"}
                       ).status_code == 302
    assert HttpUser(app.test_client()).sign_in("boss@school.tw", "new boss pass 2026").status_code == 302
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "create_set_password_link")).all()
    assert [(e.after_data()["user_id"], e.actor_label) for e in entries] == [(admin.id, "cli")] * 2
    db.rollback()
    # no base URL: the path, and a word about it
    monkeypatch.setitem(app.config, "HOURBOOK_BASE_URL", "")
    bare = runner.invoke(args=["users", "link", "--email", "boss@school.tw"])
    assert bare.exit_code == 0 and bare.stdout.strip().startswith("/welcome/")
    assert "HOURBOOK_BASE_URL" in bare.output
    # nobody, a volunteer, a deactivated account: refused
    assert "no account" in runner.invoke(args=["users", "link", "--email", "x@y.tw"]).output
    db.rollback()
    vol = make.user(unit, role="volunteer")
    assert runner.invoke(args=["users", "link", "--email", vol.email]).exit_code == 1
    gone = make.user(unit, role="supervisor", active=False)
    refused = runner.invoke(args=["users", "link", "--email", gone.email])
    assert refused.exit_code == 1 and "deactivated" in refused.output


# --- service items: a new unit adds its own -------------------------------------------------

def test_admin_adds_renames_and_retires_a_service_item(admin, db, unit):
    from models.service import service_items_for
    from models.service import ServiceItem

    page = admin.get("/admin/items/").get_data(as_text=True)
    assert "admin/items/" in admin.get("/admin/plans").get_data(as_text=True)  # a tab of Unit and plan
    assert "還沒有服務項目" in page
    response = admin.post("/admin/items/", {"code": "c01", "name_zh": "圖書館服務",
                                            "name_en": "Library help", "category": "comprehensive"})
    assert response.status_code == 302
    db.rollback()
    item = db.scalar(select(ServiceItem).where(ServiceItem.unit_id == unit.id))
    assert (item.code, item.name_zh, item.name_en, item.category, item.active) == (
        "C01", "圖書館服務", "Library help", Category.comprehensive, True)
    assert [i.id for i in service_items_for(db, unit.id)] == [item.id]  # offered at check-in
    assert "圖書館服務" in admin.get("/admin/items/").get_data(as_text=True)

    again = admin.post("/admin/items/", {"code": "C01", "name_zh": "另一個", "category": "comprehensive"})
    assert again.status_code == 400 and "已有服務項目 C01" in again.get_data(as_text=True)
    blank = admin.post("/admin/items/", {"code": "C02", "name_zh": " ", "category": "comprehensive"})
    assert blank.status_code == 400 and "請輸入服務項目名稱" in blank.get_data(as_text=True)

    retired = admin.post(f"/admin/items/{item.id}", {"name_zh": "圖書館服務（午休）", "name_en": ""})
    assert retired.status_code == 302
    db.rollback()
    item = db.get(ServiceItem, item.id)
    assert (item.name_zh, item.active) == ("圖書館服務（午休）", False)
    assert service_items_for(db, unit.id) == []
    actions = [e.action for e in db.scalars(select(AuditEntry).where(AuditEntry.entity == "service_item")
                                            .order_by(AuditEntry.id))]
    assert actions == ["service_item_created", "service_item_updated"]


def test_the_code_fields_hint_sits_under_the_code_and_is_read_with_it(admin, db, unit):
    import re

    page = admin.get("/admin/items/").get_data(as_text=True)
    code = re.search(r'<input[^>]*id="code"[^>]*>', page).group(0)
    assert 'aria-describedby="code-hint"' in code
    after_code = page[page.index(code):]
    hint = after_code.index('id="code-hint"')
    assert "儲存後不能再改" in after_code[hint:hint + 120]
    assert hint < after_code.index('id="category"')  # under the code, before the next field


def test_service_items_are_the_units_own(app, make, db, admin, unit):
    from models.service import ServiceItem
    from tests.conftest import HttpUser

    other = make.unit()
    theirs = ServiceItem(unit_id=other.id, code="X1", name_zh="別人的項目", category=Category.social_welfare)
    db.add(theirs)
    db.commit()
    assert "別人的項目" not in admin.get("/admin/items/").get_data(as_text=True)
    assert admin.get(f"/admin/items/{theirs.id}").status_code == 404
    assert admin.post(f"/admin/items/{theirs.id}", {"name_zh": "改掉"}).status_code == 404
    supervisor = make.user(unit, role="supervisor")
    person = HttpUser(app.test_client())
    person.sign_in(supervisor.email, make.PASSWORD)
    assert person.get("/admin/items/").status_code == 403
    assert person.post("/admin/items/", {"code": "S1", "name_zh": "x"}).status_code == 403


def test_a_service_item_cannot_take_another_items_name(admin, db, unit):
    """Two items of one name: check-in offered both and the results report listed
    "服務時數：長者陪伴關懷" twice. Refused on adding and renaming, in either language (trimmed,
    letters without case), against retired items too (their hours stay in past reports): the
    admin brings the retired one back instead. Nothing is saved when refused."""
    from models.service import ServiceItem

    def add(code, zh, en=""):
        return admin.post("/admin/items/", {"code": code, "name_zh": zh, "name_en": en,
                                            "category": "social_welfare"})

    def items():
        db.rollback()
        return {i.code: i for i in db.scalars(select(ServiceItem).where(ServiceItem.unit_id == unit.id))}

    assert add("SW01", "長者陪伴關懷", "Companionship for elders").status_code == 302
    assert add("SW02", "共餐與送餐服務", "Meals").status_code == 302
    same_zh = add("SW09", " 長者陪伴關懷 ")
    assert same_zh.status_code == 400
    assert "本單位已有同名的服務項目：SW01。" in same_zh.get_data(as_text=True)
    same_en = add("SW09", "陪伴長者", "  COMPANIONSHIP for elders ")
    assert same_en.status_code == 400 and "SW01" in same_en.get_data(as_text=True)
    assert set(items()) == {"SW01", "SW02"}
    english = admin.post("/admin/items/", {"code": "SW09", "name_zh": "長者陪伴關懷",
                                           "category": "social_welfare"},
                         headers={"Accept-Language": "en"})
    assert "The unit already has a service item of this name: SW01." in english.get_data(as_text=True)

    # renaming onto another item's name is refused; keeping one's own name is fine
    sw02 = items()["SW02"]
    renamed = admin.post(f"/admin/items/{sw02.id}", {"name_zh": "長者陪伴關懷", "name_en": "Meals",
                                                     "active": "y"})
    assert renamed.status_code == 400 and "SW01" in renamed.get_data(as_text=True)
    assert items()["SW02"].name_zh == "共餐與送餐服務"
    kept = admin.post(f"/admin/items/{sw02.id}", {"name_zh": "共餐與送餐服務", "name_en": "meals",
                                                  "active": "y"})
    assert kept.status_code == 302 and items()["SW02"].name_en == "meals"

    # a retired item's name: bring it back rather than add a twin
    sw01 = items()["SW01"]
    assert admin.post(f"/admin/items/{sw01.id}", {"name_zh": "長者陪伴關懷",
                                                  "name_en": "Companionship for elders"}).status_code == 302
    assert items()["SW01"].active is False
    twin = add("SW09", "長者陪伴關懷")
    assert twin.status_code == 400
    assert "已停用的服務項目 SW01 使用這個名稱" in twin.get_data(as_text=True)
    assert set(items()) == {"SW01", "SW02"}
    back = admin.post(f"/admin/items/{sw01.id}", {"name_zh": "長者陪伴關懷",
                                                  "name_en": "Companionship for elders", "active": "y"})
    assert back.status_code == 302 and items()["SW01"].active is True


def test_the_plans_empty_items_section_leads_to_adding_one(admin, db, unit):
    year = taipei_date(utcnow()).year  # a plan's year is last year to next year
    assert admin.post("/admin/plans", {"year": str(year)}).status_code == 302
    form = admin.get(f"/admin/plans/{year}/sections/service_items").get_data(as_text=True)
    assert "/admin/items/" in form


# --- training: the two categories' courses of the same name ----------------------------------

def test_training_course_choice_tells_the_categories_apart(admin, db, make):
    """综合討論 and the unit briefing exist for both categories: the record form groups the
    courses (basic; special of the unit's own category first; then the other), so a
    comprehensive unit's admin does not pick the social-welfare one by mistake."""
    import re

    from models import training

    unit = db.get(Unit, admin.user.unit_id)
    unit.category = Category.comprehensive
    db.commit()
    training.seed_catalogue(db, unit)
    db.commit()
    vol = make.volunteer(unit, trained=False)
    page = admin.get(f"/admin/training/volunteers/{vol.id}/records/new").get_data(as_text=True)
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', page, re.S)
    assert [label for label, _ in groups] == ["基礎訓練", "特殊訓練 · 綜合類", "特殊訓練 · 社會福利類"]
    comprehensive = dict(groups)["特殊訓練 · 綜合類"]
    codes = {c.id: c.code for c in training.courses_of(db, unit.id)}
    ids = [int(i) for i in re.findall(r'value="(\d+)"', comprehensive)]
    assert sorted(codes[i] for i in ids) == ["CO01", "CO02"]
    # the grouped choice still saves
    response = admin.post(f"/admin/training/volunteers/{vol.id}/records/new", {
        "course_id": str(ids[0]), "completed_on": "2026-11-20", "hours": "1",
        "mode": "in_person", "provider": "本校"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    english = admin.get(f"/admin/training/volunteers/{vol.id}/records/new",
                        headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "General discussion" in english


# --- supervisors: the admin adds them, no command line ---------------------------------------

def test_admin_adds_a_supervisor_who_sets_a_password_and_signs_in(app, admin, db, unit):
    import re

    from tests.conftest import HttpUser

    empty = admin.get("/admin/team/").get_data(as_text=True)
    assert "hourbook users create" not in empty and "新增督導" in empty
    response = admin.post("/admin/team/supervisors", {"name": "黃督導", "email": "Huang@School.tw"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("no-store")
    page = response.get_data(as_text=True)
    link = re.search(r'id="welcome-link" href="http://localhost(/welcome/[^"]+)"', page).group(1)
    db.rollback()
    user = db.scalar(select(User).where(User.email == "huang@school.tw"))
    assert (user.role, user.display_name, user.unit_id) == (Role.supervisor, "黃督導", unit.id)
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "user_create",
                                              AuditEntry.entity_id == user.id)) is not None
    assert "黃督導" in admin.get("/admin/team/").get_data(as_text=True)  # sites can be chosen now

    taken = admin.post("/admin/team/supervisors", {"name": "別人", "email": "huang@school.tw"})
    assert taken.status_code == 400 and "已經有帳號" in taken.get_data(as_text=True)
    nameless = admin.post("/admin/team/supervisors", {"name": "", "email": "x@school.tw"})
    assert nameless.status_code == 400 and "請輸入督導姓名" in nameless.get_data(as_text=True)

    # the supervisor opens the link: a password only (staff have no kiosk PIN), then the dashboard
    person = HttpUser(app.test_client())
    form = person.get(link).get_data(as_text=True)
    assert 'name="pin"' not in form
    person.refresh_token(link)
    done = person.post(link, {"password": "supervisor-2026", "confirm": "supervisor-2026"})
    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    assert person.get("/dashboard/").status_code == 200


def test_only_admins_add_supervisors(supervisor, volunteer):
    for person in (supervisor, volunteer):
        assert person.post("/admin/team/supervisors", {"name": "x", "email": "x@y.tw"}).status_code == 403
