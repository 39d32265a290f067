"""Roster import: the template, the dry run listing every row's problems, all-or-nothing
import, duplicate ID numbers, the CLI and the admin page."""
import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models.base import taipei_date, utcnow
from models import roster_import, roster_rows
from models.audit import AuditEntry
from models.idnumbers import with_check_digit
from models.insurance import InsuranceCover
from models.people import Volunteer
from models.prior_service import PriorHours
from models.roster_import import ImportRefused
from models.training import TrainingCourse, TrainingKind, TrainingRecord

ID1 = with_check_digit("F22000001")
ID2 = with_check_digit("F12000002")


def fresh(db):
    db.rollback()
    db.expire_all()
    return db


def count(db, model) -> int:
    fresh(db)
    return db.scalar(select(func.count()).select_from(model))


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


VOL_HEAD = [h for h, _ in roster_rows.COLUMNS["volunteers"]]


def vol(no, name, number, gender="女", birth="1980-05-17", **extra):
    row = dict.fromkeys(VOL_HEAD, "")
    row.update({"志工編號": no, "姓名": name, "性別": gender, "出生日期": birth, "證件號碼": number,
                **extra})
    return [row[h] for h in VOL_HEAD]


@pytest.fixture
def course(db, unit):
    c = TrainingCourse(unit_id=unit.id, code="IMPORT-B", name="基礎", kind=TrainingKind.basic,
                       minutes=180, legacy=True)
    db.add(c)
    db.commit()
    return c


def good_file(course_code="IMPORT-B") -> bytes:
    return xlsx({
        "志工": [VOL_HEAD, vol("V001", "王小明", ID1), vol("V002", "李大華", ID2, gender="男",
                                                     birth="069/01/02")],
        "先前時數": [["證件號碼", "原運用單位", "期間起", "期間迄", "時數", "在臺北市服務", "備註"],
                 [ID1, "甲協會", "2020-01-01", "2020-12-31", "12.5", "否", ""]],
        "訓練紀錄": [["證件號碼", "課程代碼", "完成日期", "時數", "方式", "辦理單位", "證書字號"],
                 [ID2, course_code, "2024-03-01", "", "線上", "臺北E大", "E-1"]],
        "保險": [["證件號碼", "保險種類", "保險公司", "保單號碼", "起日", "迄日"],
               [ID1, "商業", "富邦產險", "P-1", "2026-01-01", "2026-12-31"]],
    })


def test_template_has_every_kind_with_its_headers():
    book = load_workbook(io.BytesIO(roster_import.template_xlsx()))
    assert book.sheetnames == ["志工", "先前時數", "訓練紀錄", "保險"]
    assert [c.value for c in book["志工"][1]] == VOL_HEAD


def test_good_file_imports_everything(db, make, unit, course):
    admin = make.user(unit, role="admin")
    check = roster_import.check(db, unit.id, good_file(), "roster.xlsx")
    assert check.problems == []
    assert check.counts == {"volunteers": 2, "prior_hours": 1, "training": 1, "insurance": 1}
    assert count(db, PriorHours) == 0  # the dry run saved nothing
    before_vols = count(db, Volunteer)
    result = roster_import.run(db, admin, good_file(), "roster.xlsx")
    db.commit()
    assert result.counts["volunteers"] == 2
    assert count(db, Volunteer) == before_vols + 2
    lee = db.scalars(select(Volunteer).where(Volunteer.id_number == ID2)).one()
    assert lee.birth_date.isoformat() == "1980-01-02" and lee.gender.value == "male"
    (prior,) = db.scalars(select(PriorHours)).all()
    assert prior.minutes == 750
    assert prior.in_taipei is False  # 在臺北市服務: 否 — not counted in Golden Diamond years
    record = db.scalars(select(TrainingRecord).where(TrainingRecord.volunteer_id == lee.id)).one()
    assert record.minutes == 180 and record.mode.value == "online"
    assert db.scalars(select(InsuranceCover).where(InsuranceCover.policy_no == "P-1")).one()
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "roster_import")).one()
    assert len(db.scalars(select(AuditEntry).where(AuditEntry.action == "volunteer_import")).all()) == 2


