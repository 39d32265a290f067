"""Reminders by email (`hourbook reminders send`, models.reminder_mail): what goes in a unit's
reminder, one mail per language of its admins through a real SMTP server (aiosmtpd), at most one
a day per unit, nothing for a unit with nothing to do (its plan filed), and a failed send is retried next run."""
import datetime as dt

import pytest
from sqlalchemy import func, select

import webapp.cli_reminders as cli
from models import reminder_mail as rm
from models.audit import AuditEntry
from models.base import TAIPEI
from models.people import User
from models.service import Flag, ServiceSession, SessionSource, SessionStatus
from tests.conftest import free_port

NOW = dt.datetime(2026, 7, 3, 0, 30, tzinfo=dt.timezone.utc)  # 08:30 in Taipei
TODAY = dt.date(2026, 7, 3)  # the January–June report's filing window is open (1–10 July)


@pytest.fixture
def smtp(app, smtp_inbox, monkeypatch):
    monkeypatch.setitem(app.config, "HOURBOOK_BASE_URL", "https://hourbook.example.tw")
    monkeypatch.setattr(cli, "utcnow", lambda: NOW)
    return smtp_inbox


@pytest.fixture
def busy_unit(db, make):
    """A unit set up last year with two admins (Chinese and English), an uninsured volunteer,
    one whose cover ends within 30 days and a session waiting for verification."""
    unit = make.unit(name="臺北市暖陽協會", created_at=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    zh = make.user(unit, role="admin", email="admin-zh@example.tw")
    en = make.user(unit, role="admin", email="admin-en@example.tw", locale="en")
    make.user(unit, role="supervisor", email="sup@example.tw")
    make.user(unit, role="admin", email="gone@example.tw", active=False)
    uninsured = make.volunteer(unit, name_zh="王小明")
    ending = make.volunteer(unit, name_zh="李大華")
    make.cover(ending, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 7, 20))
    site, item = make.site(unit), make.item(unit)
    start = dt.datetime(2026, 7, 2, 9, tzinfo=TAIPEI)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=ending.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=start,
                          checked_out_at=start + dt.timedelta(hours=2),
                          status=SessionStatus.closed, source=SessionSource.poster))
    db.commit()
    return unit, zh, en, uninsured, ending


def send(app, *args):
    return app.test_cli_runner().invoke(args=["reminders", "send", *args])


def test_what_a_unit_reminder_holds(db, busy_unit):
    unit, *_rest, uninsured, ending = busy_unit
    r = rm.unit_reminder(db, unit.id, TODAY)
    assert "2026H1" in [x.period.code for x in r.reports]
    assert [v.id for v in r.uninsured] == [uninsured.id]
    assert [(s.volunteer.id, s.covered_until) for s in r.expiring] == [(ending.id, dt.date(2026, 7, 20))]
    assert r.to_verify == 1 and r.open_certificates == 0 and r.changed_certificates == 0
    assert [u.email for u in rm.recipients(db, unit.id)] == ["admin-zh@example.tw",
                                                             "admin-en@example.tw"]
    # no plan for 2026 was filed, and in July next year's is not due yet
    assert [(p.year, p.kind.value, p.version) for p in r.plans] == [(2026, "not_filed", None)]
    # reports, the plan, uninsured, cover ending, to verify
    assert r.items == len(r.reports) + 1 + 1 + 1 + 1


