"""A volunteer's data requests on a phone: what people type (a pasted link, a long word) wraps
instead of making the page wider than the phone, on the volunteer's page and the admin's."""
from __future__ import annotations

from models import privacy
from models.people import Volunteer

from .conftest import assert_fits_phone, screenshot, sign_in

LINK = "https://example.tw/" + "a1b2c3d4e5" * 60  # one word of 619 characters


def test_a_long_link_in_a_data_request_wraps_on_a_phone(db, open_page, make, unit):
    user = make.user(unit, role="volunteer")
    admin = make.user(unit, role="admin")
    vol = db.get(Volunteer, user.volunteer.id)
    handled = privacy.make_request(db, vol, user, "correction", "地址請改為 " + LINK)
    privacy.handle_request(db, handled, admin, outcome="refused", response="請看 " + LINK + " 說明")
    waiting = privacy.make_request(db, vol, user, "correction", LINK)
    db.commit()

    page = sign_in(open_page("phone"), user.email)
    page.goto("/me/data/")
    assert page.locator("#my-requests li").count() == 2
    screenshot(page, "privacy-long-link-me-data")
    assert_fits_phone(page)

    page = sign_in(open_page("phone"), admin.email)
    page.goto("/admin/data-requests/")
    assert_fits_phone(page)
    page.goto(f"/admin/data-requests/{waiting.id}")
    assert_fits_phone(page)
    page.goto(f"/admin/data-requests/{handled.id}")
    assert_fits_phone(page)
