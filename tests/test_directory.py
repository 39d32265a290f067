"""The volunteer directory (/admin/volunteers) over real HTTP: the facts per volunteer (cover
today, training, record book, verified hours this year), search, the status filter, who may
see whom, English, pages of 50 (links that keep the search, with and without htmx), and a
statement count that grows neither with the unit nor with the page number."""
from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event

from models.base import taipei_date, taipei_day_bounds, utcnow
from models.directory import PAGE_SIZE
from models.people import VolunteerStatus
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite

URL = "/admin/volunteers"
EN = {"Accept-Language": "en"}


def today() -> dt.date:
    return taipei_date(utcnow())


def row(page: str, vol) -> str:
    """The table row of one volunteer ('' when not listed)."""
    match = re.search(rf'<tr id="volunteer-{vol.id}">(.*?)</tr>', page, re.S)
    return match.group(1) if match else ""


def served(db, unit, vol, site, item, minutes, start, status=SessionStatus.verified):
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=start,
                          checked_out_at=start + dt.timedelta(minutes=minutes), status=status,
                          credited_minutes=minutes, source=SessionSource.poster))


@pytest.fixture
def world(db, make, unit, admin, supervisor):
    """Volunteers in different situations; the supervisor looks after the first site."""
    mine, other = make.site(unit, name_zh="大安據點"), make.site(unit, name_zh="萬華據點")
    item = make.item(unit)
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=mine.id))
    t = today()
    wang = make.volunteer(unit, name_zh="王小明", name_en="Wang Hsiao-ming", volunteer_no="A001",
                          record_book_no="北市志字第0001號", insured=True)
    ending = make.volunteer(unit, name_zh="陳美玲", volunteer_no="A002")
    make.cover(ending, starts_on=t - dt.timedelta(days=200), ends_on=t + dt.timedelta(days=10))
    bare = make.volunteer(unit, name_zh="林志豪", volunteer_no="B003", trained=False)
    gone = make.volunteer(unit, name_zh="張離開", volunteer_no="A004", insured=True,
                          status=VolunteerStatus.inactive, left_on=t - dt.timedelta(days=5))
    outsider_unit = make.unit()
    outsider = make.volunteer(outsider_unit, name_zh="王外人", volunteer_no="A001", insured=True)
    # this year: 150 verified minutes (+ a rejected and a pending session that do not count);
    # last year (31 December, Taipei): 600 minutes that do not count this year
    start = max(utcnow() - dt.timedelta(hours=5), taipei_day_bounds(dt.date(t.year, 1, 1))[0])
    served(db, unit, wang, mine, item, 150, start)
    served(db, unit, wang, mine, item, 45, start - dt.timedelta(minutes=1), SessionStatus.rejected)
    last_year = taipei_day_bounds(dt.date(t.year - 1, 12, 31))[0] + dt.timedelta(hours=10)
    served(db, unit, wang, mine, item, 600, last_year)
    served(db, unit, ending, other, item, 60, start)
    db.commit()
    return {"wang": wang, "ending": ending, "bare": bare, "gone": gone, "outsider": outsider,
            "mine": mine, "other": other, "item": item}


def test_the_list_shows_each_volunteers_facts(world, admin):
    page = admin.get(URL).get_data(as_text=True)
    wang = row(page, world["wang"])
    assert "王小明" in wang and "A001" in wang
    assert "保障中" in wang
    assert "北市志字第0001號" in wang
    assert "2 小時 30 分" in wang  # 150 minutes this year: last year's 600 and the rejected 45 do not count
    assert "完成" in wang  # training complete
    ending = row(page, world["ending"])
    assert (today() + dt.timedelta(days=10)).isoformat() in ending  # ends soon, with its day
    assert "1 小時 00 分" in ending
    bare = row(page, world["bare"])
    assert "無保險" in bare and ">無<" in bare  # no cover, no record book
    assert "完成" not in bare and "缺" in bare  # training missing
    assert "0 小時 00 分" in bare
    # links to the volunteer's existing pages
    vid = world["wang"].id
    for link in (f"/evaluation/volunteers/{vid}/status", f"/admin/insurance/volunteers/{vid}",
                 f"/admin/training/volunteers/{vid}", f"/admin/record-book/volunteers/{vid}",
                 f"/slips/?volunteer={vid}"):
        assert f'href="{link}"' in wang, link
    # active only by default; another unit's volunteer never
    assert row(page, world["gone"]) == "" and "張離開" not in page
    assert "王外人" not in page and row(page, world["outsider"]) == ""