def test_admins_get_one_mail_a_day_in_their_language(app, db, smtp, busy_unit):
    unit, *_ = busy_unit
    result = send(app)
    assert result.exit_code == 0, result.output
    assert f"unit {unit.id}:" in result.output and "sent to 2 admins" in result.output
    by_to = {tuple(to): msg for to, msg in smtp.messages}
    assert set(by_to) == {("admin-zh@example.tw",), ("admin-en@example.tw",)}
    zh, en = by_to[("admin-zh@example.tw",)], by_to[("admin-en@example.tw",)]
    assert "臺北市暖陽協會" in zh["Subject"] and zh["From"] == "hourbook@example.tw"
    body = zh.get_content()
    for text in ("待填報的成果報表", "2026H1", "沒有有效保險", "王小明", "李大華", "2026-07-20",
                 "1 筆服務紀錄待審核", "https://hourbook.example.tw/reports/",
                 "服務計畫備案", "2026 年度計畫：尚未建立。年度已開始",
                 "https://hourbook.example.tw/admin/plans",
                 "https://hourbook.example.tw/admin/insurance/"):
        assert text in body, text
    english = en.get_content()
    assert "Results reports to file" in english and "Without valid insurance" in english
    assert "Plan 2026: Not started yet. The year has begun without a filed plan" in english
    assert "1 session waiting for verification" in english  # singular: one session to verify
    assert en["Subject"] == f"Hourbook: {rm.unit_reminder(db, unit.id, TODAY).items} items for 臺北市暖陽協會"
    assert "王小明" in english  # names stay as written
    # the same day again: nothing more
    again = send(app)
    assert again.exit_code == 0 and "already sent today" in again.output
    assert len(smtp.messages) == 2
    db.rollback()
    assert db.scalar(select(func.count()).select_from(rm.ReminderMail)) == 1
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "reminder_mail_sent")).all()
    assert entry.unit_id == unit.id


def test_the_english_mail_names_the_unit_in_english(app, db, smtp, busy_unit):
    unit, *_ = busy_unit
    unit.name_en = "Warm Sun Association, Taipei"
    db.commit()
    assert send(app).exit_code == 0
    by_to = {tuple(to): msg for to, msg in smtp.messages}
    zh, en = by_to[("admin-zh@example.tw",)], by_to[("admin-en@example.tw",)]
    assert en["Subject"].endswith("items for Warm Sun Association, Taipei")
    assert "What needs the admins of Warm Sun Association, Taipei on" in en.get_content()
    assert "臺北市暖陽協會" in zh["Subject"] and "臺北市暖陽協會" in zh.get_content()


def test_a_unit_with_nothing_to_do_gets_no_mail(app, db, make, smtp):
    unit = make.unit()  # set up today: no report is due, no volunteers, no sessions
    make.plan(unit, TODAY.year, actor=make.user(unit, role="admin"))  # and its plan is filed
    result = send(app)
    assert result.exit_code == 0 and f"unit {unit.id}: nothing to send" in result.output
    assert smtp.messages == []


def test_a_failed_send_is_tried_again_next_run(app, db, smtp, busy_unit, monkeypatch):
    good = app.config["HOURBOOK_SMTP_PORT"]
    monkeypatch.setitem(app.config, "HOURBOOK_SMTP_PORT", str(free_port()))  # nobody listens
    result = send(app)
    assert result.exit_code == 1 and "NOT sent" in result.output
    db.rollback()
    assert db.scalar(select(func.count()).select_from(rm.ReminderMail)) == 0
    assert db.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("reminder_mail_%"))).all() == ["reminder_mail_failed"]
    monkeypatch.setitem(app.config, "HOURBOOK_SMTP_PORT", good)
    assert send(app).exit_code == 0
    assert len(smtp.messages) == 2


def test_without_smtp_settings_nothing_is_sent_or_recorded(app, db, busy_unit, monkeypatch):
    monkeypatch.setattr(cli, "utcnow", lambda: NOW)
    monkeypatch.delenv("HOURBOOK_SMTP_HOST", raising=False)
    result = send(app)
    assert result.exit_code == 1 and "HOURBOOK_SMTP_HOST" in result.output
    dry = send(app, "--dry-run")  # shows what would go out
    assert dry.exit_code == 0 and "Subject:" in dry.output
    db.rollback()
    assert db.scalar(select(func.count()).select_from(rm.ReminderMail)) == 0


