"""Training events the unit runs (訓練場次): a course held on a day at a place, and the
attendance marked for it, which adds (or takes back) each attendee's training record through
training.add_record / delete_record, with the one-by-one page's rules.

Training is never service time: nothing here creates or touches service sessions.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .base import begin_write, taipei_date, utcnow
from .people import Volunteer
from .training import (PLACE_MAX, InvalidTraining, TrainingCourse, TrainingEvent, TrainingMode,
                       TrainingRecord, add_record, delete_record)



def create_event(session: Session, unit_id: int, *, course: TrainingCourse | None,
                 held_on: dt.date | None, place: str = "", mode=TrainingMode.in_person,
                 actor=None) -> TrainingEvent:
    begin_write(session)
    errors = {}
    if course is None:
        errors["course_id"] = "required"
    elif course.unit_id != unit_id:
        errors["course_id"] = "other_unit"
    if held_on is None:
        errors["held_on"] = "required"
    place = (place or "").strip()
    if len(place) > PLACE_MAX:
        errors["place"] = "too_long"
    try:
        mode = TrainingMode(getattr(mode, "value", mode))
    except ValueError:
        errors["mode"] = "unknown"
    if not errors and session.scalar(select(TrainingEvent.id).where(  # the form sent twice
            TrainingEvent.unit_id == unit_id, TrainingEvent.course_id == course.id,
            TrainingEvent.held_on == held_on, TrainingEvent.place == place)):
        errors["held_on"] = "event_exists"
    if errors:
        raise InvalidTraining(errors)
    event = TrainingEvent(unit_id=unit_id, course_id=course.id, held_on=held_on, place=place,
                          mode=mode)
    session.add(event)
    session.flush()
    audit.record(session, action="training_event_created", entity="training_event",
                 entity_id=event.id, actor=actor, unit_id=unit_id,
                 after={"course_id": course.id, "held_on": held_on.isoformat(), "place": place,
                        "mode": mode.value})
    return event


def events_of(session: Session, unit_id: int) -> list[TrainingEvent]:
    return list(session.scalars(select(TrainingEvent).where(TrainingEvent.unit_id == unit_id)
                                .order_by(TrainingEvent.held_on.desc(), TrainingEvent.id.desc())))


def attendees(session: Session, event: TrainingEvent) -> dict[int, TrainingRecord]:
    return {r.volunteer_id: r for r in session.scalars(
        select(TrainingRecord).where(TrainingRecord.event_id == event.id))}


def mark_attendance(session: Session, event: TrainingEvent, volunteer_ids, actor=None,
                    provider: str = "", today: dt.date | None = None,
                    root=None) -> list[TrainingRecord]:
    """Attendance marked in bulk: each volunteer ticked gets a training record of the event's
    course (date, hours, mode of the event); volunteers unticked lose the record this event gave
    them (and its certificate file, if one was uploaded since: kept under `root`). Never creates
    service sessions. All or nothing: a volunteer of another unit refuses the lot. Returns the
    records added.

    The records are added by add_record with `today` (Asia/Taipei, the real one when not
    given), so they keep the one-by-one page's rules: an event not held yet cannot have
    attendees (InvalidTraining {"completed_on": "future"}) - a training completed after today
    would pass the check-in gate early."""
    begin_write(session)
    today = today or taipei_date(utcnow())
    wanted = {int(v) for v in volunteer_ids}
    volunteers = {v.id: v for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(wanted)))} \
        if wanted else {}
    if len(volunteers) != len(wanted) or any(v.unit_id != event.unit_id for v in volunteers.values()):
        raise InvalidTraining({"volunteers": "other_unit"})
    existing = attendees(session, event)
    added = []
    for vid in sorted(wanted - set(existing)):
        already = session.scalar(select(TrainingRecord).where(
            TrainingRecord.volunteer_id == vid, TrainingRecord.course_id == event.course_id,
            TrainingRecord.completed_on == event.held_on))
        if already is not None:
            continue  # recorded by hand for that day already
        added.append(add_record(session, volunteers[vid], course=event.course,
                                completed_on=event.held_on, minutes=event.course.minutes,
                                mode=event.mode, provider=provider, event_id=event.id,
                                actor=actor, today=today, repeat_ok=True))
    for vid in sorted(set(existing) - wanted):
        delete_record(session, existing[vid], actor=actor, root=root)
    return added
