"""The user guide's screenshots (docs/guide/img/<language>/<name>.png), taken on the demo unit.

Every run goes through each screen the guide shows (volunteer phone check-in, QR card, my hours;
the kiosk; the supervisor's dashboard, adjust form, bulk approval, attendance, slips; the admin's
sites, kiosks, insurance, recruitment, training, record books, MOHW export, plans, the volunteer
directory, evaluation, awards, results reports) and checks it is there,
in Traditional Chinese. With HOURBOOK_GUIDE_SHOTS=1 it does so in both languages and writes the
pictures into docs/guide/img/ (viewport only, 256-colour PNG) — commit them with the guide:

    HOURBOOK_GUIDE_SHOTS=1 .venv/bin/pytest -q tests/browser/test_guide_screenshots.py
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.walk import build_world

from .conftest import TIMEOUT_MS, sign_in

WRITE = os.environ.get("HOURBOOK_GUIDE_SHOTS") == "1"
IMG = Path(__file__).resolve().parents[2] / "docs" / "guide" / "img"
LOCALES = ["zh-TW", "en"] if WRITE else ["zh-TW"]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True,
         "has_touch": True}
TABLET = {"viewport": {"width": 768, "height": 1024}, "device_scale_factor": 1, "is_mobile": False,
          "has_touch": True}
STAFF = {"viewport": {"width": 1024, "height": 768}, "device_scale_factor": 1, "is_mobile": False,
         "has_touch": True}
GUIDE_VOLUNTEER = "volunteer05@demo.hourbook.tw"  # not on site yet; PIN 0148 (models/demo.py)
GUIDE_PIN = "0148"


def shot(page: Page, locale: str, name: str) -> None:
    """Write the picture when asked to; every run at least checks the page has settled."""
    page.wait_for_load_state("load")  # not "networkidle": the kiosk polls
    page.wait_for_timeout(150)  # htmx settling
    if not WRITE:
        return
    folder = IMG / locale
    folder.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(full_page=False)
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    image.save(folder / f"{name}.png", optimize=True)


@pytest.fixture
def world(db):
    return build_world(db)


def context(browser, live_server, size: dict, locale: str) -> Page:
    ctx = browser.new_context(base_url=live_server.url, locale=locale, timezone_id="Asia/Taipei", **size)
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx.new_page()


@pytest.mark.parametrize("locale", LOCALES)
def test_guide_screens(browser, live_server, db, world, locale):
    from sqlalchemy import select

    from models.people import User
    from models.service import Site
    from tests.walk import new_kiosk_code

    en = locale == "en"
    pages = []
    try:
        # --- volunteer: phone check-in by the site poster, my QR card, my hours ----------------
        phone = context(browser, live_server, PHONE, locale)
        pages.append(phone)
        sign_in(phone, GUIDE_VOLUNTEER, world.password)
        shot(phone, locale, "v-home")
        site = db.scalar(select(Site).where(Site.unit_id == world.unit_id).order_by(Site.id))
        phone.goto(f"/s/{site.token}")
        check_in = phone.locator("button[value=check_in]")
        expect(check_in).to_be_visible()
        shot(phone, locale, "v-checkin")
        check_in.click()
        expect(phone.locator("button[value=check_out]")).to_be_visible()
        shot(phone, locale, "v-checked-in")
        phone.goto("/me/card")
        expect(phone.locator("img.qr")).to_be_visible()
        shot(phone, locale, "v-card")
        phone.goto("/me/hours")
        shot(phone, locale, "v-hours")

        # --- the kiosk tablet: idle, the volunteer's screen after number + PIN --------------------
        kiosk = context(browser, live_server, TABLET, locale)
        pages.append(kiosk)
        kiosk.goto(f"/kiosk/enrol/{new_kiosk_code(db, world)}")
        with kiosk.expect_navigation():
            kiosk.locator("main form button[type=submit]").click()
        expect(kiosk.locator("#k-idle")).to_be_visible()
        kiosk.wait_for_timeout(300)
        shot(kiosk, locale, "k-idle")
        volunteer = db.scalar(select(User).where(User.email == GUIDE_VOLUNTEER)).volunteer
        for digit in volunteer.volunteer_no:
            kiosk.locator(f'.k-keypad [data-key="{digit}"]').click()
        kiosk.locator(".k-keypad .k-key-ok").click()
        for digit in GUIDE_PIN:
            kiosk.locator(f'.k-keypad [data-key="{digit}"]').click()
        kiosk.locator(".k-keypad .k-key-ok").click()
        expect(kiosk.locator(".k-person")).to_be_visible()
        shot(kiosk, locale, "k-person")

        # --- supervisor: dashboard, adjust, bulk approve, attendance, slips -----------------------
        sup = context(browser, live_server, STAFF, locale)
        pages.append(sup)
        sign_in(sup, world.emails["supervisor"], world.password)
        sup.goto("/dashboard/")
        first = sup.locator("#queue tbody tr, table tbody tr[id^=session-]").first
        expect(first).to_be_visible()
        shot(sup, locale, "s-dashboard")
        first.get_by_role("button", name="Adjust" if en else "修改時間").click()
        expect(sup.locator("form.row-form input[name=reason]")).to_be_visible()
        sup.locator("form.row-form input[name=reason]").scroll_into_view_if_needed()
        shot(sup, locale, "s-adjust")
        sup.goto("/dashboard/")
        sup.get_by_role("button", name=re.compile("Approve all unflagged|核准所有無標記紀錄")).click()
        expect(sup.locator("#bulk-area button").first).to_be_visible()
        sup.locator("#bulk-area").scroll_into_view_if_needed()
        shot(sup, locale, "s-bulk")
        sup.goto("/attendance/")
        shot(sup, locale, "s-attendance")
        sup.goto("/slips/")
        shot(sup, locale, "s-slips")

        # --- admin: sites and posters, kiosks, insurance, recruitment, training, record books ----
        adm = context(browser, live_server, STAFF, locale)
        pages.append(adm)
        sign_in(adm, world.emails["admin"], world.password)
        for path, name in [("/admin/sites/", "a-sites"), ("/admin/kiosks", "a-kiosks"),
                           ("/admin/insurance/", "a-insurance"), ("/admin/recruitment/", "a-recruitment"),
                           ("/admin/training/", "a-training"), ("/admin/record-book/", "a-record-book"),
                           ("/admin/export/mohw", "a-export"), ("/admin/plans", "a-plans"),
                           ("/admin/volunteers", "a-directory"), ("/evaluation/", "a-evaluation"),
                           ("/admin/awards/", "a-awards"), ("/reports/", "a-reports"), ("/help", None)]:
            response = adm.goto(path)
            assert response.ok, f"{path}: {response.status}"
            expect(adm.locator("main h1").first).to_be_visible()
            if name:
                shot(adm, locale, name)
            else:  # the guide's pictures load after the page: let them finish before the
                # context closes, or the test server is left holding a half-sent file
                adm.wait_for_load_state("networkidle")
    finally:
        for page in pages:
            page.context.close()
