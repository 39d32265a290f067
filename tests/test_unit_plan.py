"""Unit profile (legal type, contacts, supervisors, seal/logo) and the yearly service plan:
the filing state machine, versions, who may do what over HTTP, and the plan PDF's text."""
from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import pytest
from PIL import Image
from sqlalchemy import func, select

from models import plan as plans
from models import unit_profile
from models.audit import AuditEntry
from models.base import taipei_date, utcnow
from models.files import StoredFile, UploadRefused
from models.plan import PlanError, PlanStatus, ServicePlan
from models.unit import LegalType, Unit
from models.unit_profile import ProfileError, UnitProfile
from models.verification import SupervisorSite

TODAY = dt.date(2026, 12, 2)
# The plan the HTTP tests write: next year by today's Taipei date (a new plan may be for last,
# this or next year, plans.plan_years), so they pass in any year.
NEXT = taipei_date(utcnow()).year + 1
TEXTS = {"recruitment": "透過社區公告與網站召募志工，每年兩梯次。",
         "training": "基礎訓練與特殊訓練依規定辦理。",
         "management": "建立志工資料與服務紀錄，每月檢討。",
         "deployment": "依服務項目分派至各服務據點。",
         "guidance": "督導每季辦理輔導與團體討論。",
         "evaluation": "每年辦理年度考核，作為獎勵依據。"}


def fresh(db):
    db.rollback()
    db.expire_all()
    return db


def png(size=(120, 80), color="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def pdf_text(data: bytes, tmp_path, name="plan.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def pdf_image_count(data: bytes, tmp_path, name="img.pdf") -> int:
    path = tmp_path / name
    path.write_bytes(data)
    listing = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True,
                             text=True).stdout.splitlines()
    return sum(1 for line in listing[2:] if line.split() and line.split()[2] == "image")


def actions(db, prefix):
    return [a.action for a in fresh(db).scalars(
        select(AuditEntry).where(AuditEntry.action.like(prefix + "%")).order_by(AuditEntry.id))]


@pytest.fixture
def uploads(app, tmp_path):
    root = tmp_path / "uploads"
    app.config["HOURBOOK_UPLOAD_DIR"] = str(root)
    return root


@pytest.fixture
def items(make, unit):
    return [make.item(unit, code="A01", name_zh="長者關懷訪視"),
            make.item(unit, code="B02", name_zh="活動支援")]


def full_plan(db, unit, actor, items, year=2027):
    plan = plans.create_plan(db, unit.id, year, actor, today=TODAY)
    for key, text in TEXTS.items():
        plans.update_section(db, plan, key, text, actor)
    plans.update_items(db, plan, {items[0].id: "每週到宅關懷獨居長者。"}, actor)
    db.commit()
    return plan


# --- the state machine and versions ---------------------------------------------------------

def test_submit_is_refused_while_sections_are_empty_and_names_them(db, make, unit, items):
    actor = make.user(unit)
    plan = plans.create_plan(db, unit.id, 2027, actor, today=TODAY)
    plans.update_section(db, plan, "recruitment", "召募說明", actor)
    with pytest.raises(PlanError) as refused:
        plans.submit(db, plan, actor, submitted_on=TODAY, today=TODAY)
    assert refused.value.labels["sections"] == [
        "Training of volunteers", "Management of volunteers", "Deployment of volunteers",
        "Guidance of volunteers", "Evaluation of volunteers", "Service items"]
    assert "Empty: Training of volunteers, Management of volunteers" in str(refused.value)
    assert plan.current.status == PlanStatus.draft
    for key, text in TEXTS.items():
        plans.update_section(db, plan, key, text, actor)
    plans.update_section(db, plan, "guidance", "   \n  ", actor)  # blank counts as empty
    with pytest.raises(PlanError) as refused:
        plans.submit(db, plan, actor, submitted_on=TODAY, today=TODAY)
    assert refused.value.labels["sections"] == ["Guidance of volunteers", "Service items"]


def test_filing_moves_and_invalid_transitions(db, make, unit, items):
    actor = make.user(unit)
    plan = full_plan(db, unit, actor, items)
    with pytest.raises(PlanError, match="draft cannot be marked approved"):
        plans.approve(db, plan, actor, decided_on=TODAY, reference_no="府社字1號", today=TODAY)
    with pytest.raises(PlanError, match="draft cannot be marked returned"):
        plans.return_plan(db, plan, actor, decided_on=TODAY, reason="x", today=TODAY)
    with pytest.raises(PlanError, match="Enter the date"):
        plans.submit(db, plan, actor, submitted_on=None, today=TODAY)
    with pytest.raises(PlanError, match="future"):
        plans.submit(db, plan, actor, submitted_on=TODAY + dt.timedelta(days=1), today=TODAY)
    plans.submit(db, plan, actor, submitted_on=dt.date(2026, 11, 20), today=TODAY)
    assert plan.current.status == PlanStatus.submitted
    with pytest.raises(PlanError, match="submitted cannot be marked submitted"):
        plans.submit(db, plan, actor, submitted_on=TODAY, today=TODAY)
    with pytest.raises(PlanError, match="before the submission date"):
        plans.approve(db, plan, actor, decided_on=dt.date(2026, 11, 1), reference_no="1",
                      today=TODAY)
    with pytest.raises(PlanError, match="reference number"):
        plans.approve(db, plan, actor, decided_on=TODAY, reference_no=" ", today=TODAY)
    plans.approve(db, plan, actor, decided_on=TODAY, reference_no="北市社志字第1150001號",
                  today=TODAY)
    db.commit()
    v1 = fresh(db).get(ServicePlan, plan.id).current
    assert (v1.status, v1.reference_no, v1.decided_on) == (
        PlanStatus.approved, "北市社志字第1150001號", TODAY)
    with pytest.raises(PlanError, match="approved cannot be marked returned"):
        plans.return_plan(db, v1.plan, actor, decided_on=TODAY, reason="x", today=TODAY)
    assert actions(db, "plan_") == ["plan_created"] + ["plan_section_updated"] * 6 + [
        "plan_items_updated", "plan_submitted", "plan_approved"]