def test_a_run_that_died_between_claiming_and_sending_does_not_lose_the_day(app, db, smtp, busy_unit,
                                                                             monkeypatch):
    """A run claims the day, then is killed before the mail goes out. A run while it could still
    be sending leaves the day alone; a later run the same day (cron runs hourly) sends it."""
    unit, *_ = busy_unit
    assert rm.claim_day(db, unit.id, TODAY, 2, NOW)
    db.commit()  # ... and the process dies here
    soon = NOW + dt.timedelta(minutes=10)
    monkeypatch.setattr(cli, "utcnow", lambda: soon)
    result = send(app)
    assert result.exit_code == 0 and "already sent today" in result.output
    assert smtp.messages == []
    later = NOW + rm.CLAIM_TIMEOUT + dt.timedelta(minutes=1)
    monkeypatch.setattr(cli, "utcnow", lambda: later)
    result = send(app)
    assert result.exit_code == 0 and "sent to 2 admins" in result.output
    assert len(smtp.messages) == 2
    # sent now: no later run sends it again, however late
    monkeypatch.setattr(cli, "utcnow", lambda: later + dt.timedelta(hours=5))
    assert "already sent today" in send(app).output
    assert len(smtp.messages) == 2
    db.rollback()
    [mail] = db.scalars(select(rm.ReminderMail)).all()
    assert mail.sent_at == later


def test_each_supervisor_gets_their_own_sites_counts(app, db, make, smtp, busy_unit):
    """The same run mails each supervisor what waits at THEIR sites (the flagged ones and the
    forgotten check-outs among them), in their language, with links to the dashboard filtered
    the same way; a supervisor with nothing waiting, no site, or no longer active gets nothing.
    The admins' mail is unchanged, and the day is still sent once."""
    from models.verification import SupervisorSite

    unit, *_rest, ending = busy_unit
    [busy_site] = db.scalars(select(ServiceSession.site_id)).all()  # the closed session's site
    quiet_site, item = make.site(unit), make.item(unit)
    sup = db.scalar(select(User).where(User.email == "sup@example.tw"))
    english = make.user(unit, role="supervisor", email="sup-en@example.tw", locale="en")
    quiet = make.user(unit, role="supervisor", email="quiet@example.tw")
    gone = make.user(unit, role="supervisor", email="gone-sup@example.tw", active=False)
    for user, site in ((sup, busy_site), (english, busy_site), (quiet, quiet_site.id), (gone, busy_site)):
        db.add(SupervisorSite(user_id=user.id, site_id=site))
    forgotten_at = dt.datetime(2026, 7, 1, 9, tzinfo=TAIPEI)
    s = ServiceSession(unit_id=unit.id, volunteer_id=ending.id, site_id=busy_site, service_item_id=item.id,
                       checked_in_at=forgotten_at, checked_out_at=forgotten_at + dt.timedelta(hours=12),
                       status=SessionStatus.needs_review, source=SessionSource.poster)
    s.add_flag(Flag.auto_closed)
    db.add(s)
    db.commit()

    result = send(app)
    assert result.exit_code == 0, result.output
    assert "sent to 2 admins; their sites' sessions to verify and people turned away sent to 2 supervisors" in result.output
    by_to = {tuple(to): msg for to, msg in smtp.messages}
    assert set(by_to) == {("admin-zh@example.tw",), ("admin-en@example.tw",), ("sup@example.tw",),
                          ("sup-en@example.tw",)}
    zh = by_to[("sup@example.tw",)]
    assert zh["Subject"] == "志工時數簿：臺北市暖陽協會 有 2 筆服務紀錄待您審核"
    body = zh.get_content()
    for text in ("2 筆服務紀錄待審核", "https://hourbook.example.tw/dashboard/\n",
                 "其中 1 筆有標記，請逐筆查看", "https://hourbook.example.tw/dashboard/?flag=flagged",
                 "其中 1 筆忘記簽退", "https://hourbook.example.tw/dashboard/?flag=auto_closed"):
        assert text in body, text
    en = by_to[("sup-en@example.tw",)]
    assert en["Subject"] == "Hourbook: 2 sessions to verify at 臺北市暖陽協會"
    assert "1 forgotten check-out: 0 minutes until the real time is set" in en.get_content()
    # the admins' mail counts the whole unit, as before
    assert "2 筆服務紀錄待審核" in by_to[("admin-zh@example.tw",)].get_content()
    assert "already sent today" in send(app).output and len(smtp.messages) == 4  # once a day
    db.rollback()
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "reminder_mail_sent")).all()
    assert entry.after_data()["recipients"] == 4 and entry.after_data()["supervisors"] == 2


