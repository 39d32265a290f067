"""Factories returning committed domain objects: make.unit(), make.user(unit, role=...), ..."""
from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from models.idnumbers import with_check_digit
from models.insurance import CoverKind, InsuranceCover
from models.people import Gender, Role, User, Volunteer
from models.service import ServiceItem, Site
from models.unit import Category, LegalType, Unit

_seq = itertools.count(1)


class Factories:
    PASSWORD = "correct horse 2026"

    def __init__(self, session):
        self.session = session

    def _save(self, obj):
        self.session.add(obj)
        self.session.commit()
        return obj

    def unit(self, **kw):
        n = next(_seq)
        kw.setdefault("name", f"臺北市測試協會{n}")
        kw.setdefault("legal_type", LegalType.juridical_person)
        kw.setdefault("category", Category.social_welfare)
        return self._save(Unit(**kw))

    def user(self, unit, role="admin", email=None, **kw):
        n = next(_seq)
        role = Role(role)
        user = User(unit_id=unit.id, email=email or f"{role.value}{n}@example.tw", role=role,
                    display_name=kw.pop("display_name", f"{role.value} {n}"), **kw)
        user.set_password(self.PASSWORD)
        self.session.add(user)
        if role == Role.volunteer:
            self.session.flush()
            self.volunteer(unit, user=user, commit=False)
        return self._save(user)

    def volunteer(self, unit, user=None, commit=True, insured=False, trained=True, **kw):
        """trained=True (the default): the unit's catalogue is seeded and the volunteer holds
        basic and every category's special training, completed long ago, so the check-in gate
        lets them serve. trained=False: no training records at all."""
        n = next(_seq)
        kw.setdefault("name_zh", f"志工{n:03d}")
        kw.setdefault("gender", Gender.female)
        kw.setdefault("birth_date", dt.date(1970, 5, 17))
        kw.setdefault("id_number", with_check_digit(f"A2{n:07d}"))
        kw.setdefault("volunteer_no", f"{5000 + n}")
        vol = Volunteer(unit_id=unit.id, user=user, **kw)
        self.session.add(vol)
        if trained:
            self.train(vol, unit)
        if commit:
            self.session.commit()
        if insured:
            self.cover(vol)
        return vol

    def train(self, vol, unit, on=dt.date(2000, 1, 1), codes=None):
        """Give the volunteer records of the unit's current basic and all special courses
        (or only `codes`), dated `on`. Adds and flushes; the caller commits."""
        from models.training import TrainingCourse, TrainingMode, TrainingRecord, seed_catalogue

        seed_catalogue(self.session, unit, audited=False)
        self.session.flush()
        courses = self.session.scalars(select(TrainingCourse).where(
            TrainingCourse.unit_id == unit.id, TrainingCourse.legacy.is_(False)))
        for course in courses:
            if codes is None or course.code in codes:
                self.session.add(TrainingRecord(
                    volunteer=vol, course=course, completed_on=on, minutes=course.minutes,
                    mode=TrainingMode.in_person, provider="測試"))
        self.session.flush()

    def site(self, unit, **kw):
        n = next(_seq)
        kw.setdefault("name_zh", f"服務據點{n}")
        kw.setdefault("name_en", f"Site {n}")
        return self._save(Site(unit_id=unit.id, **kw))

    def item(self, unit, **kw):
        n = next(_seq)
        kw.setdefault("code", f"T{n:03d}")
        kw.setdefault("name_zh", f"服務項目{n}")
        kw.setdefault("category", unit.category)
        return self._save(ServiceItem(unit_id=unit.id, **kw))

    def cover(self, volunteer, starts_on=None, ends_on=None, kind=CoverKind.commercial, **kw):
        today = dt.date.today()
        return self._save(InsuranceCover(
            volunteer_id=volunteer.id, kind=kind, insurer=kw.pop("insurer", "國泰產險"),
            policy_no=kw.pop("policy_no", f"P-{next(_seq)}"),
            starts_on=starts_on or today - dt.timedelta(days=30),
            ends_on=ends_on or today + dt.timedelta(days=300), **kw))

    def plan(self, unit, year, status="approved", submitted_on=None, decided_on=None, actor=None):
        """A service plan for `year` with every section filled, taken through the real filing
        moves up to `status` (draft, submitted, approved or returned)."""
        from models import plan as plans

        actor = actor or self.user(unit, role="admin")
        submitted_on = submitted_on or dt.date(year - 1, 11, 15)
        # started the day it was submitted: a plan of a year long past is history being built
        plan = plans.create_plan(self.session, unit.id, year, actor, today=submitted_on)
        for key in plans.TEXT_SECTIONS:
            plans.update_section(self.session, plan, key, f"{key} 說明", actor)
        plans.update_items(self.session, plan, {self.item(unit).id: "服務內容"}, actor)
        decided_on = decided_on or submitted_on + dt.timedelta(days=14)
        today = max(submitted_on, decided_on)
        if status != "draft":
            plans.submit(self.session, plan, actor, submitted_on=submitted_on, today=today)
        if status == "approved":
            plans.approve(self.session, plan, actor, decided_on=decided_on,
                          reference_no=f"北市社志字第{next(_seq)}號", today=today)
        elif status == "returned":
            plans.return_plan(self.session, plan, actor, decided_on=decided_on,
                              reason="服務項目說明不足", today=today)
        self.session.commit()
        return plan