def test_editing_a_filed_version_starts_a_new_one_and_the_old_one_keeps_its_record(
        db, make, unit, items):
    actor = make.user(unit)
    plan = full_plan(db, unit, actor, items)
    plans.submit(db, plan, actor, submitted_on=TODAY, reference_no="收文123", today=TODAY)
    plans.return_plan(db, plan, actor, decided_on=TODAY, reason="請補充考核方式", today=TODAY)
    version, created = plans.update_section(db, plan, "evaluation", "新的考核方式", actor)
    assert created and version.number == 2 and version.status == PlanStatus.draft
    again, created_again = plans.update_section(db, plan, "training", "修正訓練", actor)
    assert again.id == version.id and not created_again  # a draft is edited in place
    db.commit()
    plan = fresh(db).get(ServicePlan, plan.id)
    old, new = plan.versions
    assert (old.status, old.evaluation, old.return_reason) == (
        PlanStatus.returned, TEXTS["evaluation"], "請補充考核方式")
    assert (new.evaluation, new.training, new.recruitment) == (
        "新的考核方式", "修正訓練", TEXTS["recruitment"])
    assert [i.service_item_id for i in new.items] == [items[0].id]  # items copied too
    assert new.reference_no == "" and new.submitted_on is None
    plans.submit(db, plan, actor, submitted_on=TODAY, today=TODAY)
    plans.update_items(db, plan, {items[1].id: "支援活動"}, actor)  # submitted -> version 3
    db.commit()
    plan = fresh(db).get(ServicePlan, plan.id)
    assert [v.status for v in plan.versions] == [PlanStatus.returned, PlanStatus.submitted,
                                                 PlanStatus.draft]
    assert [i.service_item_id for i in plan.versions[1].items] == [items[0].id]
    assert [i.service_item_id for i in plan.current.items] == [items[1].id]


def test_bad_plan_input_is_refused(db, make, unit, items):
    actor = make.user(unit)
    other_item = make.item(make.unit())
    plan = plans.create_plan(db, unit.id, 2027, actor, today=TODAY)
    db.commit()
    with pytest.raises(PlanError, match="already a plan for 2027"):
        plans.create_plan(db, unit.id, 2027, actor, today=TODAY)
    db.rollback()
    with pytest.raises(PlanError, match="from 2025 to 2027"):
        plans.create_plan(db, unit.id, 1999, actor, today=TODAY)
    db.rollback()
    plan = fresh(db).get(ServicePlan, plan.id)
    with pytest.raises(PlanError, match="unit's list"):
        plans.update_items(db, plan, {other_item.id: "別人的"}, actor)
    with pytest.raises(PlanError, match="at most 5000"):
        plans.update_section(db, plan, "training", "字" * 5001, actor)
    with pytest.raises(PlanError, match="no such section"):
        plans.update_section(db, plan, "service_items", "x", actor)


# --- unit profile ---------------------------------------------------------------------------

def test_profile_update_is_validated_and_audited(db, make, unit):
    actor = make.user(unit)
    with pytest.raises(ProfileError, match="five kinds"):
        unit_profile.update_profile(db, unit, actor, legal_type="company")
    db.rollback()
    unit_profile.update_profile(db, unit, actor, legal_type="school", responsible_person="林校長",
                                contact_name="王老師", registration_no=" 北市教字第1號 ")
    db.commit()
    unit = fresh(db).get(Unit, unit.id)
    assert unit.legal_type == LegalType.school and unit.registration_no == "北市教字第1號"
    assert unit_profile.profile_of(db, unit.id).responsible_person == "林校長"
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "unit_profile_updated")).one()
    assert entry.after_data()["legal_type"] == "school"
    assert entry.before_data()["legal_type"] == "juridical_person"


def test_logo_must_be_a_real_png_or_jpeg(db, make, unit, tmp_path):
    actor = make.user(unit)
    for data in (b"", b"GIF89a....", b"\x89PNG\r\n\x1a\nnot really a png", b"%PDF-1.4 x",
                 png((5000, 5001))):
        with pytest.raises(UploadRefused):
            unit_profile.set_logo(db, unit, data, "logo.png", actor, root=tmp_path)
        db.rollback()
    assert db.scalar(select(func.count()).select_from(StoredFile)) == 0
    unit_profile.set_logo(db, unit, png(), "logo.png", actor, root=tmp_path)
    db.commit()
    assert unit_profile.logo_bytes(fresh(db), unit.id, tmp_path) == png()


