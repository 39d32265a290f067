"""Walk the app the way its users can: a realistic unit (the demo unit plus a slip, an opening, a
kiosk) and, per role, every page that role may open.

Pages are found generically so new routes are covered without editing this file:
  * every GET route of the URL map without arguments that the role may use, and
  * every route whose arguments can be filled from the world (`World.args`, by argument name),
  * then every same-origin link found on those pages (crawled), one URL per endpoint.
Used by the accessibility walk (tests/browser/test_accessibility_browser.py), the hostile-input
tests (tests/test_hostile_input.py) and the user guide's screenshots.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from sqlalchemy import select

from models import kiosk as kiosks
from models.base import TAIPEI, utcnow
from models.demo import ADMIN_EMAIL, DEMO_PASSWORD, SUPERVISOR_EMAILS, seed_demo
from models.people import Role, User
from models.service import ServiceSession, SessionStatus, Site

# Endpoints never to open while walking: they end the walk's session or only stream files.
NOT_WALKED = {"auth.sign_out"}
FILE_SUFFIXES = (".pdf", ".svg", ".xlsx", ".csv", ".txt", ".js", ".webmanifest", ".png", ".json")


@dataclass
class World:
    """The demo unit and the ids/tokens a route's arguments may need."""
    unit_id: int
    emails: dict[str, str]
    password: str
    args: dict[str, str] = field(default_factory=dict)
    kiosk_code: str = ""


def build_world(db, volunteers: int = 8) -> World:
    now = utcnow()
    seed_demo(db, now=now, volunteers=volunteers)
    db.commit()
    admin = db.scalar(select(User).where(User.email == ADMIN_EMAIL))
    volunteer_user = db.scalar(select(User).where(User.email == "volunteer01@demo.hourbook.tw"))
    site = db.scalar(select(Site).where(Site.unit_id == admin.unit_id).order_by(Site.id))
    world = World(unit_id=admin.unit_id, password=DEMO_PASSWORD,
                  emails={"admin": ADMIN_EMAIL, "supervisor": SUPERVISOR_EMAILS[0],
                          "volunteer": volunteer_user.email})
    args: dict[str, object] = {"site_id": site.id, "token": site.token,
                               "volunteer_id": volunteer_user.volunteer.id, "user_id": admin.id,
                               "day": now.astimezone(TAIPEI).date().isoformat(), "fmt": "pdf"}
    # a slip for the first volunteer, over their verified sessions
    from models import slips

    today = now.astimezone(TAIPEI).date()
    issued = slips.issue_slips(db, admin, now, date_from=today - dt.timedelta(days=60), date_to=today,
                               volunteer_id=volunteer_user.volunteer.id)
    db.commit()
    if issued:
        args["slip_id"] = issued[0].id
    waiting = db.scalar(select(ServiceSession).where(
        ServiceSession.unit_id == admin.unit_id, ServiceSession.status == SessionStatus.closed,
        ServiceSession.site_id == site.id).order_by(ServiceSession.id))
    if waiting is not None:
        args["session_id"] = waiting.id
    # a completion certificate for the first volunteer: its number on the record-book page
    # ("completion certificate C001-2026-00001") is the longest line there at phone width
    from models import completion

    completion.issue_completion(db, volunteer_user.volunteer, actor=admin, now=now)
    db.commit()
    # a published opening anyone may apply to
    from models import openings

    opening = openings.save_opening(db, admin, now, title="長者陪伴志工招募",
                                    description="每週一次，陪伴長者聊天、散步。", wanted=5,
                                    status="published", site_ids=[site.id])
    db.commit()
    args.update(opening_id=opening.id, public_id=opening.public_id)
    # a kiosk for the first site: an enrolment code for the tablet
    device, code = kiosks.create_device(db, site=site, name="服務台平板", actor=admin, now=now)
    db.commit()
    args["device_id"] = device.id
    world.kiosk_code = code
    world.args = {k: str(v) for k, v in args.items()}
    return world


def may_use(access, role: Role | None) -> bool:
    if access == "public":
        return True
    if access == "device" or access is None:
        return False
    return role is not None and role in access


def seed_urls(app, world: World, role: Role | None, methods=("GET",)) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every route the role may use whose arguments the world can
    fill (routes without arguments always can)."""
    from webapp.access import access_of

    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or rule.endpoint.endswith(".static") or rule.endpoint in NOT_WALKED:
                continue
            if not may_use(access_of(rule.endpoint), role):
                continue
            names = list(rule.arguments)
            if any(name not in world.args for name in names):
                continue
            url = rule.build({n: world.args[n] for n in names}, append_unknown=False)[1]
            for method in sorted(rule.methods & set(methods)):
                found.append((rule.endpoint, method, url))
    return sorted(found, key=lambda f: f[2])


def endpoint_of(app, url: str, method: str = "GET") -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.match(urlsplit(url).path, method=method)[0]
    except Exception:
        return None


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links_in(html: str, base: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    out = []
    for href in parser.hrefs:
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "") or (parts.netloc and parts.netloc != urlsplit(base).netloc):
            continue
        if parts.path.endswith(FILE_SUFFIXES):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def is_full_page(html: str) -> bool:
    return bool(re.match(r"\s*<!doctype html", html, re.IGNORECASE))


def new_kiosk_code(db, world: World, name: str = "大廳平板") -> str:
    """Another kiosk for the world's first site; its one-time enrolment code. (A site's kiosks
    have names of their own: a second call gets "大廳平板 2".)"""
    from sqlalchemy import func

    admin = db.scalar(select(User).where(User.email == world.emails["admin"]))
    site = db.get(Site, int(world.args["site_id"]))
    taken = db.scalar(select(func.count()).select_from(kiosks.KioskDevice).where(
        kiosks.KioskDevice.site_id == site.id, kiosks.KioskDevice.name.startswith(name)))
    _device, code = kiosks.create_device(db, site=site, name=f"{name} {taken + 1}" if taken else name,
                                         actor=admin, now=utcnow())
    db.commit()
    return code
