"""The staff home page's "to do" (models.to_do): a supervisor sees what waits at THEIR sites
(sessions to verify, the flagged ones and the forgotten check-outs among them, who was turned
away today) and their volunteers' insurance, each a link to the dashboard filtered the same
way; an admin sees the whole unit."""
import datetime as dt
import re

import pytest

from models.base import taipei_date, taipei_day_bounds, utcnow
from models.checkin import Action, CheckinEvent, Outcome
from models.service import Flag, ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite


def _to_do(page: str) -> str:
    start = page.index('id="to-do"')
    return page[start:page.index("</section>", start)]


def _line(card: str, key: str) -> str:
    """The words of one line of the card (data-to-do=key), its link's address first."""
    found = re.search(rf'data-to-do="{key}"><a href="([^"]+)">([^<]+)</a>', card)
    return f"{found.group(1)} {found.group(2)}" if found else ""


@pytest.fixture
def world(db, make, unit, supervisor):
    """The supervisor looks after 大安; 萬華 is another supervisor's. Sessions waiting, flagged,
    forgotten and decided at both, refusals at both today (and one at 大安 yesterday), and
    covers ending or missing for volunteers of each site."""
    today = taipei_date(utcnow())
    start_of_day = taipei_day_bounds(today)[0]
    mine = make.site(unit, name_zh="大安長照服務中心")
    other = make.site(unit, name_zh="萬華社區關懷據點")
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=mine.id))
    item = make.item(unit)
    ending_mine = make.volunteer(unit, name_zh="王淑芬")
    make.cover(ending_mine, starts_on=today - dt.timedelta(days=300), ends_on=today + dt.timedelta(days=10))
    uninsured_mine = make.volunteer(unit, name_zh="林志明")
    ending_other = make.volunteer(unit, name_zh="陳美玲")
    make.cover(ending_other, starts_on=today - dt.timedelta(days=300), ends_on=today + dt.timedelta(days=5))
    make.volunteer(unit, name_zh="張家豪")  # uninsured, never at either site this year
    minute = dt.timedelta(minutes=1)

    def add(site, vol, status, *flags, n=[0]):
        n[0] += 1  # one minute apart, early today (this year, whatever the hour)
        at = start_of_day + n[0] * 2 * minute
        s = ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                           checked_in_at=at, checked_out_at=None if status == SessionStatus.open else at + minute,
                           status=status, source=SessionSource.poster)
        for flag in flags:
            s.add_flag(flag)
        db.add(s)

    # 大安: 3 waiting (one plain, one short, one forgotten check-out), and two not waiting
    add(mine, ending_mine, SessionStatus.closed)
    add(mine, ending_mine, SessionStatus.closed, Flag.short)
    add(mine, uninsured_mine, SessionStatus.needs_review, Flag.auto_closed)
    add(mine, ending_mine, SessionStatus.verified)
    add(mine, uninsured_mine, SessionStatus.open)
    # 萬華: 4 waiting (two plain, one without position, one forgotten check-out)
    add(other, ending_other, SessionStatus.closed)
    add(other, ending_other, SessionStatus.closed)
    add(other, ending_other, SessionStatus.closed, Flag.position_unavailable)
    add(other, ending_other, SessionStatus.needs_review, Flag.auto_closed)
    now = utcnow()
    for site, at in ((mine, now), (other, now), (mine, start_of_day - minute)):
        db.add(CheckinEvent(unit_id=unit.id, at=at, volunteer_id=uninsured_mine.id, site_id=site.id,
                            action=Action.check_in, source=SessionSource.kiosk_card,
                            outcome=Outcome.refused, refusal_code="no_insurance"))
    db.commit()
    return mine, other


def test_a_supervisor_sees_what_waits_at_their_sites(world, supervisor):
    card = _to_do(supervisor.get("/").get_data(as_text=True))
    assert _line(card, "waiting") == "/dashboard/ 3 筆服務紀錄待審核"
    assert _line(card, "flagged") == "/dashboard/?flag=flagged 其中 2 筆有標記，請逐筆查看"
    assert _line(card, "forgotten") == "/dashboard/?flag=auto_closed 其中 1 筆忘記簽退：填上實際時間前以 0 分鐘計"
    assert _line(card, "turned-away") == "/dashboard/#refusals 今天有 1 筆簽到被拒絕"  # not yesterday's
    # their volunteers (served at 大安 this year): one without cover, one whose cover ends soon
    assert _line(card, "uninsured") == "/admin/insurance/ 1 位志工今天沒有有效保險"
    assert _line(card, "cover-ending") == "/admin/insurance/ 1 位志工的保險將在 30 天內到期"