def test_a_record_book_applied_for_shows_its_day_not_none(db, world, admin):
    """The list said 無 while the volunteer's own page said 申請日期: the application shows."""
    ending = db.get(type(world["ending"]), world["ending"].id)
    ending.record_book_applied_on = dt.date(2026, 11, 20)
    db.commit()
    page = admin.get(URL).get_data(as_text=True)
    assert "已於 2026-11-20 申請" in row(page, world["ending"]) and ">無<" not in row(page, world["ending"])
    assert ">無<" in row(page, world["bare"])  # neither a book nor an application
    en = admin.get(URL, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Applied on 2026-11-20" in row(en, world["ending"])


def test_a_volunteers_status_page_leads_back_to_the_volunteers(world, admin):
    """The list's name link opens the status page, whose way back said 年度考核."""
    page = admin.get(f"/evaluation/volunteers/{world['wang'].id}/status").get_data(as_text=True)
    assert f'href="{URL}">← 志工</a>' in page


def test_search_by_name_and_by_number(world, admin):
    page = admin.get(URL + "?q=王").get_data(as_text=True)
    assert row(page, world["wang"]) and "陳美玲" not in page and "林志豪" not in page
    assert "王外人" not in page  # another unit's, though the name matches
    page = admin.get(URL + "?q=wang").get_data(as_text=True)  # the English name, any case
    assert row(page, world["wang"]) and "陳美玲" not in page
    page = admin.get(URL + "?q=B003").get_data(as_text=True)
    assert row(page, world["bare"]) and "王小明" not in page and "陳美玲" not in page
    page = admin.get(URL + "?q=a00").get_data(as_text=True)  # a number's beginning
    assert row(page, world["wang"]) and row(page, world["ending"]) and "林志豪" not in page
    page = admin.get(URL + "?q=%25").get_data(as_text=True)  # a LIKE wildcard is a character
    assert "王小明" not in page and "沒有符合" in page
    # htmx asks for the rows only
    partial = admin.get(URL + "?q=王", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial and 'id="volunteer-rows"' in partial and "王小明" in partial


def test_status_filter(world, admin):
    left = admin.get(URL + "?status=left").get_data(as_text=True)
    assert row(left, world["gone"]) and "王小明" not in left
    everyone = admin.get(URL + "?status=all").get_data(as_text=True)
    for key in ("wang", "ending", "bare", "gone"):
        assert row(everyone, world[key]), key
    assert "王外人" not in everyone
    bad = admin.get(URL + "?status=whatever")
    assert bad.status_code == 400 and row(bad.get_data(as_text=True), world["wang"])


def test_who_may_see_it(world, app, admin, supervisor, volunteer, anon):
    # supervisors: the volunteers of their sites this year, as on the evaluation list
    page = supervisor.get(URL + "?status=all").get_data(as_text=True)
    assert row(page, world["wang"]) and not row(page, world["ending"])
    assert "林志豪" not in page and "王外人" not in page
    assert f"/evaluation/volunteers/{world['wang'].id}/status" not in page  # admin-only pages
    assert f"/admin/record-book/volunteers/{world['wang'].id}" not in page
    assert volunteer.get(URL).status_code == 403
    response = anon.get(URL)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    # the menu has it, right after Home
    nav = admin.get("/").get_data(as_text=True)
    assert re.search(r'href="/"[^>]*>[^<]+</a></li>\s*<li><a href="/admin/volunteers"', nav)
    assert 'href="/admin/volunteers"' not in volunteer.get("/").get_data(as_text=True)


def test_english_on_request(world, admin):
    page = admin.get(URL, headers=EN).get_data(as_text=True)
    assert "Volunteers" in page and "No cover" in page and "2 h 30 min" in page
    assert "None" in row(page, world["bare"])
    chinese = admin.get(URL).get_data(as_text=True)
    assert "志工" in chinese and "No cover" not in chinese


def _statements(app, client, url) -> int:
    engine = app.extensions["hourbook_db"]["engine"]
    count = 0

    def counted(*_args):
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counted)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert response.status_code == 200
    return count


def test_statement_count_does_not_grow_with_the_unit_nor_the_page(db, make, unit, app, admin):
    site, item = make.site(unit), make.item(unit)
    start = utcnow() - dt.timedelta(hours=1)

    def add(n):
        for _ in range(n):
            vol = make.volunteer(unit, insured=True, record_book_no="X")
            served(db, unit, vol, site, item, 30, start)
        db.commit()

    add(5)
    admin.get(URL)  # warm up whatever a first request loads once
    few = _statements(app, admin, URL)
    add(55)  # 60: a full first page and a second one
    page = admin.get(URL).get_data(as_text=True)
    assert page.count('<tr id="volunteer-') == PAGE_SIZE == 50
    assert _statements(app, admin, URL) == few
    assert admin.get(URL + "?page=2").get_data(as_text=True).count('<tr id="volunteer-') == 10
    assert _statements(app, admin, URL + "?page=2") == few
    add(140)  # 200: four full pages
    assert _statements(app, admin, URL) == few
    assert _statements(app, admin, URL + "?page=2") == few
    last = admin.get(URL + "?page=4").get_data(as_text=True)
    assert last.count('<tr id="volunteer-') == 50 and "第 151–200 筆，共 200 筆" in last
    assert _statements(app, admin, URL + "?page=4") == few


# --- pages of 50 ------------------------------------------------------------------------------

def _many(db, make, unit, n: int) -> list:
    """n volunteers named 志工0000… numbered P0000…, in the directory's order."""
    vols = [make.volunteer(unit, commit=False, trained=False, name_zh=f"志工{i:04d}",
                           volunteer_no=f"P{i:04d}") for i in range(n)]
    db.commit()
    return vols


def _link(page: str, rel: str) -> str | None:
    """The href of the page link rel="prev"/"next" (None when there is none); checks that htmx
    fetches the same URL into the list and pushes it, as the search does."""
    match = re.search(rf'<a class="btn" rel="{rel}" href="([^"]+)" hx-get="([^"]+)" '
                      r'hx-target="#volunteer-rows"\s+hx-swap="outerHTML show:top" hx-push-url="true">', page)
    if not match:
        assert f'rel="{rel}"' not in page
        return None
    assert match.group(1) == match.group(2)
    return html.unescape(match.group(1))


def _listed(page: str, vols) -> list[int]:
    """Indexes (in `vols`) of the volunteers listed on the page, in the order shown."""
    index = {v.id: i for i, v in enumerate(vols)}
    return [index[int(vid)] for vid in re.findall(r'<tr id="volunteer-(\d+)">', page)]


def test_pages_of_fifty_with_previous_and_next(db, make, unit, admin):
    vols = _many(db, make, unit, 120)
    first = admin.get(URL).get_data(as_text=True)
    assert _listed(first, vols) == list(range(50))
    assert "120 位志工" in first and "第 1–50 筆，共 120 筆" in first
    assert _link(first, "prev") is None
    next_url = _link(first, "next")
    assert ">下一頁</a>" in first
    assert parse_qs(urlsplit(next_url).query) == {"status": ["active"], "page": ["2"]}

    second = admin.get(next_url).get_data(as_text=True)
    assert _listed(second, vols) == list(range(50, 100))
    assert "第 51–100 筆，共 120 筆" in second and ">上一頁</a>" in second
    assert parse_qs(urlsplit(_link(second, "prev")).query) == {"status": ["active"]}  # page 1
    third = admin.get(_link(second, "next")).get_data(as_text=True)
    assert _listed(third, vols) == list(range(100, 120))
    assert "第 101–120 筆，共 120 筆" in third and _link(third, "next") is None
    assert parse_qs(urlsplit(_link(third, "prev")).query)["page"] == ["2"]

    # htmx: the same fragment as the search, for the page asked
    partial = admin.get(next_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial and partial.lstrip().startswith('<section class="card" id="volunteer-rows"')
    assert _listed(partial, vols) == list(range(50, 100))
    # the search form sends no page: a new search (typed, or sent without JS) starts at page 1
    assert 'name="page"' not in first
    # English
    english = admin.get(next_url, headers=EN).get_data(as_text=True)
    assert "Showing 51–100 of 120" in english
    assert ">Previous page</a>" in english and ">Next page</a>" in english


def test_page_links_keep_the_search_and_the_status(db, make, unit, admin):
    vols = _many(db, make, unit, 120)
    for vol in vols[:5]:
        vol.status = VolunteerStatus.inactive
    db.commit()
    page = admin.get(URL + "?q=志工&status=all").get_data(as_text=True)
    assert "共 120 筆" in page
    next_url = _link(page, "next")
    assert parse_qs(urlsplit(next_url).query) == {"q": ["志工"], "status": ["all"], "page": ["2"]}
    second = admin.get(next_url).get_data(as_text=True)
    assert _listed(second, vols) == list(range(50, 100)) and 'value="志工"' in second
    assert parse_qs(urlsplit(_link(second, "prev")).query) == {"q": ["志工"], "status": ["all"]}
    # active only: 115, the left ones not counted
    active = admin.get(URL + "?q=志工").get_data(as_text=True)
    assert "共 115 筆" in active and _listed(active, vols)[:2] == [5, 6]
    # a search that fits one page has no page links
    few = admin.get(URL + "?q=P011").get_data(as_text=True)
    assert _listed(few, vols) == list(range(110, 120))
    assert 'class="pager"' not in few and "共 10 筆" not in few


@pytest.mark.parametrize("asked, shown", [
    ("99", 3), ("4", 3), ("0", 1), ("-7", 1), ("9" * 40, 3),
    ("abc", 1), ("2.5", 1), ("9" * 5000, 1),
])
def test_a_page_out_of_range_or_not_a_number_goes_to_the_nearest_page(db, make, unit, admin,
                                                                      asked, shown):
    """Past the last page: the last; before the first or not a number: the first. With htmx as
    without, by a redirect, so the address bar (htmx pushes the address it ends up at) and the
    Previous/Next links agree with the list shown."""
    vols = _many(db, make, unit, 120)
    expected = list(range((shown - 1) * 50, min(shown * 50, 120)))
    where = {"q": ["志工"], "status": ["all"], **({"page": [str(shown)]} if shown > 1 else {})}
    for headers in ({}, {"HX-Request": "true"}):
        response = admin.get(URL, query_string={"page": asked, "q": "志工", "status": "all"},
                             headers=headers)
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == URL and parse_qs(location.query) == where
        landed = admin.get(response.headers["Location"], headers=headers)
        assert landed.status_code == 200 and _listed(landed.get_data(as_text=True), vols) == expected
        assert ("<html" in landed.get_data(as_text=True)) == (not headers)
    # nobody at all: page 1 of nothing
    empty = admin.get(URL, query_string={"page": asked, "q": "nobody"})
    assert empty.status_code == 302 and parse_qs(urlsplit(empty.headers["Location"]).query) == {
        "q": ["nobody"], "status": ["active"]}
    assert "沒有符合" in admin.get(empty.headers["Location"]).get_data(as_text=True)


def test_a_page_on_a_bad_request_is_not_redirected(db, make, unit, admin):
    vols = _many(db, make, unit, 120)
    response = admin.get(URL, query_string={"page": "99", "status": "bogus"})
    assert response.status_code == 400 and _listed(response.get_data(as_text=True), vols) == list(
        range(100, 120))