def test_supervisors_are_mailed_even_when_the_admins_have_no_address(app, db, make, smtp):
    from models.verification import SupervisorSite

    unit = make.unit(created_at=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    sup = make.user(unit, role="supervisor", email="only-sup@example.tw")
    site, item, vol = make.site(unit), make.item(unit), make.volunteer(unit)
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    start = dt.datetime(2026, 7, 2, 9, tzinfo=TAIPEI)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                          checked_in_at=start, checked_out_at=start + dt.timedelta(hours=2),
                          status=SessionStatus.closed, source=SessionSource.poster))
    db.commit()
    result = send(app)
    assert f"unit {unit.id}: their sites' sessions to verify and people turned away sent to 1 supervisor" in result.output
    [(to, msg)] = smtp.messages
    assert to == ["only-sup@example.tw"] and "1 筆服務紀錄待審核" in msg.get_content()
    assert "有標記" not in msg.get_content()  # nothing flagged: no such line


def _refused(db, unit, vol, site, at, code="no_insurance"):
    from models.checkin import Action, CheckinEvent, Outcome

    db.add(CheckinEvent(unit_id=unit.id, at=at, volunteer_id=vol.id, site_id=site, action=Action.check_in,
                        source=SessionSource.poster, outcome=Outcome.refused, refusal_code=code))


