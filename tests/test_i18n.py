"""zh-TW by default, English on request, remembered per user."""

import html as html_module
import re

import pytest


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


@pytest.mark.parametrize("phone, chosen, html_lang", [("en", "zh_Hant_TW", "zh-Hant-TW"),
                                                       ("zh-TW", "en", "en")])
def test_language_chosen_on_the_sign_in_page_is_kept_after_signing_in(app, db, make, unit, phone,
                                                                       chosen, html_lang):
    """A phone set to one language, the other tapped on the sign-in page: signing in keeps
    the choice, and an account without a language of its own remembers it."""
    from models.people import User
    from tests.conftest import HttpUser

    user = make.user(unit, role="volunteer")
    person = HttpUser(app.test_client())
    person.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = phone
    person.refresh_token()
    person.post("/language", {"lang": chosen, "next": "/sign-in"})
    assert f'<html lang="{html_lang}">' in person.get("/sign-in").get_data(as_text=True)
    assert person.sign_in(user.email, make.PASSWORD).status_code == 302
    assert f'<html lang="{html_lang}">' in person.get("/").get_data(as_text=True)
    db.expire_all()
    assert db.get(User, user.id).locale == chosen
    # another device in the phone's language: the account's language now
    other = HttpUser(app.test_client())
    other.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = phone
    other.sign_in(user.email, make.PASSWORD)
    assert f'<html lang="{html_lang}">' in other.get("/").get_data(as_text=True)
    # once saved, the account's language stays: the other one tapped before a later sign-in
    # does not overwrite it (the language switch inside the app does)
    third = HttpUser(app.test_client())
    third.refresh_token()
    third.post("/language", {"lang": "en" if chosen != "en" else "zh_Hant_TW", "next": "/sign-in"})
    third.sign_in(user.email, make.PASSWORD)
    db.expire_all()
    assert db.get(User, user.id).locale == chosen