def test_dry_run_lists_every_rows_problems(db, make, unit, course):
    data = xlsx({
        "志工": [VOL_HEAD, vol("V001", "", "A123456780"), vol("V002", "乙", ID2, gender="?",
                                                          birth="1980-13-40"),
               vol("V003", "丙", ID2, gender="男")],
        "先前時數": [["證件號碼", "原運用單位", "期間起", "期間迄", "時數", "在臺北市服務", "備註"],
                 ["Z999999999", "甲", "2020-01-01", "2019-01-01", "-3", "也許", ""]],
        "訓練紀錄": [["證件號碼", "課程代碼", "完成日期", "時數", "方式", "辦理單位", "證書字號"],
                 [ID2, "NOPE", "2024-03-01", "", "", "", ""]],
    })
    result = roster_import.check(db, unit.id, data, "bad.xlsx")
    found = {(p.sheet, p.row, p.column) for p in result.problems}
    assert ("志工", 2, "姓名") in found
    assert ("志工", 2, "證件號碼") in found  # bad check digit
    assert ("志工", 3, "性別") in found and ("志工", 3, "出生日期") in found
    assert ("志工", 4, "證件號碼") in found  # same ID number as row 3
    assert ("先前時數", 2, "證件號碼") in found and ("先前時數", 2, "期間迄") in found
    assert ("先前時數", 2, "時數") in found
    taipei = next(p for p in result.problems if (p.sheet, p.row, p.column)
                  == ("先前時數", 2, "在臺北市服務"))
    assert taipei.text() == "Use one of: 是、否."
    assert ("訓練紀錄", 2, "課程代碼") in found
    dup = next(p for p in result.problems if (p.sheet, p.row, p.column) == ("志工", 4, "證件號碼"))
    assert dup.text() == "Same ID number as row 3 of this file."


def test_one_bad_row_saves_nothing(db, make, unit, course):
    admin = make.user(unit, role="admin")
    before = (count(db, Volunteer), count(db, PriorHours), count(db, InsuranceCover))
    with pytest.raises(ImportRefused) as error:
        roster_import.run(db, admin, good_file(course_code="MISSING"), "roster.xlsx")
    db.rollback()
    assert [(p.sheet, p.row) for p in error.value.problems] == [("訓練紀錄", 2)]
    assert (count(db, Volunteer), count(db, PriorHours), count(db, InsuranceCover)) == before


def test_duplicates_against_existing_volunteers(db, make, unit, course):
    make.volunteer(unit, name_zh="老志工", id_number=ID1, volunteer_no="OLD1")
    result = roster_import.check(db, unit.id, good_file(), "roster.xlsx")
    (problem,) = [p for p in result.problems if p.column == "證件號碼"]
    assert (problem.sheet, problem.row) == ("志工", 2)
    assert "老志工" in problem.text()
    # another unit's volunteer with the same number is no duplicate here
    other = make.unit()
    assert roster_import.check(db, other.id, good_file(), "roster.xlsx").problems != []  # no course
    assert not [p for p in roster_import.check(db, other.id, good_file(), "r.xlsx").problems
                if p.column == "證件號碼"]


def test_csv_with_a_type_column(db, make, unit):
    admin = make.user(unit, role="admin")
    head = ["類型", *VOL_HEAD, "原運用單位", "期間起", "期間迄", "時數", "備註"]
    lines = [head, ["志工", *vol("C1", "=HYPERLINK(1)", ID1), "", "", "", "", ""],
             ["先前時數"] + [""] * len(VOL_HEAD) + ["乙協會", "2019/1/1", "2019/6/30", "3", ""],
             ["會議", *[""] * (len(head) - 1)]]
    lines[2][head.index("證件號碼")] = ID1
    import csv as csvmod
    out = io.StringIO()
    csvmod.writer(out).writerows(lines)
    data = out.getvalue().encode("utf-8-sig")
    result = roster_import.check(db, unit.id, data, "roster.csv")
    assert [(p.row, p.column) for p in result.problems] == [(4, "類型")]
    data = "\r\n".join(out.getvalue().splitlines()[:3]).encode("utf-8-sig")
    result = roster_import.run(db, admin, data, "roster.csv")
    db.commit()
    assert result.counts == {"volunteers": 1, "prior_hours": 1, "training": 0, "insurance": 0}
    # a file without the 在臺北市服務 column still imports; the answer stays open for later
    assert db.scalars(select(PriorHours.in_taipei)).one() is None