def test_a_supervisor_hears_who_was_turned_away_since_the_last_reminder(app, db, make, smtp, busy_unit):
    """The supervisor's mail counts who was turned away at their sites on each day since the
    unit's last reminder (that day included, today not: it is on the dashboard as it happens),
    as the dashboard's refusal log of that day counts them (two tries of one person, one line),
    each day with a link to that log; other sites' refusals are not theirs. A supervisor with
    nothing to verify but someone turned away is mailed too, for that."""
    from models.refusal_log import refused_attempts, turned_away
    from models.verification import SupervisorSite

    unit, _zh, _en, uninsured, ending = busy_unit
    [busy_site] = db.scalars(select(ServiceSession.site_id)).all()
    quiet_site, other_site = make.site(unit).id, make.site(unit).id
    sup = db.scalar(select(User).where(User.email == "sup@example.tw"))
    english = make.user(unit, role="supervisor", email="sup-en@example.tw", locale="en")
    quiet = make.user(unit, role="supervisor", email="quiet@example.tw")
    for user, site in ((sup, busy_site), (english, busy_site), (quiet, quiet_site)):
        db.add(SupervisorSite(user_id=user.id, site_id=site))
    # the last reminder went out on Monday 29 June
    db.add(rm.ReminderMail(unit_id=unit.id, sent_on=dt.date(2026, 6, 29), recipients=3,
                           created_at=dt.datetime(2026, 6, 29, 0, 5, tzinfo=dt.timezone.utc),
                           sent_at=dt.datetime(2026, 6, 29, 0, 6, tzinfo=dt.timezone.utc)))
    at = lambda day, hour: dt.datetime(2026, *day, hour, tzinfo=TAIPEI)  # noqa: E731
    _refused(db, unit, uninsured, busy_site, at((7, 2), 9))
    _refused(db, unit, uninsured, busy_site, at((7, 2), 9) + dt.timedelta(minutes=2))  # tried again
    _refused(db, unit, ending, busy_site, at((7, 2), 23), "basic_training_missing")
    _refused(db, unit, uninsured, busy_site, at((6, 29), 10))  # the last mail's day, after it
    _refused(db, unit, uninsured, busy_site, at((6, 28), 10))  # before the last mail: told then
    _refused(db, unit, uninsured, busy_site, at((7, 3), 7))  # today: on the dashboard
    _refused(db, unit, uninsured, other_site, at((7, 1), 9))  # not their site
    _refused(db, unit, ending, quiet_site, at((7, 1), 0) + dt.timedelta(minutes=5))  # 00:05 Taipei, 30 June in UTC
    db.commit()

    found = {s.user.email: s for s in rm.supervisor_reminders(db, unit.id, TODAY)}
    assert set(found) == {"sup@example.tw", "sup-en@example.tw", "quiet@example.tw"}
    assert found["sup@example.tw"].turned_away == [(dt.date(2026, 7, 2), 2), (dt.date(2026, 6, 29), 1)]
    assert found["quiet@example.tw"].turned_away == [(dt.date(2026, 7, 1), 1)]
    assert not found["quiet@example.tw"].waiting.sessions
    for day, n in found["sup@example.tw"].turned_away:  # as the dashboard's refusal log of that day
        assert n == turned_away(db, unit.id, day, {busy_site}) == len(refused_attempts(db, unit.id, day, {busy_site}))

    result = send(app)
    assert result.exit_code == 0, result.output
    by_to = {tuple(to): msg for to, msg in smtp.messages}
    body = by_to[("sup@example.tw",)].get_content().replace("\r\n", "\n")
    for text in ("1 筆服務紀錄待審核", "上次提醒以來，您負責的服務地點被拒絕的簽到",
                 "- 2026-07-02：2 筆簽到被拒絕\nhttps://hourbook.example.tw/dashboard/refusals?day=2026-07-02\n",
                 "- 2026-06-29：1 筆簽到被拒絕\nhttps://hourbook.example.tw/dashboard/refusals?day=2026-06-29\n"):
        assert text in body, (text, body)
    assert body.index("2026-07-02：") < body.index("2026-06-29：")  # newest first
    assert "2026-06-28" not in body and "2026-07-03：" not in body and "2026-07-01" not in body
    en = by_to[("sup-en@example.tw",)].get_content().replace("\r\n", "\n")  # ASCII: sent as 7bit
    assert "- 2026-07-02: 2 turned away\nhttps://hourbook.example.tw/dashboard/refusals?day=2026-07-02" in en
    quiet_mail = by_to[("quiet@example.tw",)]
    assert quiet_mail["Subject"] == "志工時數簿：臺北市暖陽協會 有 1 筆簽到被拒絕"
    assert "待審核" not in quiet_mail.get_content()
    assert "2026-07-01：1 筆簽到被拒絕" in quiet_mail.get_content()


def test_the_first_reminder_looks_one_week_back_for_who_was_turned_away(db, make):
    """With no reminder sent before (or the last one long ago), the mail looks back
    TURNED_AWAY_DAYS days, up to yesterday."""
    from models.verification import SupervisorSite

    unit = make.unit(created_at=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    sup = make.user(unit, role="supervisor", email="sup1@example.tw")
    site, vol = make.site(unit).id, make.volunteer(unit)
    db.add(SupervisorSite(user_id=sup.id, site_id=site))
    db.add(rm.ReminderMail(unit_id=unit.id, sent_on=dt.date(2026, 5, 4), recipients=1,
                           sent_at=dt.datetime(2026, 5, 4, 1, tzinfo=dt.timezone.utc)))
    for day in (25, 26, 30):
        _refused(db, unit, vol, site, dt.datetime(2026, 6, day, 12, tzinfo=TAIPEI))
    db.commit()
    assert rm.TURNED_AWAY_DAYS == 7
    assert rm.turned_away_since(db, unit.id, TODAY, {site}) == [(dt.date(2026, 6, 30), 1), (dt.date(2026, 6, 26), 1)]
    [reminder] = rm.supervisor_reminders(db, unit.id, TODAY)  # nothing waiting, but turned away
    assert reminder.user.id == sup.id and reminder.turned_away_total == 2
