"""zh-TW by default, English on request, remembered per user."""


def test_default_language_is_traditional_chinese(anon):
    page = anon.get("/sign-in").get_data(as_text=True)
    assert '<html lang="zh-Hant-TW">' in page
    assert "登入" in page


def test_accept_language_is_honoured(anon):
    en = anon.get("/sign-in", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in en and "Sign in" in en
    zh = anon.get("/sign-in", headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="zh-Hant-TW">' in zh


def test_switching_language_anonymously(anon):
    anon.refresh_token()
    response = anon.post("/language", {"lang": "en", "next": "/sign-in"})
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert "Sign in" in anon.get("/sign-in").get_data(as_text=True)


def test_language_is_remembered_per_user(app, make, unit, admin):
    admin.post("/language", {"lang": "en", "next": "/"})
    assert "Today's sessions" in admin.get("/").get_data(as_text=True)
    # a new device, Chinese browser: the user's choice wins after sign-in
    other = type(admin)(app.test_client())
    other.sign_in(admin.user.email, make.PASSWORD)
    page = other.get("/", headers={"Accept-Language": "zh-TW"}).get_data(as_text=True)
    assert "Today's sessions" in page


def test_unknown_language_is_refused(admin):
    response = admin.post("/language", {"lang": "xx", "next": "/"})
    assert response.status_code == 302
    page = admin.get("/").get_data(as_text=True)
    assert "不支援這個語言" in page and '<html lang="zh-Hant-TW">' in page


def test_open_redirect_via_language_switch_is_blocked(anon):
    anon.refresh_token()
    response = anon.post("/language", {"lang": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_every_message_has_a_chinese_translation():
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(__file__).parent.parent / "webapp/translations/zh_Hant_TW/LC_MESSAGES/messages.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    missing = [m.id for m in catalog if m.id and not (any(m.string) if m.pluralizable else m.string)]
    assert missing == []
    plural = catalog.get(("%(num)d session waiting for verification",
                          "%(num)d sessions waiting for verification"))
    assert plural is not None and plural.string == ("%(num)d 筆服務紀錄待審核",)


def test_form_library_messages_are_in_traditional_chinese(admin, make, unit):
    """WTForms' own messages: Traditional Chinese (its zh catalogue is Simplified)."""
    site = make.site(unit)
    page = admin.post("/admin/kiosks", {"site": site.id, "name": ""}).get_data(as_text=True)
    assert "此欄位是必需的" in page and "该字段" not in page
    elsewhere = make.site(make.unit())  # another unit's site: not a choice here
    page = admin.post("/admin/kiosks", {"site": elsewhere.id, "name": "平板"}).get_data(as_text=True)
    assert "不是有效的選擇" in page and "选择" not in page
    english = admin.post("/admin/kiosks", {"site": site.id, "name": ""},
                         headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "This field is required." in english


def test_labels_of_constants_follow_each_readers_language(app, make, unit, admin):
    """`'present'|attendance_status` must not be folded at compile time in the language of the
    first reader: the attendance overview in English, then in Chinese, from the same app."""
    make.site(unit)
    admin.post("/language", {"lang": "en", "next": "/"})
    english = admin.get("/attendance/").get_data(as_text=True)
    assert "<th>Present</th>" in english and "<th>Not started yet</th>" in english
    admin.post("/language", {"lang": "zh_Hant_TW", "next": "/"})
    chinese = admin.get("/attendance/").get_data(as_text=True)
    assert "<th>出席</th>" in chinese and "<th>尚未開始</th>" in chinese
    assert "Present" not in chinese