def test_cli_dry_run_and_import(app, db, make, unit, course, tmp_path):
    make.user(unit, role="admin")
    path = tmp_path / "roster.xlsx"
    path.write_bytes(good_file(course_code="MISSING"))
    runner = app.test_cli_runner()
    out = runner.invoke(args=["import", str(path), "--dry-run"])
    assert out.exit_code != 0 and "訓練紀錄 row 2, 課程代碼" in out.output
    before = count(db, Volunteer)
    path.write_bytes(good_file())
    out = runner.invoke(args=["import", str(path), "--dry-run"])
    assert out.exit_code == 0 and "would import volunteers: 2" in out.output
    assert count(db, Volunteer) == before
    out = runner.invoke(args=["import", str(path)])
    assert out.exit_code == 0, out.output
    assert count(db, Volunteer) == before + 2


def test_admin_page(db, make, unit, course, admin, supervisor, volunteer):
    assert admin.get("/admin/import/").status_code == 200
    assert supervisor.get("/admin/import/").status_code == 403
    assert volunteer.get("/admin/import/").status_code == 403
    template = admin.get("/admin/import/roster-template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    before = count(db, Volunteer)
    bad = admin.post("/admin/import/", {"file": (io.BytesIO(good_file("MISSING")), "r.xlsx"),
                                        "action": "import"}, content_type="multipart/form-data")
    assert bad.status_code == 400 and "課程代碼" in bad.get_data(as_text=True)
    assert count(db, Volunteer) == before
    dry = admin.post("/admin/import/", {"file": (io.BytesIO(good_file()), "r.xlsx"),
                                        "action": "check"}, content_type="multipart/form-data")
    assert dry.status_code == 200 and count(db, Volunteer) == before
    assert "志工：2" in dry.get_data(as_text=True)  # a full-width colon in Chinese text
    done = admin.post("/admin/import/", {"file": (io.BytesIO(good_file()), "r.xlsx"),
                                         "action": "import"}, content_type="multipart/form-data")
    assert done.status_code == 302 and count(db, Volunteer) == before + 2


def test_duplicate_training_records_are_problems_not_crashes(db, make, unit, course):
    admin = make.user(unit, role="admin")
    roster_import.run(db, admin, good_file(), "roster.xlsx")
    db.commit()
    head = ["證件號碼", "課程代碼", "完成日期", "時數", "方式", "辦理單位", "證書字號"]
    row = [ID2, "IMPORT-B", "2024-03-01", "", "", "", ""]
    again = [ID2, "IMPORT-B", "2025-03-01", "", "", "", ""]
    result = roster_import.check(db, unit.id, xlsx({"訓練紀錄": [head, row, again, again]}), "t.xlsx")
    assert [(p.row, p.text()) for p in result.problems] == [
        (2, "This training record is already there."),
        (4, "Same training record as row 3 of this file.")]


def test_duplicate_covers_are_problems(db, make, unit, course):
    admin = make.user(unit, role="admin")
    roster_import.run(db, admin, good_file(), "roster.xlsx")
    db.commit()
    head = ["證件號碼", "保險種類", "保險公司", "保單號碼", "起日", "迄日"]
    rows = [[ID1, "商業", "富邦產險", "P-1", "2026-06-01", "2027-05-31"],
            [ID2, "商業", "國泰產險", "G-9", "2026-01-01", "2026-12-31"],
            [ID2, "商業", "國泰產險", "G-9", "2026-12-01", "2027-11-30"],
            [ID2, "商業", "國泰產險", "G-9", "2027-12-01", "2028-11-30"]]
    result = roster_import.check(db, unit.id, xlsx({"保險": [head, *rows]}), "c.xlsx")
    assert [(p.row, p.column) for p in result.problems] == [(2, "保單號碼"), (4, "保單號碼")]


def test_earlier_units_hours_are_not_imported_twice(db, make, unit, course):
    """The same earlier unit's hours for overlapping days would count twice toward awards:
    refused against what is recorded and within the file, as when they are typed in."""
    admin = make.user(unit, role="admin")
    roster_import.run(db, admin, good_file(), "roster.xlsx")
    db.commit()
    again = xlsx({"先前時數": [["證件號碼", "原運用單位", "期間起", "期間迄", "時數"],
                           [ID1, "甲協會", "2020-06-01", "2021-05-31", "8"],
                           [ID1, "乙協會", "2020-06-01", "2021-05-31", "8"],
                           [ID1, "乙協會", "2021-01-01", "2021-03-31", "2"],
                           [ID1, "乙協會", "2021-06-01", "2021-12-31", "4"]]})
    result = roster_import.check(db, unit.id, again, "again.xlsx")
    assert [(p.row, p.column, p.text()) for p in result.problems] == [
        (2, "期間起", "Hours from 甲協會 for 2020-01-01 – 2020-12-31 are already recorded, "
                   "and this period overlaps them."),
        (4, "期間起", "Same earlier unit for overlapping days as row 3 of this file.")]
    with pytest.raises(roster_import.ImportRefused):
        roster_import.run(db, admin, again, "again.xlsx")
    db.rollback()
    assert count(db, PriorHours) == 1


def test_import_keeps_the_rules_of_the_pages(db, make, unit, course):
    """What the insurance and training pages refuse, the import refuses too: group accident
    insurance for a volunteer without a record book, training completed after today, more
    hours than a course can have."""
    import datetime as dt
    now = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.timezone.utc)  # 2026-03-01 in Taipei
    ID3 = with_check_digit("F22000003")
    data = xlsx({
        "志工": [VOL_HEAD, vol("V001", "王小明", ID1),
               vol("V003", "陳有冊", ID3, 紀錄冊號碼="北市0001", 紀錄冊核發日期="2025-01-01"),
               vol("V004", "未來人", with_check_digit("F22000004"), birth="2026-03-02"),
               vol("V005", "古人", with_check_digit("F22000005"), birth="1900-01-01")],
        "先前時數": [["證件號碼", "原運用單位", "期間起", "期間迄", "時數"],
                 [ID1, "甲協會", "2025-03-01", "2026-03-02", "8"]],
        "訓練紀錄": [["證件號碼", "課程代碼", "完成日期", "時數"],
                 [ID1, "IMPORT-B", "2026-03-02", ""],
                 [ID1, "IMPORT-B", "2026-03-01", "25"],
                 [ID3, "IMPORT-B", "2026-03-01", ""]],
        "保險": [["證件號碼", "保險種類", "保險公司", "保單號碼", "起日", "迄日"],
               [ID1, "團體", "衛福部團保", "G-1", "2026-01-01", "2026-12-31"],
               [ID3, "團體", "衛福部團保", "G-1", "2026-01-01", "2026-12-31"]],
    })
    result = roster_import.check(db, unit.id, data, "rules.xlsx", now=now)
    assert [(p.sheet, p.row, p.column) for p in result.problems] == [
        ("保險", 2, "保險種類"), ("先前時數", 2, "期間迄"), ("志工", 4, "出生日期"),
        ("志工", 5, "出生日期"), ("訓練紀錄", 2, "完成日期"), ("訓練紀錄", 3, "時數")]
    texts = [p.text() for p in result.problems if p.sheet not in ("志工", "先前時數")]
    assert texts[0].startswith("Group accident insurance covers record-book holders only")
    assert texts[1] == "The date cannot be in the future."
    assert texts[2] == "At most 24 hours for one course."
    # an existing volunteer without a book is refused group cover as well
    admin = make.user(unit, role="admin")
    roster_import.run(db, admin, xlsx({"志工": [VOL_HEAD, vol("V001", "王小明", ID1)]}), "v.xlsx",
                      now=now)
    db.commit()
    later = xlsx({"保險": [["證件號碼", "保險種類", "保險公司", "保單號碼", "起日", "迄日"],
                         [ID1, "團體", "衛福部團保", "G-1", "2026-01-01", "2026-12-31"]]})
    assert [p.column for p in roster_import.check(db, unit.id, later, "i.xlsx", now=now)
            .problems] == ["保險種類"]


