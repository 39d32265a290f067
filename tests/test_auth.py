"""Sign-in, sign-out, remember me, password change, CSRF, rate limiting — over real HTTP."""
from sqlalchemy import select

from models.audit import AuditEntry


def test_anonymous_home_redirects_to_sign_in(anon):
    response = anon.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=/")


def test_admin_signs_in_and_sees_staff_home(app, make, unit, anon):
    user = make.user(unit, role="admin", display_name="王承辦")
    response = anon.sign_in(user.email, make.PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = anon.get("/").get_data(as_text=True)
    assert "王承辦" in page and unit.name in page
    assert 'id="today-sessions"' in page or "今天還沒有人簽到" in page


def test_email_is_case_insensitive(app, make, unit, anon):
    make.user(unit, role="supervisor", email="Lin.Supervisor@Example.tw")
    assert anon.sign_in("lin.supervisor@example.tw", make.PASSWORD).status_code == 302


def test_wrong_password_gives_one_message_without_hint(app, make, unit, anon):
    user = make.user(unit, role="admin")
    wrong_pw = anon.sign_in(user.email, "not the password")
    unknown = anon.sign_in("nobody@example.tw", make.PASSWORD)
    assert wrong_pw.status_code == unknown.status_code == 401
    text_a, text_b = wrong_pw.get_data(as_text=True), unknown.get_data(as_text=True)
    assert "電子郵件或密碼不正確" in text_a and "電子郵件或密碼不正確" in text_b
    assert anon.get("/").status_code == 302  # still signed out


def test_empty_form_shows_field_errors(anon):
    response = anon.post("/sign-in", {"email": "", "password": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "請輸入電子郵件" in page and "請輸入密碼" in page


def test_repeated_failures_are_slowed_down(app, make, unit, anon):
    user = make.user(unit, role="admin")
    statuses = [anon.sign_in(user.email, "wrong").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    # even the right password waits now
    assert anon.sign_in(user.email, make.PASSWORD).status_code == 429


def test_sign_in_returns_to_next_page_but_never_offsite(app, make, unit, anon):
    user = make.user(unit, role="admin")
    assert anon.sign_in(user.email, make.PASSWORD, next_url="/account/password").headers["Location"] == "/account/password"
    # another site, however it is written: a tab or newline that a browser drops, a backslash,
    # a scheme, a space (%09 reaches the app as a tab)
    for target in ("//evil.example/x", "/%09/evil.example", "/%0A/evil.example", "/%0D%0A/x",
                   "/\\evil.example", "https://evil.example/", "/%20/evil.example",
                   "javascript:alert(1)"):
        other = type(anon)(app.test_client())
        response = other.sign_in(user.email, make.PASSWORD, next_url=target)
        assert (response.status_code, response.headers["Location"]) == (302, "/"), target


def test_sign_out_ends_the_session(admin):
    assert admin.get("/").status_code == 200
    response = admin.post("/sign-out")
    assert response.status_code == 302
    assert admin.get("/").status_code == 302


def test_sign_out_needs_csrf(admin):
    response = admin.client.post("/sign-out")  # no token
    assert response.status_code == 400
    assert "表單已過期" in response.get_data(as_text=True)
    assert admin.get("/").status_code == 200  # still signed in


def test_remember_me_sets_a_long_lived_cookie(app, make, unit, anon):
    user = make.user(unit, role="volunteer")
    response = anon.sign_in(user.email, make.PASSWORD, remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") and "Expires=" in c for c in cookies)
    plain = type(anon)(app.test_client()).sign_in(user.email, make.PASSWORD)
    assert not any(c.startswith("remember_token=") for c in plain.headers.getlist("Set-Cookie"))


def test_password_change(app, make, unit, admin, db):
    response = admin.post("/account/password", {"current": make.PASSWORD, "new": "a much better pw", "confirm": "a much better pw"})
    assert response.status_code == 302
    fresh = type(admin)(app.test_client())
    assert fresh.sign_in(admin.user.email, make.PASSWORD).status_code == 401
    assert fresh.sign_in(admin.user.email, "a much better pw").status_code == 302
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.actor_user_id == admin.user.id)).all()
    assert "password_change" in actions


def test_password_change_rejects_bad_input_and_changes_nothing(app, make, unit, admin):
    bad = [
        {"current": "wrong", "new": "a much better pw", "confirm": "a much better pw"},
        {"current": make.PASSWORD, "new": "short", "confirm": "short"},
        {"current": make.PASSWORD, "new": "a much better pw", "confirm": "different one"},
    ]
    messages = ["目前的密碼不正確", "至少 8 個字元", "兩次輸入的新密碼不同"]
    for data, message in zip(bad, messages):
        response = admin.post("/account/password", data)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    fresh = type(admin)(app.test_client())
    assert fresh.sign_in(admin.user.email, make.PASSWORD).status_code == 302


def test_password_change_signs_out_other_devices(app, make, unit, admin):
    phone = type(admin)(app.test_client())
    phone.sign_in(admin.user.email, make.PASSWORD)
    assert phone.get("/").status_code == 200
    admin.post("/account/password", {"current": make.PASSWORD, "new": "another good pw", "confirm": "another good pw"})
    assert phone.get("/").status_code == 302
    assert admin.get("/").status_code == 200


def test_htmx_request_after_session_expiry_redirects_whole_page(anon):
    response = anon.client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/sign-in?next=/")


def test_inactive_user_cannot_sign_in(app, make, unit, anon, db):
    user = make.user(unit, role="supervisor", active=False)
    assert anon.sign_in(user.email, make.PASSWORD).status_code == 401


def test_answers_to_requests_sent_before_signing_in_do_not_sign_the_person_out(app, make, unit, anon):
    """While the sign-in page is open the browser fetches the service worker and the manifest with
    the anonymous session cookie; those answers can arrive after the sign-in's. If one of them set a
    cookie, the browser would put the anonymous session back and the person would land on the
    sign-in page again (seen in CI: the fetch of /sw.js finished after POST /sign-in)."""
    user = make.user(unit, role="supervisor")
    anon.refresh_token("/sign-in")  # the sign-in page: the session now holds its CSRF token
    anonymous_cookie = anon.client.get_cookie("session").value
    assert anon.sign_in(user.email, make.PASSWORD).status_code == 302
    late = app.test_client()
    late.set_cookie("session", anonymous_cookie)
    for url in ("/sw.js", "/manifest.webmanifest", "/sign-in", "/static/js/app.js"):
        response = late.get(url)
        response.close()
        for header in response.headers.getlist("Set-Cookie"):  # the browser applies it
            name, _, rest = header.partition("=")
            anon.client.set_cookie(name, rest.split(";", 1)[0])
        page = anon.get("/")
        assert page.status_code == 200, f"the late answer to {url} signed the person out"
