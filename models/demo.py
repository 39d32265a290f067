"""A realistic demo unit: a Taipei social-welfare foundation with a few weeks of service, and
record-book hours from earlier units for a few long-serving volunteers (awards to show)."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from .base import TAIPEI, begin_write, utcnow
from .idnumbers import with_check_digit
from .insurance import CoverKind, InsuranceCover
from .people import Gender, Role, User, Volunteer
from .service import Flag, ServiceItem, ServiceSession, SessionSource, SessionStatus, Site
from .unit import Category, LegalType, Unit
from .unit_profile import UnitProfile

DEMO_UNIT = "財團法人臺北市暖陽社會福利基金會"
DEMO_PASSWORD = "hourbook-demo"
ADMIN_EMAIL = "admin@demo.hourbook.tw"
SUPERVISOR_EMAILS = ("supervisor1@demo.hourbook.tw", "supervisor2@demo.hourbook.tw")

_SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高"
# given names by gender, so that a name and the gender recorded agree (reports count by gender)
_GIVEN_FEMALE = ["淑芬", "美玲", "雅婷", "怡君", "秀英", "麗華", "佩君", "玉蘭", "惠美", "欣怡",
                 "靜宜", "月娥", "素珍", "子晴", "筱涵", "宜蓁"]
_GIVEN_MALE = ["志明", "俊傑", "家豪", "建宏", "文雄", "宗翰", "冠宇", "明德", "承恩", "國強",
               "信宏", "柏翰", "金龍", "正雄"]
_ROMAN = {"陳": "Chen", "林": "Lin", "黃": "Huang", "張": "Chang", "李": "Lee", "王": "Wang",
          "吳": "Wu", "劉": "Liu", "蔡": "Tsai", "楊": "Yang"}


def demo_exists(session: Session) -> bool:
    return session.scalar(select(Unit.id).where(Unit.name == DEMO_UNIT)) is not None


def seed_demo(session: Session, now: dt.datetime | None = None, volunteers: int = 30,
              seed: int = 2026) -> dict:
    """Create the demo unit and return the sign-in accounts. Caller commits."""
    begin_write(session)
    now = now or utcnow()
    rng = random.Random(seed)
    unit = Unit(name=DEMO_UNIT, name_en="Warm Sun Social Welfare Foundation, Taipei",
                legal_type=LegalType.juridical_person, category=Category.social_welfare,
                registration_no="北市社字第 1120012345 號", address="臺北市大安區和平東路二段 100 號",
                phone="02-2700-0000")
    session.add(unit)
    session.flush()
    session.add(UnitProfile(unit_id=unit.id, responsible_person="陳董事長", contact_name="王承辦",
                            contact_phone="02-2700-0000 分機 12",
                            contact_email="volunteer@demo.hourbook.tw"))

    admin = User(unit_id=unit.id, email=ADMIN_EMAIL, display_name="王承辦", role=Role.admin)
    admin.set_password(DEMO_PASSWORD)
    supervisors = []
    for email, name in zip(SUPERVISOR_EMAILS, ("林督導", "張督導")):
        sup = User(unit_id=unit.id, email=email, display_name=name, role=Role.supervisor)
        sup.set_password(DEMO_PASSWORD)
        supervisors.append(sup)
    session.add_all([admin, *supervisors])

    sites = [
        Site(unit_id=unit.id, name_zh="大安長照服務中心", name_en="Da'an Long-term Care Centre",
             address="臺北市大安區和平東路二段 100 號", latitude=25.0263, longitude=121.5436,
             radius_m=300),
        Site(unit_id=unit.id, name_zh="萬華社區關懷據點", name_en="Wanhua Community Care Point",
             address="臺北市萬華區西園路一段 200 號"),
    ]
    items = [
        ServiceItem(unit_id=unit.id, code="SW01", name_zh="長者陪伴關懷", name_en="Companionship for elders",
                    category=Category.social_welfare),
        ServiceItem(unit_id=unit.id, code="SW02", name_zh="共餐與送餐服務", name_en="Shared and delivered meals",
                    category=Category.social_welfare),
        ServiceItem(unit_id=unit.id, code="SW03", name_zh="活動帶領協助", name_en="Activity assistance",
                    category=Category.social_welfare),
        ServiceItem(unit_id=unit.id, code="GN01", name_zh="櫃台諮詢服務", name_en="Reception desk",
                    category=Category.comprehensive),
    ]
    session.add_all(sites + items)
    session.flush()
    from .verification import SupervisorSite

    for sup, site in zip(supervisors, sites):  # each supervisor looks after one site
        session.add(SupervisorSite(user_id=sup.id, site_id=site.id))

    vols: list[Volunteer] = []
    accounts = [("admin", ADMIN_EMAIL), *(("supervisor", e) for e in SUPERVISOR_EMAILS)]
    today = now.astimezone(TAIPEI).date()
    for i in range(volunteers):
        surname = _SURNAMES[i % len(_SURNAMES)]
        female = i % 3 != 0
        names = _GIVEN_FEMALE if female else _GIVEN_MALE
        given = names[(i * 7) % len(names)]
        letter = "A" if i % 2 else "F"
        id_number = with_check_digit(f"{letter}{2 if female else 1}{rng.randrange(10**7):07d}")
        email = f"volunteer{i + 1:02d}@demo.hourbook.tw"
        user = User(unit_id=unit.id, email=email, role=Role.volunteer)
        user.set_password(DEMO_PASSWORD)
        birth = dt.date(1950 + rng.randrange(55), rng.randrange(1, 13), rng.randrange(1, 29))
        vol = Volunteer(unit_id=unit.id, user=user, volunteer_no=f"{1001 + i}",
                        name_zh=surname + given,
                        name_en=f"{given} {_ROMAN.get(surname, '')}".strip() if i % 4 == 0 else "",
                        gender=Gender.female if female else Gender.male, birth_date=birth,
                        phone=f"09{rng.randrange(10**8):08d}", email=email, id_number=id_number,
                        joined_on=today - dt.timedelta(days=rng.randrange(60, 2000)),
                        record_book_no=f"北市志字第{110000 + i}號" if i % 5 else "")
        vol.set_pin(f"{(i * 37) % 10000:04d}")
        session.add(vol)
        vols.append(vol)
        if i < 3:
            accounts.append(("volunteer", email))
    session.flush()

    _seed_training(session, unit, vols, today, rng)
    _seed_record_book_hours(session, unit, vols, today)
    _seed_plans(session, unit, admin, items, today)

    for i, vol in enumerate(vols):
        if i == len(vols) - 1:
            continue  # one volunteer without insurance: the gate refuses them
        kind = CoverKind.group if vol.record_book_no else CoverKind.commercial
        session.add(InsuranceCover(  # last year's, renewed on 1 January
            volunteer_id=vol.id, kind=kind,
            insurer="臺灣產物保險" if kind == CoverKind.group else "國泰產險",
            policy_no=f"{'GP' if kind == CoverKind.group else 'CM'}-{today.year - 1}-{1000 + i}",
            starts_on=dt.date(today.year - 1, 1, 1), ends_on=dt.date(today.year - 1, 12, 31)))
        session.add(InsuranceCover(
            volunteer_id=vol.id, kind=kind,
            insurer="臺灣產物保險" if kind == CoverKind.group else "國泰產險",
            policy_no=f"{'GP' if kind == CoverKind.group else 'CM'}-{today.year}-{1000 + i}",
            starts_on=dt.date(today.year, 1, 1),
            ends_on=today + dt.timedelta(days=20 if i % 9 == 0 else 200)))

    # A few weeks of past service: most verified, some awaiting verification, now and then a
    # forgotten check-out. Only what a check-in would have accepted: the same gates (insured,
    # trained for the item).
    session.flush()
    from .checkin import next_taipei_midnight
    from .gates import gate_refusals

    for days_ago in range(1, 29):
        day = today - dt.timedelta(days=days_ago)
        if day.weekday() == 6:
            continue
        for vol in rng.sample(vols[:-1], 6):
            site = rng.choice(sites)
            item = rng.choice(items[:3] if site is sites[0] else items)
            start_local = dt.datetime.combine(day, dt.time(rng.choice([8, 9, 13, 14]), rng.choice([0, 10, 25, 40])),
                                              tzinfo=TAIPEI)
            minutes = rng.choice([95, 120, 150, 180, 210, 240])
            check_in = start_local.astimezone(dt.timezone.utc)
            if gate_refusals(session, vol, site, item, check_in):
                continue
            s = ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                               service_item_id=item.id, checked_in_at=check_in,
                               checked_out_at=check_in + dt.timedelta(minutes=minutes),
                               source=rng.choice([SessionSource.poster, SessionSource.kiosk_card,
                                                  SessionSource.kiosk_keypad]),
                               persons_served=rng.randrange(1, 15))
            if days_ago > 5:
                s.status = SessionStatus.verified
                s.credited_minutes = minutes
                s.verified_by_id = None
                s.verified_at = s.checked_out_at + dt.timedelta(days=1)
            elif rng.random() < 0.08:  # closed as the stale-session job does (checkin.close_stale)
                s.status = SessionStatus.needs_review
                s.checked_out_at = min(check_in + dt.timedelta(minutes=site.max_session_minutes),
                                       next_taipei_midnight(check_in))
                s.credited_minutes = 0
                s.add_flag(Flag.auto_closed)
            else:
                s.status = SessionStatus.closed
            session.add(s)
    _seed_a_year_of_service(session, unit, vols, sites[0], items[0], today, gate_refusals)
    session.flush()
    _seed_sessions_to_look_at(session, unit, vols, sites[0], items[0], today, gate_refusals)
    session.flush()
    for s in session.scalars(select(ServiceSession).where(ServiceSession.verified_at.is_not(None))):
        s.verified_by_id = supervisors[s.id % 2].id

    # Today: a few volunteers on site now.
    for vol in vols[:4]:
        if gate_refusals(session, vol, sites[vols.index(vol) % 2], items[0], now):
            continue
        session.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=sites[vols.index(vol) % 2].id,
                                   service_item_id=items[0].id,
                                   checked_in_at=now - dt.timedelta(minutes=25 + 20 * vols.index(vol)),
                                   source=SessionSource.kiosk_card))
    session.flush()
    # ... and the volunteer without insurance, turned away at the first site's kiosk a little
    # earlier: the dashboard's "Turned away today" names them (the real check-in, refused).
    from .base import taipei_day_bounds
    from .checkin import check_in

    check_in(session, volunteer=vols[-1], site=sites[0], item=items[0],
             now=max(now - dt.timedelta(minutes=12), taipei_day_bounds(today)[0]),
             source=SessionSource.kiosk_card)
    session.flush()
    return {"unit": unit.name, "password": DEMO_PASSWORD, "accounts": accounts}


# What the first site's supervisor finds to look at one by one, whatever the random draws gave:
# (days back, local time of check-in, minutes, the flag). A forgotten check-out, closed by the
# stale-session job; a check-out seconds after the check-in (short); a poster check-in without
# the phone's position at a site that checks presence.
TO_LOOK_AT = ((1, dt.time(8, 50), None, Flag.auto_closed),
              (2, dt.time(15, 5), 0, Flag.short),
              (3, dt.time(15, 20), 150, Flag.position_unavailable))


def _seed_sessions_to_look_at(session: Session, unit: Unit, vols: list, site, item, today: dt.date,
                              gate_refusals) -> None:
    """The TO_LOOK_AT sessions at `site`, waiting for verification: each on the given number of
    service days back (Sundays have no service), for the first volunteer the gates let in with
    no session at that time."""
    from .checkin import next_taipei_midnight, overlapping_session

    insured = vols[:-1]
    for n, (days_back, at, minutes, flag) in enumerate(TO_LOOK_AT):
        day = today
        while days_back:
            day -= dt.timedelta(days=1)
            days_back -= day.weekday() != 6
        start = dt.datetime.combine(day, at, tzinfo=TAIPEI).astimezone(dt.timezone.utc)
        if flag == Flag.auto_closed:
            end = min(start + dt.timedelta(minutes=site.max_session_minutes), next_taipei_midnight(start))
        else:
            end = start + (dt.timedelta(minutes=minutes) if minutes else dt.timedelta(seconds=20))
        turn = 5 * n % len(insured)  # not the same volunteer each time
        vol = next((v for v in insured[turn:] + insured[:turn]
                    if not gate_refusals(session, v, site, item, start)
                    and overlapping_session(session, v.id, start, end) is None), None)
        if vol is None:
            continue
        s = ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                           service_item_id=item.id, checked_in_at=start, checked_out_at=end,
                           source=SessionSource.poster if flag == Flag.position_unavailable
                           else SessionSource.kiosk_card,
                           status=SessionStatus.needs_review if flag == Flag.auto_closed
                           else SessionStatus.closed,
                           persons_served=None if flag == Flag.auto_closed else 3)
        s.add_flag(flag)
        session.add(s)
        session.flush()


def _seed_a_year_of_service(session: Session, unit: Unit, vols: list, site, item, today: dt.date,
                            gate_refusals) -> None:
    """Every Wednesday morning for the year before the last four weeks, one volunteer with a
    record book served 3½ hours (verified): more than a year and 150 hours with this unit, so
    the performance certificate has someone to show."""
    vol = next(v for v in vols[4:-2] if v.record_book_no)
    vol.joined_on = min(vol.joined_on or today, today - dt.timedelta(days=420))
    day = today - dt.timedelta(days=29)
    day -= dt.timedelta(days=(day.weekday() - 2) % 7)  # the Wednesday before the recent weeks
    first = today - dt.timedelta(days=400)
    while day >= first:
        start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=TAIPEI).astimezone(dt.timezone.utc)
        if not gate_refusals(session, vol, site, item, start):
            end = start + dt.timedelta(minutes=210)
            session.add(ServiceSession(
                unit_id=unit.id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                checked_in_at=start, checked_out_at=end, source=SessionSource.kiosk_card,
                persons_served=4, status=SessionStatus.verified, credited_minutes=210,
                verified_at=end + dt.timedelta(days=1)))
        day -= dt.timedelta(days=7)


# Hours from earlier units in the record books of five long-serving volunteers: enough for the
# honour card (300 h), the MOHW bronze medal (1,500 h) and,
# for the two grouped as a family, the Golden Diamond and the Taipei contribution award (600 h).
RECORD_BOOK_HOURS = (160, 320, 1560, 650, 700)


def _seed_record_book_hours(session: Session, unit: Unit, vols: list, today: dt.date) -> None:
    """PriorHours for a few volunteers with more than three years of service (their training
    dates come from the seeded random numbers), and a Golden Diamond family of the last two:
    the award lists, the calendar and "my milestones" then have someone to show."""
    from .awards import full_months, seniority
    from .golden_family import AwardFamily, AwardFamilyMember
    from .prior_service import PriorHours

    session.flush()
    senior = []
    for i, vol in enumerate(vols[:-2]):  # not the uninsured one, nor the one lacking a course
        start, _source = seniority(session, vol, today)
        if i >= 4 and start is not None and full_months(start, today) >= 37:
            senior.append(vol)
    chosen = senior[:len(RECORD_BOOK_HOURS)]
    for vol, hours in zip(chosen, RECORD_BOOK_HOURS):
        session.add(PriorHours(volunteer_id=vol.id, source_unit="臺北市立聯合醫院志工隊",
                               period_start=dt.date(today.year - 8, 3, 1),
                               period_end=dt.date(today.year - 1, 6, 30), minutes=hours * 60,
                               in_taipei=True, note="志願服務紀錄冊登載"))
    if len(chosen) == len(RECORD_BOOK_HOURS):
        a, b = chosen[-2:]
        session.add(AwardFamily(unit_id=unit.id, name=f"{a.name_zh[0]}家", members=[
            AwardFamilyMember(volunteer_id=a.id), AwardFamilyMember(volunteer_id=b.id)]))


def _seed_training(session: Session, unit: Unit, vols: list, today: dt.date, rng) -> None:
    """The course catalogue, and basic + special training (both categories) for every demo
    volunteer but the second-to-last, who still lacks the unit briefing (the gate names it).
    Older volunteers hold the former 12 h basic certificate; the briefing came from a unit event."""
    from .training import TrainingEvent, TrainingMode, TrainingRecord, seed_catalogue

    courses = {c.code: c for c in seed_catalogue(session, unit)}
    briefing_on = today - dt.timedelta(days=400)
    event = TrainingEvent(unit_id=unit.id, course_id=courses["SW04"].id, held_on=briefing_on,
                          place="本會三樓會議室", mode=TrainingMode.in_person)
    session.add(event)
    session.flush()
    for i, vol in enumerate(vols):
        basic_on = today - dt.timedelta(days=500 + rng.randrange(1500))
        if i % 6 == 0:
            basics = [(courses["B12"], TrainingMode.in_person, "臺北市志願服務推廣中心")]
        else:
            mode = TrainingMode.online if i % 2 else TrainingMode.group_viewing
            basics = [(courses[c], mode, "臺北E大" if i % 2 else DEMO_UNIT)
                      for c in ("B01", "B02", "B03")]
        for course, mode, provider in basics:
            session.add(TrainingRecord(volunteer_id=vol.id, course_id=course.id,
                                       completed_on=basic_on, minutes=course.minutes, mode=mode,
                                       provider=provider, certificate_no=f"T{vol.volunteer_no}"))
        special_on = basic_on + dt.timedelta(days=30)
        for code in ("SW01", "SW02", "SW03", "CO01", "CO02", "SW04"):
            if code == "SW04" and i == len(vols) - 2:
                continue  # lacks the unit briefing: refused with the course named
            course = courses[code]
            from_event = code == "SW04" and i % 3 == 0
            session.add(TrainingRecord(
                volunteer_id=vol.id, course_id=course.id,
                completed_on=briefing_on if from_event else min(special_on, today),
                minutes=course.minutes, mode=TrainingMode.in_person, provider=DEMO_UNIT,
                event_id=event.id if from_event else None))


PLAN_TEXTS = {
    "recruitment": "每年三月、九月兩梯次，於臺北市志工管理整合平臺及本會網站公告召募需求，經面談甄選後運用。",
    "training": "新進志工完成基礎訓練（6 小時）及社會福利類特殊訓練（6 小時），每年另辦理在職訓練兩次。",
    "management": "建立志工個人資料與服務紀錄，服務時數以簽到、簽退實際服務時間計算，由督導審核。",
    "deployment": "依服務項目與志工專長，排班至大安長照服務中心及萬華社區關懷據點。",
    "guidance": "督導每月召開志工座談，每季辦理團體督導，個別志工視需要個別輔導。",
    "evaluation": "每年十二月辦理年度考核，考核結果作為續任、獎勵及表揚之依據。",
}


def _seed_plans(session: Session, unit: Unit, admin: User, items: list, today: dt.date) -> None:
    """This year's service plan, filed and approved last winter; from October, next year's as a
    draft still being written (the admin's home page reminds it)."""
    from . import plan as plans

    this_year = plans.create_plan(session, unit.id, today.year, admin, today=today)
    for key, text in PLAN_TEXTS.items():
        plans.update_section(session, this_year, key, text, admin)
    plans.update_items(session, this_year, {i.id: f"{i.name_zh}：依排班到點服務。" for i in items}, admin)
    submitted = dt.date(today.year - 1, 11, 20)
    plans.submit(session, this_year, admin, submitted_on=submitted, today=submitted)
    decided = dt.date(today.year - 1, 12, 15)
    plans.approve(session, this_year, admin, decided_on=decided,
                  reference_no=f"北市社志字第{today.year - 1911 - 1}0045678號", today=decided)
    if today.month >= 10:
        draft = plans.create_plan(session, unit.id, today.year + 1, admin, today=today)
        for key in ("recruitment", "training", "management"):
            plans.update_section(session, draft, key, PLAN_TEXTS[key], admin)