# --- over HTTP ------------------------------------------------------------------------------

def test_only_admins_reach_unit_and_plan_pages(db, make, unit, items, admin, supervisor,
                                               volunteer, anon):
    plan = full_plan(db, unit, admin.user, items)
    year = plan.year
    gets = ["/admin/unit", "/admin/plans", f"/admin/plans/{year}",
            f"/admin/plans/{year}/versions/1", f"/admin/plans/{year}/sections/training",
            f"/admin/plans/{year}.pdf", f"/admin/plans/{year}/versions/1.pdf",
            f"/admin/plans/{year}.docx", f"/admin/plans/{year}/versions/1.docx"]
    posts = [("/admin/unit", {"name": "改名", "legal_type": "school", "category": "comprehensive"}),
             ("/admin/unit/logo", {}), ("/admin/unit/logo/remove", {}),
             ("/admin/plans", {"year": "2030"}),
             (f"/admin/plans/{year}/sections/training", {"text": "改"}),
             (f"/admin/plans/{year}/filing/submit", {"day": TODAY.isoformat()}),
             (f"/admin/plans/{year}/documents", {})]
    for url in gets:
        assert admin.get(url).status_code == 200, url
        for person in (supervisor, volunteer):
            assert person.get(url).status_code == 403, url
        assert anon.get(url).status_code == 302, url
    for url, data in posts:
        for person in (supervisor, volunteer):
            assert person.post(url, data).status_code == 403, url
    plan = fresh(db).get(ServicePlan, plan.id)
    assert plan.current.training == TEXTS["training"] and plan.current.status == PlanStatus.draft
    assert fresh(db).get(Unit, unit.id).name == unit.name
    assert db.scalar(select(func.count()).select_from(ServicePlan)) == 1
    assert admin.get("/admin/plans/1999").status_code == 404
    assert admin.get(f"/admin/plans/{year}/versions/9").status_code == 404
    assert admin.get(f"/admin/plans/{year}/sections/nope").status_code == 404
    other = make.unit()
    plans.create_plan(db, other.id, 2028, make.user(other), today=dt.date(2027, 6, 1))
    db.commit()
    assert admin.get("/admin/plans/2028").status_code == 404  # another unit's plan