def test_the_downloaded_template_passes_the_check_as_it_is(db, make, unit, admin):
    """The template's example rows name courses of the standard catalogue (B01..B03, not
    "BASIC"): downloaded and checked unchanged on a unit with that catalogue, no problems."""
    from models import training

    training.seed_catalogue(db, unit)
    db.commit()
    template = admin.get("/admin/import/roster-template.xlsx").data
    book = load_workbook(io.BytesIO(template))
    codes = {c.code for c in training.courses_of(db, unit.id)}
    used = {row[1] for row in book["訓練紀錄"].iter_rows(min_row=2, values_only=True)}
    assert used and used <= codes
    before = count(db, Volunteer)
    dry = admin.post("/admin/import/", {"file": (io.BytesIO(template), "roster-template.xlsx"),
                                        "action": "check"}, content_type="multipart/form-data")
    page = dry.get_data(as_text=True)
    assert dry.status_code == 200, page[page.find('id="import-result"'):][:1500]
    assert "志工：1" in page and "訓練紀錄：3" in page
    assert count(db, Volunteer) == before


PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"


@pytest.mark.parametrize("data, name", [
    (PDF, "roster.pdf"),
    (PDF, "roster.csv"),  # the name does not decide
    (b"%PDF-1.7\n\x00\x01\x02\xe2\xe3\xcf\xd3 binary stream", "roster.pdf"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00", "old.xls"),  # Excel 97-2003
])
def test_a_file_that_is_neither_csv_nor_xlsx_is_refused_in_words(db, unit, admin, data, name):
    for lang, text in (("zh-TW", "請上傳 CSV 或 XLSX 檔案（範本是 XLSX 檔）。"),
                       ("en", "Upload a CSV or XLSX file (the template is an XLSX).")):
        response = admin.post("/admin/import/", {"file": (io.BytesIO(data), name),
                                                 "action": "check"},
                              content_type="multipart/form-data",
                              headers={"Accept-Language": lang})
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and text in page
        assert "類型" not in page[page.find('id="import-result"'):]  # not "no 類型 column"
    assert roster_import.check(db, unit.id, data, name).problems[0].message \
        == roster_rows.NOT_A_ROSTER_FILE


def test_csv_is_read_whatever_its_name_and_encoding(db, make, unit):
    header = "類型,證件號碼,課程代碼,完成日期\n"
    for data in ((header + "訓練紀錄,X,Y,2024-01-01\n").encode("utf-8-sig"),
                 (header + "訓練紀錄,X,Y,2024-01-01\n").encode("cp950")):
        for name in ("r.csv", "r.xlsx", "r.txt"):
            rows, problems = roster_rows.read_file(data, name)
            assert problems == [] and [r.kind for r in rows] == ["training"]


def test_record_book_numbers_follow_the_books_rule(db, make, unit, course):
    """record_book.book_no_refusal, as on the book's page: a number held by a volunteer of the
    unit (named), of another unit (not named), or by an earlier row of the file is a problem;
    the same person's book from another unit is not; numbers are kept with half-width digits."""
    make.volunteer(unit, name_zh="陳持冊", volunteer_no="7001",
                   record_book_no="北市志字第110001號", record_book_issued_on=dt.date(2025, 1, 1))
    stranger = make.volunteer(make.unit(), name_zh="林外人", record_book_no="北市志字第220001號",
                              record_book_issued_on=dt.date(2025, 1, 1))
    IDS = [with_check_digit(f"F2200001{k}") for k in range(5)]
    book = {"紀錄冊核發日期": "2025-02-01"}
    data = xlsx({"志工": [VOL_HEAD,
                        vol("V101", "甲", IDS[0], 紀錄冊號碼="北市志字第１１０００１號", **book),
                        vol("V102", "乙", IDS[1], 紀錄冊號碼="北市志字第220001號", **book),
                        vol("V103", "丙", IDS[2], 紀錄冊號碼="北市志字第330001號", **book),
                        vol("V104", "丁", IDS[3], 紀錄冊號碼="北市志字第 330001 號", **book),
                        vol("V105", "戊", stranger.id_number, 紀錄冊號碼="北市志字第220001號",
                            **book)]})
    result = roster_import.check(db, unit.id, data, "books.xlsx")
    assert [(p.row, p.column) for p in result.problems] == [
        (2, "紀錄冊號碼"), (3, "紀錄冊號碼"), (5, "紀錄冊號碼"), (6, "紀錄冊號碼")]
    texts = [p.text() for p in result.problems]
    assert "陳持冊" in texts[0] and "7001" in texts[0]
    assert "another unit" in texts[1] and "林外人" not in texts[1]
    assert texts[2] == "Same record book number as row 4 of this file."
    assert texts[3] == "Same record book number as row 3 of this file."  # two people of the file
    admin = make.user(unit, role="admin")
    ok = xlsx({"志工": [VOL_HEAD, vol("V103", "丙", IDS[2], 紀錄冊號碼="北市志字第３３０００１號",
                                    **book),
                      vol("V105", "戊", stranger.id_number, 紀錄冊號碼="北市志字第220001號", **book)]})
    roster_import.run(db, admin, ok, "ok.xlsx")
    db.commit()
    assert sorted(fresh(db).scalars(select(Volunteer.record_book_no).where(
        Volunteer.unit_id == unit.id, Volunteer.volunteer_no.in_(["V103", "V105"])))) == [
        "北市志字第220001號", "北市志字第330001號"]


def test_a_record_book_issued_in_the_future_is_a_problem_as_on_the_books_page(db, make, unit, course):
    today = taipei_date(utcnow())
    data = xlsx({"志工": [VOL_HEAD, vol("V111", "甲", with_check_digit("F22000020"),
                                       紀錄冊號碼="北市志字第440001號",
                                       紀錄冊核發日期=(today + dt.timedelta(days=30)).isoformat())]})
    result = roster_import.check(db, unit.id, data, "future.xlsx")
    assert [(p.row, p.column, p.text()) for p in result.problems] == [
        (2, "紀錄冊核發日期", "The issue date cannot be in the future.")]


def test_phone_and_email_follow_the_application_forms_rules(db, make, unit, course):
    """models.contact, as on the application form and the contact pages; empty is fine."""
    from models.contact import EMAIL_PROBLEM, PHONE_PROBLEM

    data = xlsx({"志工": [VOL_HEAD,
                        vol("V201", "甲", ID1, 電話="abc", 電子郵件="a..b@example.tw"),
                        vol("V202", "乙", ID2, gender="男", 緊急聯絡電話="找媽媽", 電話="",
                            電子郵件="yi@example.tw")]})
    result = roster_import.check(db, unit.id, data, "contact.xlsx")
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (2, "電話", PHONE_PROBLEM), (2, "電子郵件", EMAIL_PROBLEM), (3, "緊急聯絡電話", PHONE_PROBLEM)]


