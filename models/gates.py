"""The gates: what stops a volunteer serving, in one place.

- `gate_refusals`: everything that stops a check-in at this moment (status, site, service item,
  and the day-of-service gates), used by the phone, the kiosk and staff entering a session.
- The day-of-service gates: the volunteer one of the unit's that day (joined, not exited),
  accident insurance valid on the day of service and the training the service item's category
  needs completed by then. A session keeps needing them until it is verified: approving it
  asks again (`dated_refusals`), the queue says why a row fails (`day_gate_reasons`), the
  volunteer's home page says it before they travel (`serving_refusals`), and every change to
  a cover, a training record, a course, an item's category or a volunteer's status history
  re-checks the sessions not yet verified before the transaction commits (`recheck_day_gates`).

Refusals carry an English msgid and parameters; the pages translate them (webapp.i18n).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import event, inspect, or_, select
from sqlalchemy.orm import Session, object_session, selectinload

from . import audit
from .base import taipei_date, utcnow
from .insurance import InsuranceCover, is_covered_on
from .messages import N_, Label, Named
from .people import Volunteer, of_volunteers
from .service import Flag, ServiceItem, ServiceSession, SessionStatus, Site, service_items_for
from .training import (TrainingCourse, TrainingRecord, TrainingStatus, catalogues_of,
                       status_from, training_status)
from .unit import CATEGORY_LABELS
from .volunteer_status import VolunteerStatusChange, serving_on, status_changes_of, status_history


@dataclass(frozen=True)
class Refusal:
    """Why a check-in or check-out cannot happen, and what to do. `message` is an English msgid."""

    code: str
    message: str
    params: dict = field(default_factory=dict)


REFUSALS = {
    "inactive": N_("Your volunteer status is inactive. Please contact the unit admin."),
    "no_insurance": N_("No valid accident insurance today. Please contact the unit admin."),
    "site_inactive": N_("This site is not in use. Please contact your supervisor."),
    "not_service_item": N_("Only service items of this unit can be checked into. "
                           "Training and meetings are not service time."),
    "open_elsewhere": N_("You are still checked in at %(site)s. Check out there first."),
    "outside_radius": N_("You seem to be %(distance)s away from %(site)s. "
                         "Please check in on site. If you are there and your phone cannot find "
                         "its place, check in at the reception kiosk or ask your supervisor."),
    "not_checked_in": N_("You are not checked in."),
    "other_unit": N_("This volunteer does not belong to this unit."),
    "basic_training_missing": N_("Basic training not yet completed: %(courses)s. "
                                 "Please contact the unit admin."),
    # %(category)s: the item's category (a unit may have items of both, and a course of the same
    # name may be done for the other category): which special training is missing, and why
    # another item may do.
    "special_training_missing": N_("Special training for the %(category)s category not yet "
                                   "completed: %(courses)s. If another service item fits you, "
                                   "you may choose it instead; otherwise please contact the "
                                   "unit admin."),
    "no_catalogue": N_("The unit's training courses are not set up yet. Please ask the unit admin "
                       "to add the standard courses."),
    "overlap": N_("This check-in time falls within another session already recorded for this "
                  "volunteer. Please ask your supervisor."),
    # Before the rules above: the kiosk could not tell who it was (models/kiosk.py).
    "pin_locked": N_("Too many wrong PINs: this volunteer number is locked for a while. Scan your "
                     "QR card or use your phone, or ask the staff to unlock it."),
    "wrong_pin_offline": N_("The PIN typed at the kiosk while it was offline was not correct, so "
                            "nothing was recorded. Please ask the staff."),
    "unknown_volunteer": N_("The card or volunteer number used at the kiosk while it was offline "
                            "is not known here, so nothing was recorded. Please ask the staff."),
    "no_pin": N_("This volunteer number has no PIN yet, so nothing was recorded. Set a PIN on "
                 "your phone, or scan your QR card; the staff can help."),
}

# The same refusals in a few words, for the supervisor's list of who was turned away.
REFUSAL_LABELS = {
    "inactive": N_("Volunteer status inactive"),
    "no_insurance": N_("No valid accident insurance"),
    "site_inactive": N_("Site not in use"),
    "not_service_item": N_("Not a service item of the unit"),
    "open_elsewhere": N_("Still checked in at another site"),
    "outside_radius": N_("Too far from the site"),
    "not_checked_in": N_("Checked out without being checked in"),
    "other_unit": N_("Not a volunteer of this unit"),
    "basic_training_missing": N_("Basic training not completed"),
    "special_training_missing": N_("Special training not completed"),
    "no_catalogue": N_("Training courses not set up"),
    "overlap": N_("Overlaps a session already recorded"),
    "pin_locked": N_("Number locked after wrong PINs"),
    "wrong_pin_offline": N_("Wrong PIN at the kiosk while offline"),
    "unknown_volunteer": N_("Unknown card or number at the kiosk while offline"),
    "no_pin": N_("No PIN set for the number"),
}


def refusal(code: str, **params) -> Refusal:
    return Refusal(code, REFUSALS[code], params)


def gate_refusals(session: Session, volunteer: Volunteer, site: Site, item: ServiceItem | None,
                  when: dt.datetime) -> list[Refusal]:
    """Everything that stops this volunteer serving this item at this site at this moment.

    One function, extended as the workflow grows (training completion joins it later).
    """
    problems: list[Refusal] = []
    if volunteer.unit_id != site.unit_id:
        problems.append(refusal("other_unit"))
    if not volunteer.is_active:
        problems.append(refusal("inactive"))
    if not site.active:
        problems.append(refusal("site_inactive"))
    if item is None or item.unit_id != site.unit_id or not item.active:
        problems.append(refusal("not_service_item"))
    problems += [refusal(code, **params)
                 for code, params in _dated_problems(session, volunteer, item, taipei_date(when),
                                                     status_that_day=False)]
    return problems


def _dated_problems(session: Session, volunteer: Volunteer, item: ServiceItem | None,
                    day: dt.date, *, status_that_day: bool = True) -> list[tuple[str, dict]]:
    """The gates that belong to the day of service rather than to this moment: the volunteer
    one of the unit's that day (joined, not yet exited: an exit recorded later, with an earlier
    date, catches the service in between), accident insurance valid that day, and the training
    the item's category needs completed by then (service counts from the certificate's date).
    A session keeps needing them until it is verified, whatever the records say later.
    `status_that_day=False`: the caller checks the status of this moment itself (a check-in,
    the volunteer's home page). (_day_problems_of: the same for many sessions.)"""
    serving = True
    if status_that_day:
        serving = serving_on(volunteer, status_changes_of(session, volunteer.id), day)
    status = None
    if item is not None and item.category is not None:
        status = training_status(session, volunteer, item.category, as_of=day)
    return _day_problems(serving, is_covered_on(session, volunteer.id, day), status)


def _day_problems(serving: bool, covered: bool,
                  status: TrainingStatus | None) -> list[tuple[str, dict]]:
    """The day-of-service gates judged from what was read: the volunteer one of the unit's that
    day or not, cover that day or not, and the training status by that day for the item's
    category (None: the item needs none)."""
    problems: list[tuple[str, dict]] = []
    if not serving:
        problems.append(("not_serving_that_day", {}))
    if not covered:
        problems.append(("no_insurance", {}))
    if status is not None:
        if (not status.basic_done and not status.missing_basic) or \
                (not status.special_done and not status.missing_special):
            problems.append(("no_catalogue", {}))  # nothing to name: the catalogue is empty
        else:
            if not status.basic_done:
                problems.append(("basic_training_missing",
                                 {"courses": _course_names(status.missing_basic)}))
            if not status.special_done:
                problems.append(("special_training_missing",
                                 {"courses": _course_names(status.missing_special),
                                  "category": Label(CATEGORY_LABELS[status.category.value])}))
    return problems


def _course_names(courses) -> Named:
    """Missing courses as one message param: their Chinese names (what is logged), carrying the
    English ones, so the UI names them in the reader's language (`local_params`)."""
    return _names((c.name, c.name_en) for c in courses)


def _names(pairs) -> Named:
    """(Chinese, English) names as one message param (Named), the Chinese joined by 、."""
    from types import SimpleNamespace

    pairs = list(pairs)
    return Named(SimpleNamespace(name_zh="、".join(zh for zh, _en in pairs),
                                 name_en=", ".join(en or zh for zh, en in pairs)))


def _day_problems_of(session: Session, rows) -> dict[int, list[tuple[str, dict]]]:
    """_dated_problems() for many sessions, each on its own day, in at most four queries
    however many rows (status changes, covers, catalogues, training records): session id ->
    problems. The rows' volunteers and service items must be loaded (the queue and
    recheck_day_gates load them)."""
    rows = list(rows)
    if not rows:
        return {}
    days = {s.id: taipei_date(s.checked_in_at) for s in rows}
    first, last = min(days.values()), max(days.values())
    units = {s.unit_id for s in rows}  # a session's unit is its volunteer's
    volunteers = {s.volunteer_id for s in rows}
    history = status_history(session, volunteers)
    covers: dict[int, list] = {}
    query = of_volunteers(select(InsuranceCover.volunteer_id, InsuranceCover.starts_on,
                                 InsuranceCover.ends_on)
                          .where(InsuranceCover.starts_on <= last, InsuranceCover.ends_on >= first),
                          InsuranceCover.volunteer_id, volunteers, units)
    for cover in session.execute(query):
        covers.setdefault(cover.volunteer_id, []).append(cover)
    trained = [s for s in rows if s.service_item is not None and s.service_item.category is not None]
    trained_units = {s.unit_id for s in trained}
    catalogues = catalogues_of(session, trained_units)
    records: dict[int, list] = {}
    if trained:
        query = of_volunteers(select(TrainingRecord.volunteer_id, TrainingRecord.course_id,
                                     TrainingRecord.completed_on)
                              .where(TrainingRecord.completed_on <= last),
                              TrainingRecord.volunteer_id, {s.volunteer_id for s in trained},
                              trained_units)
        for record in session.execute(query):
            records.setdefault(record.volunteer_id, []).append(record)
    out = {}
    for s in rows:
        day = days[s.id]
        covered = any(c.starts_on <= day <= c.ends_on for c in covers.get(s.volunteer_id, ()))
        status = None
        if s.service_item is not None and s.service_item.category is not None:
            by_then = [r for r in records.get(s.volunteer_id, ()) if r.completed_on <= day]
            status = status_from(catalogues[s.unit_id], by_then, s.service_item.category)
        serving = serving_on(s.volunteer, history.get(s.volunteer_id, []), day)
        out[s.id] = _day_problems(serving, covered, status)
    return out


# The home page's training gaps that stop only some of the unit's service items (the volunteer
# can serve the others): which items, and what they need.
ITEM_GAPS = {
    "basic_training_missing": N_("Basic training not yet completed for %(service_items)s: "
                                 "%(courses)s"),
    "special_training_missing": N_("Special training not yet completed for %(service_items)s: "
                                   "%(courses)s"),
}


def _training_problems(session: Session, volunteer: Volunteer, items, day: dt.date
                       ) -> dict[int, list[tuple[str, dict]]]:
    """The training each item's category needs by `day` and the volunteer lacks, each category
    read once: item id -> problems (none for an item without a category)."""
    by_category: dict = {}
    out = {}
    for item in items:
        if item.category is not None and item.category not in by_category:
            by_category[item.category] = _day_problems(
                True, True, training_status(session, volunteer, item.category, as_of=day))
        out[item.id] = by_category.get(item.category, []) if item.category is not None else []
    return out


def refusals_by_item(session: Session, volunteer: Volunteer, site: Site, items, when: dt.datetime
                     ) -> tuple[list[Refusal], dict[int, list[Refusal]]]:
    """gate_refusals for each of the check-in page's `items` (the unit's active ones) at once:
    what stops every item (status, site, cover) and, by item id, what stops that item besides
    (its category's training). Said before the tap, so the page offers an item the volunteer
    can serve and marks the others; the check-in asks gate_refusals again."""
    common = [r for r in gate_refusals(session, volunteer, site, None, when)
              if r.code != "not_service_item"]
    training = _training_problems(session, volunteer, items, taipei_date(when))
    return common, {item.id: [refusal(code, **params) for code, params in training[item.id]]
                    for item in items}


@dataclass
class ItemChoice:
    """What the check-in page says of its service items before the tap (item_choice)."""

    blocked: dict[int, list[Refusal]]  # item id -> what stops that item (its category's training)
    cannot_serve: list[Refusal]  # what stops every item (status, site, cover, or each item's own)


def item_choice(session: Session, volunteer: Volunteer, site: Site, items, when: dt.datetime
                ) -> ItemChoice:
    """The items the volunteer cannot serve at `when`, each with why (the page marks them and
    checkin.default_item passes over them), and, when no item is open to them, every reason
    once (said before the tap; the tap is still judged and logged by check_in)."""
    common, by_item = refusals_by_item(session, volunteer, site, items, when)
    blocked = {item_id: problems for item_id, problems in by_item.items() if problems}
    cannot_serve = common
    if not common and items and len(blocked) == len(items):
        cannot_serve = list({(r.code, str(r.params)): r for problems in blocked.values()
                             for r in problems}.values())
    return ItemChoice(blocked, cannot_serve)


def blocked_items(session: Session, volunteer: Volunteer, site: Site, items, when: dt.datetime
                  ) -> set[int]:
    """The ids of `items` the volunteer cannot serve at `when` for a reason of the item's own
    (item_choice): what checkin.default_item passes over."""
    return set(item_choice(session, volunteer, site, items, when).blocked)


def serving_refusals(session: Session, volunteer: Volunteer, day: dt.date) -> list[Refusal]:
    """What stops this volunteer checking in for service in the unit on `day`, said before they
    travel (their home page): inactive, no cover that day, and the training each service item's
    category needs by then. A training gap every item of the unit shares is said as at the
    check-in; one that stops only some items names them (ITEM_GAPS): a unit of two categories,
    a volunteer missing one category's unit briefing, serves the other category's items only.
    The site and item chosen are checked again at check-in."""
    problems = [] if volunteer.is_active else [refusal("inactive")]
    if not is_covered_on(session, volunteer.id, day):
        problems.append(refusal("no_insurance"))
    items = service_items_for(session, volunteer.unit_id)
    training = _training_problems(session, volunteer, items, day)
    # (code, category, courses) -> items
    gaps: dict[tuple[str, str, str], tuple[dict, list[ServiceItem]]] = {}
    for item in items:
        for code, params in training[item.id]:
            gap = (code, str(params.get("category", "")), str(params.get("courses", "")))
            gaps.setdefault(gap, (params, []))[1].append(item)
    for (code, _category, _courses), (params, blocked) in gaps.items():
        if len(blocked) == len(items) or code not in ITEM_GAPS:
            problems.append(refusal(code, **params))
        else:
            problems.append(Refusal(code, ITEM_GAPS[code], {
                **params, "service_items": _names((i.name_zh, i.name_en) for i in blocked)}))
    return problems


# What staff read when a session's own day fails those gates (approving, correcting the times,
# a paper sheet): the volunteer's name and the day, not "today".
DATED_REFUSALS = {
    "not_serving_that_day": N_("%(name)s was not one of the unit's volunteers on %(day)s "
                               "(not yet joined, or already exited)."),
    "no_insurance": N_("%(name)s had no valid accident insurance on %(day)s."),
    "basic_training_missing": N_("%(name)s had not completed basic training by %(day)s: "
                                 "%(courses)s"),
    "special_training_missing": N_("%(name)s had not completed the special training for the "
                                   "%(category)s category by %(day)s: %(courses)s"),
}


def _worded(problems: list[tuple[str, dict]], volunteer: Volunteer, day: dt.date) -> list[Refusal]:
    return [Refusal(code, DATED_REFUSALS.get(code) or REFUSALS[code],
                    {**params, "name": volunteer.name_zh, "day": day.isoformat()})
            for code, params in problems]


def dated_refusals(session: Session, volunteer: Volunteer, item: ServiceItem | None,
                   when: dt.datetime) -> list[Refusal]:
    """The day-of-service gates for a session that starts at `when`, worded for staff."""
    day = taipei_date(when)
    return _worded(_dated_problems(session, volunteer, item, day), volunteer, day)


def day_gate_reasons(session: Session, sessions) -> dict[int, list[Refusal]]:
    """Why each of `sessions` that carries the day_gates flag fails its day: the refusals
    approving it would give (dated_refusals), for a whole page of rows in at most four
    queries. Session id -> refusals; rows without the flag, or decided already (approved or
    rejected: the flag is history), are left out, and a flagged row whose day passes again has
    an empty list. The rows' volunteers and service items should be loaded (the queue loads
    them)."""
    flagged = [s for s in sessions
               if Flag.day_gates.value in s.flag_set and s.status in _UNVERIFIED]
    problems = _day_problems_of(session, flagged)
    return {s.id: _worded(problems[s.id], s.volunteer, taipei_date(s.checked_in_at))
            for s in flagged}


_UNVERIFIED = (SessionStatus.open, SessionStatus.closed, SessionStatus.needs_review)


def recheck_day_gates(session: Session, volunteer_ids, now: dt.datetime,
                      unit_ids=()) -> list[ServiceSession]:
    """After a volunteer's insurance or training records or status history change
    (`volunteer_ids`), or a unit's
    course catalogue or a service item's category (`unit_ids`: every volunteer of the unit):
    flag their sessions not yet verified whose day no longer passes the day-of-service gates,
    and unflag those that pass again. Supervisors see the flag in the queue, bulk approval
    leaves flagged sessions alone, and approve() refuses them while the records still say so."""
    whose = []
    if volunteer_ids:
        whose.append(ServiceSession.volunteer_id.in_(list(volunteer_ids)))
    if unit_ids:
        whose.append(ServiceSession.unit_id.in_(list(unit_ids)))
    if not whose:
        return []
    rows = list(session.scalars(
        select(ServiceSession).where(or_(*whose), ServiceSession.status.in_(_UNVERIFIED))
        .options(selectinload(ServiceSession.service_item),
                 selectinload(ServiceSession.volunteer))))
    problems = _day_problems_of(session, rows)
    changed = []
    for s in rows:
        failing = bool(problems[s.id])
        if failing == (Flag.day_gates.value in s.flag_set):
            continue
        before = s.snapshot()
        s.flags = s.flags_with(Flag.day_gates) if failing else s.flags_without(Flag.day_gates)
        audit.record(session, action="day_gates_rechecked", entity="service_session",
                     entity_id=s.id, actor_label="system", unit_id=s.unit_id, before=before,
                     after=s.snapshot(), now=now)
        changed.append(s)
    session.flush()
    return changed


# Every change to a cover or a training record, whichever page, import or command made it,
# re-checks that volunteer's unverified sessions before the transaction commits; a change to
# what training a service item needs re-checks the whole unit's: a course added, removed,
# retired or brought back (training_status requires the active courses only), or an item's
# category.
_GATES_CHANGED = "hourbook_day_gates_changed"
_UNIT_GATES_CHANGED = "hourbook_unit_day_gates_changed"
_COURSE_GATE_FIELDS = ("active", "kind", "category", "legacy")


def _noting(kind: str, id_of: str, fields: tuple[str, ...] = ()):
    """A mapper listener that notes the row's volunteer (`kind` _GATES_CHANGED) or unit
    (_UNIT_GATES_CHANGED) for the re-check before commit: on every event, or with `fields` only
    when one of them changed."""
    def note(_mapper, _connection, target) -> None:
        if fields:
            state = inspect(target)
            if not any(state.attrs[name].history.has_changes() for name in fields):
                return
        owner = object_session(target)
        if owner is not None:
            owner.info.setdefault(kind, set()).add(getattr(target, id_of))
    return note


_volunteer_record_changed = _noting(_GATES_CHANGED, "volunteer_id")
for _record in (InsuranceCover, TrainingRecord, VolunteerStatusChange):
    for _event in ("after_insert", "after_update", "after_delete"):
        event.listen(_record, _event, _volunteer_record_changed)
_course_added_or_removed = _noting(_UNIT_GATES_CHANGED, "unit_id")
for _event in ("after_insert", "after_delete"):
    event.listen(TrainingCourse, _event, _course_added_or_removed)
event.listen(TrainingCourse, "after_update",
             _noting(_UNIT_GATES_CHANGED, "unit_id", _COURSE_GATE_FIELDS))
event.listen(ServiceItem, "after_update", _noting(_UNIT_GATES_CHANGED, "unit_id", ("category",)))
# a volunteer's join date, or a status set without history (an import): who was one of the
# unit's on a day of service
event.listen(Volunteer, "after_update",
             _noting(_GATES_CHANGED, "id", ("joined_on", "left_on", "status")))


@event.listens_for(Session, "before_commit")
def _recheck_before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: flush first to hear of changes
    changed = session.info.pop(_GATES_CHANGED, None)
    units = session.info.pop(_UNIT_GATES_CHANGED, None)
    if changed or units:
        recheck_day_gates(session, changed or (), utcnow(), unit_ids=units or ())


@event.listens_for(Session, "after_soft_rollback")
def _forget_gate_changes(session: Session, _previous) -> None:
    session.info.pop(_GATES_CHANGED, None)
    session.info.pop(_UNIT_GATES_CHANGED, None)