def test_profile_form_saves_and_refuses_in_words(db, make, unit, admin):
    supervisor_user = make.user(unit, role="supervisor", display_name="陳督導")
    site = make.site(unit, name_zh="大安據點")
    db.add(SupervisorSite(user_id=supervisor_user.id, site_id=site.id))
    db.commit()
    gone = make.user(unit, role="supervisor", display_name="林離職")
    gone.active = False  # deactivated on the team page: no longer the unit's supervisor
    db.commit()
    page = admin.get("/admin/unit").get_data(as_text=True)
    assert "陳督導" in page and "大安據點" in page and "林離職" not in page
    assert "經政府立案團體" in page  # the five kinds, in Chinese
    data = {"name": "財團法人臺北市測試基金會", "legal_type": "juridical_person",
            "category": "comprehensive", "registration_no": "北市社字第123號",
            "address": "臺北市中正區1號", "phone": "02-1234-5678",
            "responsible_person": "王董事長", "contact_name": "林小姐",
            "contact_phone": "0912-345-678", "contact_email": "lin@example.tw"}
    bad = admin.post("/admin/unit", {**data, "legal_type": "company", "contact_email": "nope"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "五種" in text and "name@example.tw" in text
    assert fresh(db).scalar(select(func.count()).select_from(UnitProfile)) == 0
    for field in ("phone", "contact_phone"):  # printed on welcome sheets and public pages
        refused = admin.post("/admin/unit", {**data, field: "abc"})
        assert refused.status_code == 400 and "0912-345-678" in refused.get_data(as_text=True), field
        assert fresh(db).scalar(select(func.count()).select_from(UnitProfile)) == 0
    ok = admin.post("/admin/unit", {**data, "contact_phone": "０９１２－３４５－６７８"})
    assert ok.status_code == 302
    assert unit_profile.profile_of(fresh(db), unit.id).contact_phone == "0912-345-678"  # half-width
    unit = fresh(db).get(Unit, unit.id)
    assert (unit.name, unit.category.value) == ("財團法人臺北市測試基金會", "comprehensive")
    assert unit_profile.profile_of(db, unit.id).contact_email == "lin@example.tw"
    assert actions(db, "unit_profile") == ["unit_profile_updated"]
    # the English name: what English readers see in the header, the mails and the pages
    assert admin.post("/admin/unit", {**data, "name_en": "Taipei Test Foundation"}).status_code == 302
    assert fresh(db).get(Unit, unit.id).name_en == "Taipei Test Foundation"
    page = admin.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<small>Taipei Test Foundation</small>" in page
    form = admin.get("/admin/unit").get_data(as_text=True)
    assert 'value="Taipei Test Foundation"' in form
    assert "英文名稱" in form and "英文姓名" not in form  # a unit's name, not a person's
    long = admin.post("/admin/unit", {**data, "name_en": "x" * 201})
    assert long.status_code == 400 and fresh(db).get(Unit, unit.id).name_en == "Taipei Test Foundation"


def test_bad_logo_is_refused_in_words_and_nothing_is_saved(db, unit, admin, uploads):
    bad = admin.post("/admin/unit/logo",
                     {"logo": (io.BytesIO(b"<html>not an image</html>"), "seal.png")},
                     content_type="multipart/form-data")
    assert bad.status_code == 400
    assert "請上傳 PNG 或 JPEG 圖片" in bad.get_data(as_text=True)
    empty = admin.post("/admin/unit/logo", {}, content_type="multipart/form-data")
    assert empty.status_code == 400
    assert fresh(db).scalar(select(func.count()).select_from(StoredFile)) == 0
    assert unit_profile.profile_of(db, unit.id).logo_file_id is None
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
    good = admin.post("/admin/unit/logo", {"logo": (io.BytesIO(png()), "seal.png")},
                      content_type="multipart/form-data")
    assert good.status_code == 302
    logo_id = unit_profile.profile_of(fresh(db), unit.id).logo_file_id
    assert logo_id is not None
    assert f"/files/{logo_id}" in admin.get("/admin/unit").get_data(as_text=True)
    assert admin.get(f"/files/{logo_id}").data == png()
    assert admin.post("/admin/unit/logo/remove").status_code == 302
    assert unit_profile.profile_of(fresh(db), unit.id).logo_file_id is None
    assert actions(db, "unit_logo") == ["unit_logo_set", "unit_logo_removed"]


def test_plan_over_http_edit_submit_version_and_pdf(db, make, unit, items, admin, uploads,
                                                    tmp_path):
    unit_profile.update_profile(db, fresh(db).get(Unit, unit.id), admin.user,
                                responsible_person="王董事長", registration_no="北市社字第9號")
    db.commit()
    assert admin.post("/admin/plans", {"year": str(NEXT)}).status_code == 302
    assert admin.post("/admin/plans", {"year": str(NEXT)}).status_code == 400  # twice
    bad_year = admin.post("/admin/plans", {"year": "20x7"})
    assert bad_year.status_code == 400
    # one message, the field's own: not also the range rule about a number nobody typed
    text = bad_year.get_data(as_text=True)
    assert "請輸入年度，例如 2027。" in text and "請輸入整數" not in text and "之間的年度" not in text
    # Edit a section in place (htmx): the section and the filing card come back
    form = admin.get(f"/admin/plans/{NEXT}/sections/recruitment", headers={"HX-Request": "true"})
    assert 'name="text"' in form.get_data(as_text=True)
    saved = admin.post(f"/admin/plans/{NEXT}/sections/recruitment", {"text": TEXTS["recruitment"]},
                       hx=True)
    body = saved.get_data(as_text=True)
    assert saved.status_code == 200 and TEXTS["recruitment"] in body
    empties = body.split('id="plan-empties" hx-swap-oob="true"')[1].split("</div>")[0]
    assert "訓練" in empties and "召募" not in empties  # recruitment is no longer listed as empty
    # Submitting with empty sections is refused and names them
    refused = admin.post(f"/admin/plans/{NEXT}/filing/submit", {"day": "2026-11-30"})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert re.search(r"尚有空白項目：訓練、管理、運用、輔導、考核、服務項目", text), text
    assert text.count("尚有空白項目") == 1  # said once, as an error (was a flash and the note)
    assert 'class="flash flash-error" id="empty-sections" role="alert"' in text
    assert fresh(db).scalar(select(ServicePlan)).current.status == PlanStatus.draft
    for key, value in TEXTS.items():
        assert admin.post(f"/admin/plans/{NEXT}/sections/{key}", {"text": value}).status_code == 302
    too_long = admin.post(f"/admin/plans/{NEXT}/sections/training", {"text": "字" * 5001})
    assert too_long.status_code == 400 and "5000" in too_long.get_data(as_text=True)
    assert admin.post(f"/admin/plans/{NEXT}/sections/service_items",
                      {"item": [str(items[0].id), str(items[1].id)],
                       f"text-{items[0].id}": "每週到宅關懷"}).status_code == 302
    future = admin.post(f"/admin/plans/{NEXT}/filing/submit", {"day": "2999-01-01"})
    assert future.status_code == 400 and "日期不能在未來" in future.get_data(as_text=True)
    done = admin.post(f"/admin/plans/{NEXT}/filing/submit",
                      {"day": "2026-11-30", "reference_no": "收文第1號"})
    assert done.status_code == 302
    page = admin.get(f"/admin/plans/{NEXT}").get_data(as_text=True)
    assert "已送件" in page and "收文第1號" in page
    assert admin.post(f"/admin/plans/{NEXT}/filing/nope", {}).status_code == 404
    # Attach the submission receipt; a bad document is refused
    bad_doc = admin.post(f"/admin/plans/{NEXT}/documents",
                         {"document": (io.BytesIO(b"MZ\x90\x00"), "receipt.pdf")},
                         content_type="multipart/form-data")
    assert bad_doc.status_code == 400 and "請上傳 PDF、JPEG 或 PNG" in bad_doc.get_data(as_text=True)
    doc = admin.post(f"/admin/plans/{NEXT}/documents",
                     {"document": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "receipt.pdf"),
                      "label": "送件回執"}, content_type="multipart/form-data")
    assert doc.status_code == 302
    assert "送件回執" in admin.get(f"/admin/plans/{NEXT}").get_data(as_text=True)
    # Editing the submitted plan starts version 2; version 1 stays readable as filed
    again = admin.post(f"/admin/plans/{NEXT}/sections/training", {"text": "修正後的訓練"}, hx=True)
    assert again.status_code == 204 and again.headers["HX-Redirect"] == f"/admin/plans/{NEXT}"
    latest = admin.get(f"/admin/plans/{NEXT}").get_data(as_text=True)
    assert "第 2 版" in latest and "修正後的訓練" in latest
    v1 = admin.get(f"/admin/plans/{NEXT}/versions/1").get_data(as_text=True)
    assert TEXTS["training"] in v1 and "修正後的訓練" not in v1 and "收文第1號" in v1
    assert "送件回執" in v1
    # The PDF: unit details, year, version, the seven headings in order, the items
    pdf = admin.get(f"/admin/plans/{NEXT}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.get_data(), tmp_path)
    assert "中華民國 116 年度志願服務計畫" in text and "第 2 版" in text
    assert unit.name in text and "王董事長" in text and "北市社字第9號" in text
    assert "法人（社會福利類）" in text
    headings = ["一、召募", "二、訓練", "三、管理", "四、運用", "五、輔導", "六、考核", "七、服務項目"]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "修正後的訓練" in text and "長者關懷訪視" in text and "每週到宅關懷" in text
    old = pdf_text(admin.get(f"/admin/plans/{NEXT}/versions/1.pdf").get_data(), tmp_path, "v1.pdf")
    assert "第 1 版" in old and TEXTS["training"] in old and "已送件" in old
    # The same as a Word file
    from docx import Document

    word = admin.get(f"/admin/plans/{NEXT}.docx")
    assert word.status_code == 200 and word.mimetype.endswith("wordprocessingml.document")
    document = Document(io.BytesIO(word.get_data()))
    paragraphs = [p.text for p in document.paragraphs]
    assert [p for p in paragraphs if p in headings] == headings
    assert "中華民國 116 年度志願服務計畫" in paragraphs and "修正後的訓練" in paragraphs
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "王董事長" in cells and "長者關懷訪視" in cells and "每週到宅關懷" in cells
    old_word = Document(io.BytesIO(admin.get(f"/admin/plans/{NEXT}/versions/1.docx").get_data()))
    assert TEXTS["training"] in [p.text for p in old_word.paragraphs]


def test_a_document_attached_by_mistake_is_removed_with_its_file(db, make, unit, items, admin,
                                                                  supervisor, uploads):
    assert admin.post("/admin/plans", {"year": str(NEXT)}).status_code == 302
    for label in ("送件回執", "別人的身分證影本"):
        assert admin.post(f"/admin/plans/{NEXT}/documents",
                          {"document": (io.BytesIO(b"%PDF-1.4\n%%EOF\n" + label.encode()), "x.pdf"),
                           "label": label}, content_type="multipart/form-data").status_code == 302
    keep, wrong = fresh(db).scalars(select(plans.PlanDocument).order_by(plans.PlanDocument.id))
    keep_file_id, wrong_id, wrong_file_id = keep.file_id, wrong.id, wrong.file_id
    wrong_file = db.get(StoredFile, wrong_file_id)
    on_disk = uploads / wrong_file.storage_key
    assert on_disk.exists()
    page = admin.get(f"/admin/plans/{NEXT}").get_data(as_text=True)
    assert f'id="document-{wrong_id}"' in page and "刪除 別人的身分證影本" in page
    url = f"/admin/plans/{NEXT}/documents/{wrong_id}/delete"
    assert supervisor.post(url, {}).status_code == 403
    assert admin.client.post(url, data={}).status_code == 400  # no CSRF token
    assert admin.post(f"/admin/plans/{NEXT}/documents/999999/delete", {}).status_code == 404
    assert admin.post("/admin/plans/2026/documents/1/delete", {}).status_code == 404
    assert fresh(db).get(plans.PlanDocument, wrong_id) is not None and on_disk.exists()
    done = admin.post(url, {})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/plans/{NEXT}#documents")
    page = admin.get(f"/admin/plans/{NEXT}").get_data(as_text=True)
    assert "別人的身分證影本" not in page and "送件回執" in page and "文件已刪除" in page
    assert not on_disk.exists()
    assert admin.get(f"/files/{wrong_file_id}").status_code == 404
    assert admin.get(f"/files/{keep_file_id}").status_code == 200
    assert fresh(db).get(StoredFile, wrong_file_id) is None
    assert actions(db, "plan_document") == ["plan_document_added", "plan_document_added",
                                            "plan_document_removed"]
    removed = db.scalar(select(AuditEntry).where(AuditEntry.action == "plan_document_removed"))
    assert removed.actor_user_id == admin.user.id and "別人的身分證影本" in removed.before
    assert "file_deleted" in actions(db, "file_deleted")
    assert admin.post(url, {}).status_code == 404  # already gone


def test_the_same_document_twice_is_attached_once(db, make, unit, items, admin, uploads):
    assert admin.post("/admin/plans", {"year": str(NEXT)}).status_code == 302

    def attach(body: bytes):
        return admin.post(f"/admin/plans/{NEXT}/documents",
                          {"document": (io.BytesIO(b"%PDF-1.4\n%%EOF\n" + body), "x.pdf"),
                           "label": "送件回執"}, content_type="multipart/form-data")

    assert attach(b"receipt").status_code == 302
    again = attach(b"receipt")
    assert again.status_code == 400 and "這個檔案已附在第 1 版" in again.get_data(as_text=True)
    assert len(fresh(db).scalars(select(plans.PlanDocument)).all()) == 1
    assert len(db.scalars(select(StoredFile)).all()) == 1
    assert attach(b"the approval letter").status_code == 302  # another file is welcome


def test_logo_is_printed_on_the_plan_and_the_hour_slips(db, make, unit, items, admin, uploads,
                                                        tmp_path):
    from webapp.printing.slips import SlipDoc, SlipLine, slips_pdf

    full_plan(db, unit, admin.user, items)
    without = admin.get(f"/admin/plans/{NEXT}.pdf").get_data()
    assert pdf_image_count(without, tmp_path, "a.pdf") == 0
    assert admin.post("/admin/unit/logo", {"logo": (io.BytesIO(png()), "seal.png")},
                      content_type="multipart/form-data").status_code == 302
    with_logo = admin.get(f"/admin/plans/{NEXT}.pdf").get_data()
    assert pdf_image_count(with_logo, tmp_path, "b.pdf") == 1
    assert "一、召募" in pdf_text(with_logo, tmp_path)
    from docx import Document

    word = Document(io.BytesIO(admin.get(f"/admin/plans/{NEXT}.docx").get_data()))
    assert len(word.inline_shapes) == 1  # the seal/logo at the top of the Word file too
    slip = SlipDoc(serial="115-0001", unit_name=unit.name, volunteer_name="林志工",
                   volunteer_no="5001", record_book_no="", period_start=dt.date(2026, 3, 1),
                   period_end=dt.date(2026, 3, 31),
                   lines=[SlipLine(dt.date(2026, 3, 2), "09:00", "11:30", "據點", "關懷", 150)],
                   total_minutes=150, issued_by="王承辦", issued_on=dt.date(2026, 4, 2),
                   logo=png())
    data = slips_pdf([slip])
    assert pdf_image_count(data, tmp_path, "slip.pdf") == 1
    words = pdf_text(data, tmp_path, "slip.pdf")
    assert "志願服務時數條" in words and unit.name in words
    slip.logo = b"\x89PNG\r\n\x1a\nbroken"  # an unreadable logo never stops printing
    assert pdf_image_count(slips_pdf([slip]), tmp_path, "slip2.pdf") == 0


def test_english_pages(db, make, unit, items, admin):
    full_plan(db, unit, admin.user, items)
    en = {"Accept-Language": "en"}
    page = admin.get(f"/admin/plans/{NEXT}", headers=en).get_data(as_text=True)
    assert "Recruitment of volunteers" in page and "Mark as submitted" in page
    assert "Legal type" in admin.get("/admin/unit", headers=en).get_data(as_text=True)


# --- filing reminders (workflow step 3) ------------------------------------------------------

def reminded(db, unit, today):
    return [(r.year, r.kind.value, r.version.number if r.version else None)
            for r in plans.filing_reminders(fresh(db), unit.id, today)]


def test_filing_reminders_until_each_year_is_filed_and_decided(db, make, unit, items):
    actor = make.user(unit)
    july = dt.date(2026, 7, 3)
    assert reminded(db, unit, july) == [(2026, "not_filed", None)]  # the year runs without a plan
    assert reminded(db, unit, dt.date(2026, 10, 31)) == [(2026, "not_filed", None)]
    # from 1 November next year's plan is due as well: it is filed before the year begins
    assert reminded(db, unit, dt.date(2026, 11, 1)) == [(2026, "not_filed", None),
                                                        (2027, "not_filed", None)]
    [nov] = plans.filing_reminders(db, unit.id, dt.date(2026, 11, 1))[1:]
    assert nov.days_to_year == 61
    make.plan(unit, 2026, actor=actor)  # approved
    draft = full_plan(db, unit, actor, items, year=2027)
    assert reminded(db, unit, dt.date(2026, 11, 1)) == [(2027, "not_filed", 1)]
    plans.submit(db, draft, actor, submitted_on=dt.date(2026, 11, 10), today=dt.date(2026, 11, 10))
    db.commit()
    # submitted: nothing to do until FOLLOW_UP_DAYS pass without a decision
    assert reminded(db, unit, dt.date(2026, 12, 9)) == []
    assert reminded(db, unit, dt.date(2026, 12, 10)) == [(2027, "no_decision", 1)]
    [waiting] = plans.filing_reminders(db, unit.id, dt.date(2026, 12, 10))
    assert waiting.days_waiting == plans.FOLLOW_UP_DAYS == 30
    plans.return_plan(db, draft, actor, decided_on=dt.date(2026, 12, 11), reason="請補充考核方式",
                      today=dt.date(2026, 12, 11))
    db.commit()
    assert reminded(db, unit, dt.date(2026, 12, 11)) == [(2027, "returned", 1)]
    plans.update_section(db, draft, "evaluation", "補充後的考核方式", actor)  # version 2, a draft
    db.commit()
    assert reminded(db, unit, dt.date(2026, 12, 12)) == [(2027, "not_filed", 2)]
    plans.submit(db, draft, actor, submitted_on=dt.date(2026, 12, 12), today=dt.date(2026, 12, 12))
    plans.approve(db, draft, actor, decided_on=dt.date(2026, 12, 20), reference_no="府社字2號",
                  today=dt.date(2026, 12, 20))
    db.commit()
    assert reminded(db, unit, dt.date(2026, 12, 20)) == []
    # revising an approved plan: the approved version stands while the revision is a draft...
    plans.update_section(db, draft, "training", "新增訓練課程", actor)
    db.commit()
    assert reminded(db, unit, dt.date(2027, 3, 1)) == []
    # ...and once submitted, a revision left without a decision is followed up like any other
    plans.submit(db, draft, actor, submitted_on=dt.date(2027, 3, 1), today=dt.date(2027, 3, 1))
    db.commit()
    assert reminded(db, unit, dt.date(2027, 4, 15)) == [(2027, "no_decision", 3)]
    # another unit's plans are its own
    assert reminded(db, make.unit(), dt.date(2027, 4, 15)) == [(2027, "not_filed", None)]


def test_admin_home_and_plans_page_remind_until_filed(db, make, unit, admin, supervisor):
    today = taipei_date(utcnow())
    due = plans.filing_reminders(db, unit.id, today)
    assert [r.year for r in due][0] == today.year and all(r.version is None for r in due)
    home = admin.get("/").get_data(as_text=True)
    assert 'id="plan-reminders"' in home and "尚未建立" in home
    for r in due:  # a plan not started: the way to start it, with its year filled in
        assert f'href="/admin/plans?year={r.year}"' in home
    # this year's, where the form would otherwise offer next year
    start = admin.get(f"/admin/plans?year={today.year}").get_data(as_text=True)
    assert 'id="plan-reminders"' in start
    assert re.search(rf'<input[^>]*name="year"[^>]*value="{today.year}"', start)
    assert re.search(rf'<input[^>]*name="year"[^>]*value="{today.year + 1}"',
                     admin.get("/admin/plans").get_data(as_text=True))
    assert 'id="plan-reminders"' not in supervisor.get("/").get_data(as_text=True)
    english = admin.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Service plan filing" in english and "Not started yet." in english
    make.plan(unit, today.year, status="returned", submitted_on=today - dt.timedelta(days=20),
              decided_on=today - dt.timedelta(days=3))
    returned = admin.get("/").get_data(as_text=True)
    assert f'href="/admin/plans/{today.year}"' in returned and "服務項目說明不足" in returned
    for r in due[1:]:
        make.plan(unit, r.year)
    plan = fresh(db).scalar(select(ServicePlan).where(ServicePlan.unit_id == unit.id,
                                                      ServicePlan.year == today.year))
    plans.update_section(db, plan, "guidance", "補充", admin.user)
    plans.submit(db, plan, admin.user, submitted_on=today, today=today)
    plans.approve(db, plan, admin.user, decided_on=today, reference_no="府社字3號", today=today)
    db.commit()
    assert 'id="plan-reminders"' not in admin.get("/").get_data(as_text=True)
    assert 'id="plan-reminders"' not in admin.get("/admin/plans").get_data(as_text=True)


def test_a_section_edited_on_its_own_page_goes_back_to_the_plan(db, make, unit, items, admin):
    """Opened on its own (a new tab, no script), the section's form posted with htmx and got the
    in-place answer, whose filing card had no place on that page (htmx:oobErrorNoTarget): the
    admin was left on the edit page. On its own page the form posts plainly, back to the plan."""
    assert admin.post("/admin/plans", {"year": str(NEXT)}).status_code == 302
    page = admin.get(f"/admin/plans/{NEXT}/sections/recruitment").get_data(as_text=True)
    form = page.split('name="text"')[0].rsplit("<form", 1)[1]
    assert "hx-post" not in form
    saved = admin.post(f"/admin/plans/{NEXT}/sections/recruitment", {"text": "公開招募。"})
    assert saved.status_code == 302 and saved.location.endswith(f"/admin/plans/{NEXT}#section-recruitment")
    in_place = admin.get(f"/admin/plans/{NEXT}/sections/training", headers={"HX-Request": "true"})
    assert "hx-post" in in_place.get_data(as_text=True)  # in the plan, htmx swaps it in place


# --- a plan's year, and a draft started by mistake -------------------------------------------

@pytest.mark.parametrize("today, low, high", [
    (dt.date(2026, 12, 2), 2025, 2027), (dt.date(2027, 1, 1), 2026, 2028)])
def test_a_plan_is_for_last_year_this_year_or_next_year(db, make, unit, today, low, high):
    actor = make.user(unit)
    for year in (low - 1, high + 1, 1999, 2099):
        with pytest.raises(PlanError) as refused:
            plans.create_plan(db, unit.id, year, actor, today=today)
        assert refused.value.params == {"low": low, "high": high}
        db.rollback()
    for year in (low, high):
        assert plans.create_plan(db, unit.id, year, actor, today=today).year == year
    db.commit()
    assert sorted(p.year for p in plans.plans_of(fresh(db), unit.id)) == [low, high]


def test_a_year_out_of_the_window_is_refused_in_words_over_http(db, admin):
    this_year = taipei_date(utcnow()).year
    for year in ("2099", "1999", str(this_year + 2)):
        response = admin.post("/admin/plans", {"year": year})
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert (f"計畫為去年、今年或明年的年度：請輸入 {this_year - 1} 到 {this_year + 1} "
                f"之間的年度。") in text, text
    assert fresh(db).scalar(select(func.count()).select_from(ServicePlan)) == 0
    english = admin.post("/admin/plans", {"year": "2099"}, headers={"Accept-Language": "en"})
    assert (f"A plan is for last year, this year or next year: enter a year from {this_year - 1} "
            f"to {this_year + 1}.") in english.get_data(as_text=True)
    assert admin.post("/admin/plans", {"year": str(this_year + 1)}).status_code == 302


def test_a_draft_started_by_mistake_is_deleted_with_its_files(db, make, unit, items, admin,
                                                              supervisor, uploads):
    year = taipei_date(utcnow()).year + 1
    assert admin.post("/admin/plans", {"year": str(year)}).status_code == 302
    assert admin.post(f"/admin/plans/{year}/sections/recruitment",
                      {"text": "打錯年度的草稿"}).status_code == 302
    assert admin.post(f"/admin/plans/{year}/documents",
                      {"document": (io.BytesIO(b"%PDF-1.4\n%%EOF\nwrong"), "x.pdf"),
                       "label": "誤傳"}, content_type="multipart/form-data").status_code == 302
    file_id = fresh(db).scalar(select(plans.PlanDocument.file_id))
    on_disk = uploads / db.get(StoredFile, file_id).storage_key
    page = admin.get(f"/admin/plans/{year}").get_data(as_text=True)
    url = f"/admin/plans/{year}/delete"
    assert f'href="{url}"' in page and "刪除這份草稿" in page
    confirm = admin.get(url)
    assert confirm.status_code == 200 and "刪除 " + str(year) in confirm.get_data(as_text=True)
    assert supervisor.get(url).status_code == 403 and supervisor.post(url, {}).status_code == 403
    assert admin.client.post(url, data={}).status_code == 400  # no CSRF token
    assert plans.plan_for_year(fresh(db), unit.id, year) is not None and on_disk.exists()
    done = admin.post(url, {})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/plans")
    listing = admin.get("/admin/plans").get_data(as_text=True)
    assert f"已刪除 {year} 年度計畫" in listing
    assert plans.plan_for_year(fresh(db), unit.id, year) is None
    assert db.scalar(select(func.count()).select_from(plans.PlanVersion)) == 0
    assert db.scalar(select(func.count()).select_from(plans.PlanItem)) == 0
    assert db.get(StoredFile, file_id) is None and not on_disk.exists()
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "plan_deleted"))
    assert entry.actor_user_id == admin.user.id and "打錯年度的草稿" in entry.before
    assert entry.before_data()["year"] == year
    assert admin.get(url).status_code == 404 and admin.post(url, {}).status_code == 404
    assert admin.post("/admin/plans", {"year": str(year)}).status_code == 302  # started again


