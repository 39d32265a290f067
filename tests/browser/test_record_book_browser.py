"""Record book, my data and roster import at phone size: pages fit 360 px, the volunteer edits
contact details and uploads a photo, the admin sees readiness and checks a roster file."""
from __future__ import annotations

from PIL import Image
from playwright.sync_api import expect

from .conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in


def test_my_data_on_a_phone(app, phone, db, make, unit, tmp_path):
    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    user = make.user(unit, role="volunteer")
    page = sign_in(phone, user.email)
    page.goto("/me/data/")
    expect(page.get_by_role("heading", name="我的資料", exact=True)).to_be_visible()
    page.locator("input[name=phone]").fill("0912000111")
    page.locator("[name=address]").fill("臺北市大安區信義路三段 1 號")
    page.locator("input[name=emergency_contact]").fill("王媽媽")
    page.locator("input[name=emergency_phone]").fill("0912000222")
    with page.expect_navigation():
        page.get_by_role("button", name="儲存").first.click()
    expect(page.get_by_text("您的聯絡資料已儲存")).to_be_visible()
    expect(page.locator("input[name=phone]")).to_have_value("0912000111")
    photo = tmp_path / "me.png"
    Image.new("RGB", (800, 1200), (120, 160, 200)).save(photo)
    page.locator("input[name=photo]").set_input_files(str(photo))
    with page.expect_navigation():
        page.get_by_role("button", name="上傳照片").click()
    expect(page.locator("img.headshot")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "my-data-phone")


def test_record_book_and_import_on_a_phone(phone, db, make, unit):
    admin = make.user(unit, role="admin")
    v = make.volunteer(unit, name_zh="王小明")
    page = sign_in(phone, admin.email)
    page.goto("/admin/record-book/")
    expect(page.locator(f"#ready-{v.id}")).to_contain_text("王小明")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "record-book-phone")
    from models import privacy
    privacy.make_request(db, v, None, "correction", "出生日期應為 1980-05-18")
    db.commit()
    page.goto("/admin/data-requests/")
    expect(page.locator("#requests")).to_contain_text("王小明")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "data-requests-phone")
    page.goto(f"/admin/record-book/volunteers/{v.id}")
    page.locator("input[name=source_unit]").fill("臺北市甲協會")
    page.locator("input[name=period_start]").fill("2020-01-01")
    page.locator("input[name=period_end]").fill("2020-12-31")
    page.locator("input[name=hours]").fill("12.5")
    prior_form = page.locator("form:has(input[name=source_unit])")
    prior_form.locator("select[name=in_taipei]").select_option("yes")
    with page.expect_navigation():
        prior_form.get_by_role("button", name="新增", exact=True).click()
    expect(page.locator("#prior-hours")).to_contain_text("12.5")
    expect(page.locator("#prior-hours")).to_contain_text("臺北市")
    assert_fits_phone(page)
    screenshot(page, "record-book-volunteer-phone")
    page.goto("/admin/import/")
    page.locator("input[name=file]").set_input_files(files=[{
        "name": "roster.csv", "mimeType": "text/csv",
        "buffer": "類型,志工編號,姓名,性別,出生日期,證件號碼\n志工,V1,,男,1980-13-01,A123456780\n".encode(
            "utf-8-sig")}])
    page.allow_console_error("status of 400")  # a file with problems is answered 400
    with page.expect_navigation():
        page.get_by_role("button", name="檢查檔案（不儲存）").click()
    expect(page.locator("#problems")).to_contain_text("第 2 列")
    assert_fits_phone(page)
    screenshot(page, "roster-import-phone")


def test_record_book_page_with_the_units_completion_certificate_on_a_phone(app, phone, db, make,
                                                                          unit, tmp_path):
    """The special-training certificate read from the unit's completion certificate (its
    number shown), and a book number another volunteer holds refused by name: both fit 360 px."""
    import datetime as dt

    from models import completion, training, training_events
    from models.training import TrainingMode

    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    admin = make.user(unit, role="admin")
    make.volunteer(unit, name_zh="陳持冊", volunteer_no="7001", record_book_no="北市志字第110001號",
                   record_book_issued_on=dt.date(2025, 3, 1))
    v = make.volunteer(unit, name_zh="王小明", trained=False)
    training.seed_catalogue(db, unit)
    db.commit()
    day = dt.date(2026, 1, 10)
    for course in training.courses_of(db, unit.id):
        if course.legacy or (course.category not in (None, unit.category)):
            continue
        if course.kind.value == "special":
            event = training_events.create_event(db, unit.id, course=course, held_on=day)
            training_events.mark_attendance(db, event, [v.id])
        else:
            training.add_record(db, v, course=course, completed_on=day, minutes=course.minutes,
                                mode=TrainingMode.online)
    cert = completion.issue_completion(db, v, actor=admin, now=dt.datetime.now(dt.timezone.utc))
    db.commit()
    page = sign_in(phone, admin.email)
    page.goto(f"/admin/record-book/volunteers/{v.id}")
    expect(page.locator("dl.facts")).to_contain_text(f"結業證明書 {cert.serial}")
    book_form = page.locator("form:has(input[name=book_no])")
    book_form.locator("input[name=issued_on]").fill("2026-02-01")
    book_form.locator("input[name=book_no]").fill("北市志字第１１０００１號")
    page.allow_console_error("status of 400")  # the refused form answers 400
    with page.expect_navigation():
        book_form.get_by_role("button", name="儲存").click()
    expect(page.locator("form:has(input[name=book_no])")).to_contain_text("陳持冊（志工編號 7001）")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "record-book-completion-and-taken-number-phone")
