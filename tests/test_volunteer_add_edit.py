"""An admin adds one volunteer by hand (a walk-in) and edits a volunteer's details, over real
HTTP: the directory's "Add volunteer" and each row's "Edit details", the status page's
"Edit details"; a single add is checked as a roster row is (roster_import.add_volunteer)."""
from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from models import roster_rows
from models.audit import AuditEntry
from models.idnumbers import with_check_digit
from models.people import Gender, Volunteer

DIRECTORY = "/admin/volunteers"
ADD = "/admin/volunteers/new"
EN = {"Accept-Language": "en"}
NEW_ID = with_check_digit("F22000777")


def fresh(db):
    db.rollback()
    db.expire_all()
    return db


def count(db, unit) -> int:
    return fresh(db).scalar(select(func.count()).select_from(Volunteer)
                            .where(Volunteer.unit_id == unit.id))


def edit_link(page: str, vol) -> str | None:
    """The href of the "Edit details" link to this volunteer's profile form, if any."""
    match = re.search(rf'href="(/admin/data-requests/volunteers/{vol.id}/profile[^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


def profile_values(vol, **changes) -> dict:
    values = {"name_zh": vol.name_zh, "name_en": vol.name_en or "", "gender": vol.gender.value,
              "birth_date": vol.birth_date.isoformat(), "id_kind": vol.id_kind,
              "id_number": vol.id_number, "phone": vol.phone or "", "email": vol.email or "",
              "address": vol.address or "", "emergency_contact": vol.emergency_contact or "",
              "emergency_phone": vol.emergency_phone or ""}
    return {**values, **changes}


def walk_in(**changes) -> dict:
    return {"name_zh": "林走進", "name_en": "", "gender": "female", "birth_date": "1985-04-03",
            "id_kind": "national_id", "id_number": NEW_ID, "phone": "0912-345-678",
            "email": "", "address": "臺北市中正區", "emergency_contact": "林大人",
            "emergency_phone": "0922333444", "joined_on": "2026-01-05", "record_book_no": "",
            "record_book_issued_on": "", **changes}


def test_edit_details_from_the_directory_saves_a_new_phone_and_returns(db, make, unit, admin):
    vol = make.volunteer(unit, name_zh="王換號", phone="0911111111")
    page = admin.get(f"{DIRECTORY}?q=王換號").get_data(as_text=True)
    link = edit_link(page, vol)
    assert link and "編輯資料" in page
    assert admin.get(link).status_code == 200  # no correction request needed
    response = admin.post(link, profile_values(vol, phone="0933-222-111"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(DIRECTORY)  # back where the admin was
    db_vol = fresh(db).get(Volunteer, vol.id)
    assert db_vol.phone == "0933-222-111"
    entry = db.scalars(select(AuditEntry).where(
        AuditEntry.action == "volunteer_contact_update", AuditEntry.entity_id == vol.id)).one()
    assert "0933-222-111" in str(entry.after) and "0911111111" in str(entry.before)
    # a bad phone: refused as before, nothing changed
    bad = admin.post(link, profile_values(vol, phone="12"))
    assert bad.status_code == 400
    assert fresh(db).get(Volunteer, vol.id).phone == "0933-222-111"


def test_edit_details_from_the_status_page_returns_there(db, make, unit, admin):
    vol = make.volunteer(unit)
    status = f"/evaluation/volunteers/{vol.id}/status"
    link = edit_link(admin.get(status).get_data(as_text=True), vol)
    assert link
    response = admin.post(link, profile_values(vol, phone="0955666777"))
    assert response.status_code == 302 and response.headers["Location"].endswith(status)
    # never off the site: another site's address as `next` leads back to the form
    url = f"/admin/data-requests/volunteers/{vol.id}/profile?next=//evil.example/x"
    response = admin.post(url, profile_values(vol, phone="0955666778"))
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_a_supervisor_can_neither_edit_nor_add(db, make, unit, admin, supervisor):
    vol = make.volunteer(unit, phone="0911111111")
    page = supervisor.get(DIRECTORY).get_data(as_text=True)
    assert edit_link(page, vol) is None and ADD not in page
    url = f"/admin/data-requests/volunteers/{vol.id}/profile"
    assert supervisor.get(url).status_code == 403
    assert supervisor.post(url, profile_values(vol, phone="0933222111")).status_code == 403
    assert fresh(db).get(Volunteer, vol.id).phone == "0911111111"
    before = count(db, unit)
    assert supervisor.get(ADD).status_code == 403
    assert supervisor.post(ADD, walk_in()).status_code == 403
    assert count(db, unit) == before


def test_add_volunteer_creates_one_with_the_next_number(db, make, unit, admin):
    make.volunteer(unit, volunteer_no="1041")
    make.volunteer(unit, volunteer_no="1007")
    directory = admin.get(DIRECTORY).get_data(as_text=True)
    assert f'href="{ADD}"' in directory and "新增志工" in directory
    form = admin.get(ADD).get_data(as_text=True)
    assert "1042" in form  # the number it will get
    before = count(db, unit)
    response = admin.post(ADD, walk_in())
    assert response.status_code == 302
    assert count(db, unit) == before + 1
    new = db.scalars(select(Volunteer).where(Volunteer.id_number == NEW_ID)).one()
    assert new.volunteer_no == "1042" and new.name_zh == "林走進" and new.is_active
    assert new.phone == "0912-345-678" and new.joined_on.isoformat() == "2026-01-05"
    assert response.headers["Location"].endswith(f"/evaluation/volunteers/{new.id}/status")
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "林走進" in page and "1042" in page
    assert "建立登入帳號與連結" in page or "Create a sign-in account" in page
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "volunteer_add",
                                               AuditEntry.entity_id == new.id)).one()


def test_a_duplicate_id_number_is_refused_as_the_import_refuses_it(db, make, unit, admin):
    there = make.volunteer(unit, name_zh="陳已在", volunteer_no="2001", id_number=NEW_ID)
    before = count(db, unit)
    response = admin.post(ADD, walk_in(name_zh="陳重複"), headers=EN)
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert f"Already a volunteer of the unit: {there.name_zh} (2001)." in page
    assert 'value="陳重複"' in page  # the form keeps what was typed
    assert count(db, unit) == before
    # the import says the same of the same row
    checked = roster_rows.check_rows(fresh(db), unit.id, [roster_rows.Row(
        roster_rows.VOLUNTEERS, "志工", 2, {"志工編號": "2002", "姓名": "陳重複", "性別": "女",
                                         "出生日期": "1985-04-03", "證件號碼": NEW_ID})], [])[0]
    assert [p.message for p in checked.problems] == [
        "Already a volunteer of the unit: %(name)s (%(no)s)."]


def test_bad_input_is_explained_in_both_languages_and_saves_nothing(db, make, unit, admin):
    before = count(db, unit)
    bad = walk_in(name_zh="", birth_date="", id_number="A123456788", phone="12")
    zh = admin.post(ADD, bad).get_data(as_text=True)
    assert "此欄必填" in zh or "必填" in zh
    assert "檢查碼" in zh
    response = admin.post(ADD, bad, headers=EN)
    assert response.status_code == 400
    en = html.unescape(response.get_data(as_text=True))
    assert "This is required." in en and 'aria-invalid="true"' in en
    assert 'value="林大人"' in en  # kept
    assert count(db, unit) == before


def test_the_form_has_every_column_of_the_volunteer_sheet():
    from webapp.routes.directory import AddVolunteerForm

    assert list(roster_rows.VOLUNTEER_FIELDS) == [h for h, _ in
                                                  roster_rows.COLUMNS[roster_rows.VOLUNTEERS]]
    fields = {name for name in roster_rows.VOLUNTEER_FIELDS.values() if name != "volunteer_no"}
    assert fields <= set(AddVolunteerForm.__dict__)


def test_an_id_number_of_the_other_sex_is_refused_in_the_admin_forms(db, make, unit, admin):
    """Adding a volunteer (and so the roster import) and correcting one's details check the ID
    number's sex digit against the gender, as the application form does."""
    before = count(db, unit)
    response = admin.post(ADD, walk_in(gender="male"), headers=EN)  # NEW_ID is F2…: a woman's
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "The ID number is a woman's: check the gender or the number." in page
    assert count(db, unit) == before
    vol = make.volunteer(unit, name_zh="王男生", gender=Gender.male,
                         id_number=with_check_digit("B12000111"))
    url = f"/admin/data-requests/volunteers/{vol.id}/profile"
    response = admin.post(url, profile_values(vol, id_number=with_check_digit("B22000111")))
    assert response.status_code == 400
    assert "這個身分證號碼是女性的：請檢查性別或號碼。" in response.get_data(as_text=True)
    assert fresh(db).get(type(vol), vol.id).id_number == with_check_digit("B12000111")
    checked = roster_rows.check_rows(fresh(db), unit.id, [roster_rows.Row(
        roster_rows.VOLUNTEERS, "志工", 2, {"志工編號": "2002", "姓名": "陳男", "性別": "男",
                                         "出生日期": "1985-04-03", "證件號碼": NEW_ID})], [])[0]
    assert [p.message for p in checked.problems] == [
        "The ID number is a woman's: check the gender or the number."]