def test_a_plan_ever_submitted_is_not_deleted(db, make, unit, items, admin):
    plan = full_plan(db, unit, admin.user, items, year=taipei_date(utcnow()).year)
    today = taipei_date(utcnow())
    plans.submit(db, plan, admin.user, submitted_on=today, today=today)
    db.commit()
    plans.update_section(db, plan, "training", "新版本", admin.user)  # version 2, a draft
    db.commit()
    year, url = plan.year, f"/admin/plans/{plan.year}/delete"
    assert f'href="{url}"' not in admin.get(f"/admin/plans/{year}").get_data(as_text=True)
    shown = admin.get(url)
    assert shown.status_code == 302
    assert "只有從未送件的計畫可以刪除" in admin.get(f"/admin/plans/{year}").get_data(as_text=True)
    refused = admin.post(url, {})
    assert refused.status_code == 302
    assert "只有從未送件的計畫可以刪除" in admin.get(f"/admin/plans/{year}").get_data(as_text=True)
    assert [v.status for v in plans.plan_for_year(fresh(db), unit.id, year).versions] == [
        PlanStatus.submitted, PlanStatus.draft]
    with pytest.raises(PlanError, match="never submitted"):
        plans.delete_plan(db, plans.plan_for_year(db, unit.id, year), admin.user, root=None)
    db.rollback()
    assert "plan_deleted" not in actions(db, "plan_")