def test_full_width_phone_numbers_are_imported_as_digits(db, make, unit, course):
    admin = make.user(unit, role="admin")
    data = xlsx({"志工": [VOL_HEAD, vol("V301", "丙", ID1, 電話="０９１２－３４５－６７８",
                                      緊急聯絡電話="　０２２７００１２３４")]})
    assert roster_import.check(db, unit.id, data, "wide.xlsx").problems == []
    roster_import.run(db, admin, data, "wide.xlsx")
    db.commit()
    v = db.scalars(select(Volunteer).where(Volunteer.id_number == ID1)).one()
    assert (v.phone, v.emergency_phone) == ("0912-345-678", "0227001234")


def test_full_width_dates_are_imported_as_the_dates_they_say(db, make, unit, course):
    """A sheet typed on a Chinese keyboard: ２０２４／０３／０１, １９８０－０５－１７, an ROC
    ０６９／０１／０２, the same dates as their half-width forms."""
    admin = make.user(unit, role="admin")
    data = xlsx({
        "志工": [VOL_HEAD, vol("V401", "丁", ID1, birth="１９８０－０５－１７"),
                 vol("V402", "戊", ID2, gender="男", birth="０６９／０１／０２")],
        "訓練紀錄": [["證件號碼", "課程代碼", "完成日期", "時數", "方式", "辦理單位", "證書字號"],
                 [ID2, course.code, "２０２４／０３／０１", "", "線上", "臺北E大", "E-1"]],
    })
    assert roster_import.check(db, unit.id, data, "wide.xlsx").problems == []
    roster_import.run(db, admin, data, "wide.xlsx")
    db.commit()
    first, second = (db.scalars(select(Volunteer).where(Volunteer.id_number == n)).one()
                     for n in (ID1, ID2))
    assert first.birth_date == dt.date(1980, 5, 17) and second.birth_date == dt.date(1980, 1, 2)
    record = db.scalars(select(TrainingRecord).where(TrainingRecord.volunteer_id == second.id)).one()
    assert record.completed_on == dt.date(2024, 3, 1) and record.minutes == course.minutes
