"""Service sites (服務地點): creating and editing them, and the opaque token on their QR poster.

The poster's QR carries `Site.token`, never the row id. Regenerating the token makes every
poster printed before it stop working (a poster was photographed and shared, a site moved).

Writers validate everything first and change nothing when anything is wrong; they flush but
do not commit, so the caller commits the change together with its audit entry.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from . import audit
from .base import begin_write, one_writer_per
from .service import DEFAULT_MAX_SESSION_MINUTES, Site, new_site_token
from .unit import Unit

NAME_MAX = 120
ADDRESS_MAX = 300
RADIUS_RANGE = (10, 5000)  # metres
MAX_SESSION_RANGE = (30, 24 * 60)  # minutes
FIELDS = ("name_zh", "name_en", "address", "latitude", "longitude", "radius_m",
          "max_session_minutes", "active")


class InvalidSite(ValueError):
    """What is wrong with a site, field by field, as reason codes.

    Codes: required, too_long, out_of_range, incomplete_location, name_taken.
    """

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {code}" for field, code in errors.items()))
        self.errors = dict(errors)


def token_hint(token: str) -> str:
    """A short fingerprint of a token: printed on the poster and kept in the audit log,
    so posters can be told apart without writing the token itself anywhere else."""
    return hashlib.sha256(token.encode()).hexdigest()[:6].upper()


def snapshot(site: Site) -> dict:
    """A site as the audit log records it (the token only as its fingerprint)."""
    data = {name: getattr(site, name) for name in FIELDS}
    data["token_hint"] = token_hint(site.token) if site.token else None
    return data


def _clean(values: dict) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    clean = dict(values)
    for name in ("name_zh", "name_en", "address"):
        clean[name] = (values.get(name) or "").strip()
    if not clean["name_zh"]:
        errors["name_zh"] = "required"
    for name, limit in (("name_zh", NAME_MAX), ("name_en", NAME_MAX), ("address", ADDRESS_MAX)):
        if len(clean[name]) > limit:
            errors[name] = "too_long"
    lat, lon, radius = values.get("latitude"), values.get("longitude"), values.get("radius_m")
    if lat is not None and not -90 <= lat <= 90:
        errors["latitude"] = "out_of_range"
    if lon is not None and not -180 <= lon <= 180:
        errors["longitude"] = "out_of_range"
    if radius is not None and not RADIUS_RANGE[0] <= radius <= RADIUS_RANGE[1]:
        errors["radius_m"] = "out_of_range"
    given = [v is not None for v in (lat, lon, radius)]
    if any(given) and not all(given):
        for name, present in zip(("latitude", "longitude", "radius_m"), given):
            if not present:
                errors.setdefault(name, "incomplete_location")
    minutes = values.get("max_session_minutes")
    if minutes is None:
        clean["max_session_minutes"] = DEFAULT_MAX_SESSION_MINUTES
    elif not MAX_SESSION_RANGE[0] <= minutes <= MAX_SESSION_RANGE[1]:
        errors["max_session_minutes"] = "out_of_range"
    clean["active"] = bool(values.get("active", True))
    return {name: clean.get(name) for name in FIELDS}, errors


def _name_taken(session: Session, unit_id: int, name_zh: str, but: int | None = None) -> bool:
    """Another site of the unit has this Chinese name (the name on posters and pages: two
    sites of one name cannot be told apart, and a create form sent twice would make them)."""
    return session.scalar(select(Site.id).where(
        Site.unit_id == unit_id, Site.name_zh == name_zh, Site.id != (but or -1)).limit(1)) is not None


def create_site(session: Session, actor, *, name_zh: str, name_en: str = "", address: str = "",
                latitude: float | None = None, longitude: float | None = None,
                radius_m: int | None = None,
                max_session_minutes: int | None = DEFAULT_MAX_SESSION_MINUTES,
                active: bool = True, now: dt.datetime | None = None) -> Site:
    """A new site of the actor's unit, with a fresh poster token."""
    begin_write(session)
    values, errors = _clean({
        "name_zh": name_zh, "name_en": name_en, "address": address, "latitude": latitude,
        "longitude": longitude, "radius_m": radius_m,
        "max_session_minutes": max_session_minutes, "active": active,
    })
    one_writer_per(session, Unit, actor.unit_id)
    if not errors and _name_taken(session, actor.unit_id, values["name_zh"]):
        errors["name_zh"] = "name_taken"
    if errors:
        raise InvalidSite(errors)
    site = Site(unit_id=actor.unit_id, token=new_site_token(), **values)
    session.add(site)
    session.flush()
    audit.record(session, action="site_create", entity="site", entity_id=site.id, actor=actor,
                 after=snapshot(site), now=now)
    return site


def update_site(session: Session, site: Site, actor, *, now: dt.datetime | None = None,
                **changes) -> Site:
    """Change a site's names, address, presence check, session limit or whether it is in use.
    The token stays: printed posters keep working."""
    begin_write(session)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a site field: {', '.join(sorted(unknown))}")
    if site.unit_id != actor.unit_id:
        raise PermissionError("site of another unit")
    values, errors = _clean({**{name: getattr(site, name) for name in FIELDS}, **changes})
    one_writer_per(session, Unit, site.unit_id)
    if not errors and _name_taken(session, site.unit_id, values["name_zh"], but=site.id):
        errors["name_zh"] = "name_taken"
    if errors:
        raise InvalidSite(errors)
    before = snapshot(site)
    for name, value in values.items():
        setattr(site, name, value)
    session.flush()
    audit.record(session, action="site_update", entity="site", entity_id=site.id, actor=actor,
                 before=before, after=snapshot(site), now=now)
    return site


def regenerate_site_token(session: Session, site: Site, actor,
                          now: dt.datetime | None = None) -> str:
    """Give the site a new opaque token: posters printed before stop working at once."""
    begin_write(session)
    if site.unit_id != actor.unit_id:
        raise PermissionError("site of another unit")
    before = snapshot(site)
    site.token = new_site_token()
    session.flush()
    audit.record(session, action="site_token_regenerate", entity="site", entity_id=site.id,
                 actor=actor, before=before, after=snapshot(site), now=now)
    return site.token


_SITE_BY_TOKEN = select(Site).where(Site.token == bindparam("token"))  # every check-in asks


def site_by_token(session: Session, token: str | None) -> Site | None:
    """The site a poster's token belongs to; None for an unknown, old or inactive site's token."""
    if not token or len(token) > 40:
        return None
    site = session.scalar(_SITE_BY_TOKEN, {"token": token})
    if site is None or not site.active:
        return None
    return site


def sites_of(session: Session, unit_id: int, include_inactive: bool = True) -> list[Site]:
    """The unit's sites, those in use first, by Chinese name."""
    query = select(Site).where(Site.unit_id == unit_id)
    if not include_inactive:
        query = query.where(Site.active.is_(True))
    return list(session.scalars(query.order_by(Site.active.desc(), Site.name_zh, Site.id)))
