"""The refusal log on the supervisor's side: who was turned away at check-in, when and why."""
import datetime as dt
import re

import pytest

from models.base import utcnow
from models.checkin import Action, CheckinEvent, Outcome
from models.refusal_log import refused_attempts
from models.service import SessionSource
from models.verification import SupervisorSite

KEY = re.compile(r'name="key" value="([0-9a-f]+)"')


@pytest.fixture
def sites(make, unit, db, supervisor):
    mine = make.site(unit, name_zh="大安長照服務中心")
    other = make.site(unit, name_zh="萬華社區關懷據點")
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=mine.id))
    db.commit()
    return mine, other


def _try_check_in(person, site, item):
    page = person.get(f"/s/{site.token}").get_data(as_text=True)
    return person.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id,
                                            "key": KEY.search(page).group(1)}, hx=True)


def _refusals_card(page: str) -> str:
    return page[page.index('id="refusals"'):page.index("</section>", page.index('id="refusals"'))]


def test_a_volunteer_turned_away_shows_on_the_supervisors_dashboard(db, make, unit, sites,
                                                                    volunteer, supervisor):
    mine, _other = sites
    item = make.item(unit, name_zh="長者陪伴關懷")
    for _ in range(2):  # no insurance: refused, and tries again
        response = _try_check_in(volunteer, mine, item)
        assert response.status_code == 409 and "沒有有效的意外保險" in response.get_data(as_text=True)
    card = _refusals_card(supervisor.get("/dashboard/").get_data(as_text=True))
    name = volunteer.user.volunteer.name_zh
    assert name in card and "沒有有效的意外保險" in card and "大安長照服務中心" in card
    assert "嘗試 2 次" in card  # two tries are one line
    assert "手機掃描據點 QR 碼" in card  # how they tried
    assert f"/insurance/volunteers/{volunteer.user.volunteer.id}" in card  # where to fix it

    # the admin adds a cover; the volunteer checks in: the line says so
    make.cover(volunteer.user.volunteer)
    assert _try_check_in(volunteer, mine, item).status_code == 200
    card = _refusals_card(supervisor.get("/dashboard/").get_data(as_text=True))
    assert name in card and "之後已簽到" in card


def test_a_supervisor_sees_only_their_sites_and_an_admin_sees_all(db, make, unit, sites, volunteer,
                                                                  supervisor, admin):
    _mine, other = sites
    item = make.item(unit)
    assert _try_check_in(volunteer, other, item).status_code == 409
    name = volunteer.user.volunteer.name_zh
    card = _refusals_card(supervisor.get("/dashboard/").get_data(as_text=True))
    assert name not in card and "今天沒有人被拒絕簽到" in card
    assert name in _refusals_card(admin.get("/dashboard/").get_data(as_text=True))
    assert volunteer.get("/dashboard/refusals", headers={"HX-Request": "true"}).status_code == 403


def test_earlier_days_are_a_tap_away_and_the_future_is_not(db, make, unit, sites, supervisor):
    mine, _other = sites
    vol = make.volunteer(unit, name_zh="林志明")
    yesterday = utcnow() - dt.timedelta(days=1)
    db.add(CheckinEvent(unit_id=unit.id, at=yesterday, volunteer_id=vol.id, site_id=mine.id,
                        action=Action.check_in, source=SessionSource.kiosk_keypad,
                        outcome=Outcome.refused, refusal_code="basic_training_missing"))
    db.commit()
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    assert "林志明" not in _refusals_card(page)
    previous = re.search(r'hx-get="(/dashboard/refusals\?day=[0-9-]+)"', _refusals_card(page)).group(1)
    card = supervisor.get(previous, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "林志明" in card and "基礎訓練未完成" in card and "簽到站輸入志工編號" in card
    assert "<html" not in card and 'hx-trigger="every 30s"' not in card  # a past day stays still
    plain = supervisor.get(previous)  # without htmx: the dashboard showing that day
    assert plain.status_code == 302
    assert "林志明" in supervisor.get(plain.headers["Location"]).get_data(as_text=True)
    future = (utcnow() + dt.timedelta(days=3)).date().isoformat()
    card = supervisor.get(f"/dashboard/refusals?day={future}",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "今天被拒絕的簽到" in card  # never a day that has not come


def test_refused_attempts_group_by_volunteer_site_and_reason(db, make, unit, sites):
    mine, other = sites
    vol = make.volunteer(unit)
    now = utcnow()
    for minutes, site, code, source in ((30, mine, "no_insurance", SessionSource.poster),
                                        (20, mine, "no_insurance", SessionSource.kiosk_card),
                                        (10, other, "no_insurance", SessionSource.poster)):
        db.add(CheckinEvent(unit_id=unit.id, at=now - dt.timedelta(minutes=minutes),
                            volunteer_id=vol.id, site_id=site.id, action=Action.check_in,
                            source=source, outcome=Outcome.refused, refusal_code=code))
    db.commit()
    from models.base import taipei_date
    found = refused_attempts(db, unit.id, taipei_date(now))
    assert [(r.site.id, r.attempts) for r in found] == [(other.id, 1), (mine.id, 2)]  # newest first
    assert found[1].sources == [SessionSource.poster, SessionSource.kiosk_card]
    assert [r.site.id for r in refused_attempts(db, unit.id, taipei_date(now), {mine.id})] == [mine.id]