def test_each_count_is_what_its_link_shows(world, supervisor):
    """Following a line, the dashboard lists as many sessions as the line said."""
    card = _to_do(supervisor.get("/").get_data(as_text=True))
    for key in ("waiting", "flagged", "forgotten"):
        href, words = _line(card, key).split(" ", 1)
        queue = supervisor.get(href).get_data(as_text=True)
        rows = re.findall(r'<tr id="session-\d+"', queue)
        assert len(rows) == int(re.search(r"\d+", words).group()), key


def test_an_admin_sees_the_whole_unit(world, admin):
    card = _to_do(admin.get("/").get_data(as_text=True))
    assert _line(card, "waiting") == "/dashboard/ 7 筆服務紀錄待審核"
    assert _line(card, "flagged") == "/dashboard/?flag=flagged 其中 4 筆有標記，請逐筆查看"
    assert _line(card, "forgotten") == "/dashboard/?flag=auto_closed 其中 2 筆忘記簽退：填上實際時間前以 0 分鐘計"
    assert _line(card, "turned-away") == "/dashboard/#refusals 今天有 2 筆簽到被拒絕"
    assert _line(card, "uninsured") == "/admin/insurance/ 2 位志工今天沒有有效保險"
    assert _line(card, "cover-ending") == "/admin/insurance/ 2 位志工的保險將在 30 天內到期"


def test_a_supervisor_with_nothing_waiting_is_told_so_in_english_too(app, db, make, unit, world):
    from tests.conftest import HttpUser

    quiet = make.user(unit, role="supervisor", locale="en")  # no site of their own
    person = HttpUser(app.test_client())
    assert person.sign_in(quiet.email, make.PASSWORD).status_code == 302
    card = _to_do(person.get("/").get_data(as_text=True))
    assert "Nothing is waiting for you." in card and "data-to-do" not in card


def test_the_english_words(world, supervisor, db):
    supervisor.user.locale = "en"
    db.commit()
    card = _to_do(supervisor.get("/").get_data(as_text=True))
    assert _line(card, "waiting").endswith(" 3 sessions waiting for verification")
    assert _line(card, "forgotten").endswith(" 1 forgotten check-out: 0 minutes until the real time is set")
    assert _line(card, "cover-ending").endswith(" 1 volunteer's insurance ends within 30 days")


def _application(db, unit, n, status):
    from models.people import Gender
    from models.recruitment import Application, ApplicationStatus

    db.add(Application(unit_id=unit.id, reference_no=f"A2026-{unit.id:03d}{n:02d}", name_zh=f"報名者{n}",
                       gender=Gender.female, birth_date=dt.date(1985, 3, 2), phone="0912-000-111",
                       id_number="A123456789", privacy_consent_at=utcnow(),
                       status=ApplicationStatus(status)))


def test_an_admin_sees_new_applications_and_the_list_shows_as_many(db, make, unit, admin, supervisor):
    """Applied, neither interviewed nor decided: counted once (recruitment.new_applications),
    linked to the recruitment list filtered to them; supervisors do not recruit."""
    for n, status in enumerate(["applied", "applied", "interview_scheduled", "accepted",
                                "declined", "waitlisted"]):
        _application(db, unit, n, status)
    other = make.unit()
    _application(db, other, 9, "applied")
    db.commit()
    card = _to_do(admin.get("/").get_data(as_text=True))
    assert _line(card, "applications") == "/admin/recruitment/?status=applied 2 份新的報名等待面談或決定"
    listed = admin.get("/admin/recruitment/?status=applied").get_data(as_text=True)
    assert len(re.findall(r'<tr id="application-\d+"', listed)) == 2
    assert "data-to-do=\"applications\"" not in _to_do(supervisor.get("/").get_data(as_text=True))
    admin.user.locale = "en"
    db.merge(admin.user)
    db.commit()
    card = _to_do(admin.get("/").get_data(as_text=True))
    assert _line(card, "applications").endswith(" 2 new applications waiting for an interview or a decision")