def test_language_chosen_on_the_welcome_page_is_kept_after_setting_the_password(app, db, make,
                                                                                  unit):
    from models import account_links
    from models.base import utcnow
    from models.people import User
    from tests.conftest import HttpUser

    vol = make.volunteer(unit, user=make.user(unit, role="volunteer"))
    token = account_links.create_set_password_link(db, vol.user, None, utcnow())
    db.commit()
    person = HttpUser(app.test_client())
    person.refresh_token(f"/welcome/{token}")
    person.post("/language", {"lang": "en", "next": f"/welcome/{token}"})
    assert '<html lang="en">' in person.get(f"/welcome/{token}").get_data(as_text=True)
    done = person.post(f"/welcome/{token}", {"password": "a brand new pass",
                                             "confirm": "a brand new pass", "pin": "2468", "pin_confirm": "2468"})
    assert done.status_code == 302
    assert '<html lang="en">' in person.get("/").get_data(as_text=True)
    db.expire_all()
    assert db.get(User, vol.user.id).locale == "en"


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
    """WTForms' own messages: Traditional Chinese (its zh catalogue is Simplified), in the words
    the rest of the app uses (請填寫…), not WTForms' zh_TW catalogue's (此欄位是必需的)."""
    site = make.site(unit)
    page = admin.post("/admin/kiosks", {"site": site.id, "name": ""}).get_data(as_text=True)
    assert "請填寫這一欄。" in page and "此欄位是必需的" not in page and "该字段" not in page
    elsewhere = make.site(make.unit())  # another unit's site: not a choice here
    page = admin.post("/admin/kiosks", {"site": elsewhere.id, "name": "平板"}).get_data(as_text=True)
    assert "請從清單中選擇。" in page and "不是有效的選擇" not in page and "选择" not in page
    english = admin.post("/admin/kiosks", {"site": site.id, "name": ""},
                         headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "This field is required." in english


# --- the English UI, page by page ------------------------------------------------------------

CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")
IDEOGRAPH = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Chinese that an English page shows on purpose: the language switch, and the official terms
# glossed after their English name (the user guide; the service plan's section headings).
BILINGUAL = {"繁體中文", "簽到", "簽退", "志願服務績效證明書", "臺北市", "服務項目",
             "召募", "訓練", "管理", "運用", "輔導", "考核"}


def _named(db) -> list[tuple[str, str]]:
    """(Chinese, English) names of the things that have both: sites, service items, courses."""
    from sqlalchemy import select

    from models.service import ServiceItem, Site
    from models.training import TrainingCourse

    return [*db.execute(select(Site.name_zh, Site.name_en)),
            *db.execute(select(ServiceItem.name_zh, ServiceItem.name_en)),
            *db.execute(select(TrainingCourse.name, TrainingCourse.name_en))]


def _data_runs(db) -> set[str]:
    """Chinese runs of text the unit typed or imported (people's names, addresses, insurers,
    free text, its completion certificate's text...): an English page shows those as they are.
    The Chinese names of sites, service items and courses are left out, since those have an
    English name to show (alone, or beside the Chinese one)."""
    from sqlalchemy import String, Text, select

    from models import Base
    from models.completion import DEFAULT_COMPLETION_TEXT

    runs: set[str] = set(CJK_RUN.findall(DEFAULT_COMPLETION_TEXT))
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
        if not columns:
            continue
        for row in db.execute(select(*columns)):
            for value in row:
                if isinstance(value, str):
                    runs.update(r for r in CJK_RUN.findall(value) if IDEOGRAPH.search(r))
    return runs - {r for zh, _en in _named(db) for r in CJK_RUN.findall(zh)}


def _visible_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    # Chinese on purpose, marked as such (the text for the city platform, a Chinese term after
    # its English name): an element with lang="zh-Hant-TW", not nested in its own kind
    html = re.sub(r'(?is)<(\w+)\b[^>]*\blang="zh-Hant-TW"[^>]*>.*?</\1>', " ", html)
    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


def _walk_in_english(app, db, role_name: str, world) -> dict[str, set[str]]:
    """Chinese left on each page the role can open, in English: {url: {runs}}."""
    from tests.conftest import HttpUser
    from tests.walk import endpoint_of, links_in, may_use, seed_urls
    from models.people import Role
    from webapp.access import access_of

    role = Role(role_name)
    user = HttpUser(app.test_client())
    user.sign_in(world.emails[role_name], world.password)
    user.post("/language", {"lang": "en", "next": "/"})
    with app.test_request_context():
        access = {rule.endpoint: access_of(rule.endpoint) for rule in app.url_map.iter_rules()}
    allowed = _data_runs(db) | BILINGUAL
    named = _named(db)
    queue = [url for _e, _m, url in seed_urls(app, world, role)]
    seen: set[str] = set()
    found: dict[str, set[str]] = {}
    while queue:
        url = queue.pop(0)
        endpoint = endpoint_of(app, url)
        if endpoint is None or endpoint in seen or endpoint == "auth.sign_out" \
                or not may_use(access.get(endpoint), role):
            continue
        seen.add(endpoint)
        response = user.client.get(url)
        html = response.get_data(as_text=True) if "text/html" in response.content_type else ""
        response.close()  # files (sw.js, PDFs) are streamed
        if response.status_code != 200 or not html:
            continue
        text = _visible_text(html)
        shown_with_english = {r for zh, en in named if en and en in text for r in CJK_RUN.findall(zh)}
        left = {r for r in CJK_RUN.findall(text) if r not in allowed | shown_with_english}
        if left:
            found[url] = left
        queue += links_in(html, url)
    assert len(seen) > 15, f"the walk found only {sorted(seen)}"
    return found


@pytest.mark.parametrize("role_name", ["admin", "supervisor", "volunteer"])
def test_english_pages_show_no_chinese_but_names_and_data(app, db, role_name):
    """Every page a role can open, in English: no Chinese words of the interface, no
    Chinese punctuation (、（）), and sites, service items and courses by their English names."""
    from tests.walk import build_world

    world = build_world(db)
    found = _walk_in_english(app, db, role_name, world)
    assert found == {}, "Chinese on English pages:\n" + "\n".join(
        f"{url}: {sorted(runs)}" for url, runs in sorted(found.items()))


def test_english_header_names_the_unit_in_english(admin, unit, db):
    unit.name_en = "Warm Sun Foundation"
    db.commit()
    page = admin.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<small>Warm Sun Foundation</small>" in page
    admin.post("/language", {"lang": "zh_Hant_TW", "next": "/"})
    assert f"<small>{unit.name}</small>" in admin.get("/").get_data(as_text=True)


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


def test_a_volunteer_reads_missing_courses_in_their_language(db, make, unit, volunteer):
    """Why they cannot serve yet (home page): the missing course by its English name, in English."""
    from sqlalchemy import delete, select

    from models.training import TrainingCourse, TrainingRecord

    vol = volunteer.user.volunteer
    make.item(unit, category=unit.category)
    briefing = db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                      TrainingCourse.code == "SW04"))
    db.execute(delete(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id,
                                            TrainingRecord.course_id == briefing.id))
    db.commit()
    chinese = html_module.unescape(volunteer.get("/").get_data(as_text=True))
    assert f"「社會福利類」特殊訓練尚未完成：{briefing.name}。" in chinese
    volunteer.post("/language", {"lang": "en", "next": "/"})
    english = html_module.unescape(volunteer.get("/").get_data(as_text=True))
    assert (f"Special training for the Social welfare category not yet completed: "
            f"{briefing.name_en}.") in english


def test_distances_and_hours_as_the_pages_write_them(app):
    """Review: "3591 公尺" broke across lines on a phone and 1500 h read as "1500 h 00 min".
    A distance of 1,000 m or more is in kilometres with one decimal; number and unit never part
    (a no-break space); hours group thousands, in both languages."""
    from webapp.i18n import distance, duration

    with app.test_request_context(headers={"Accept-Language": "zh-TW"}):
        assert distance(850) == "850\u00a0公尺" and distance(3591) == "3.6\u00a0公里"
        assert duration(1500 * 60) == "1,500 小時 00 分" and duration(75) == "1 小時 15 分"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert distance(999) == "999\u00a0m" and distance(1000) == "1.0\u00a0km"
        assert duration(1497 * 60 + 15) == "1,497 h 15 min"
