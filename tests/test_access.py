"""Every route declares who may use it; this walks the whole URL map to prove it holds."""
import pytest

from models.people import Role
from webapp.access import access_of

# Endpoints whose URL needs values: a harmless sample for each converter.
SAMPLE_ARGS = {"int": "1", "string": "x", "path": "x", "default": "x"}


def _routes(app):
    # sign-out last, or it would end the walk's session half-way
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint == "auth.sign_out")
    for rule in rules:
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        args = {name: SAMPLE_ARGS.get(type(conv).__name__.replace("Converter", "").lower(), "1")
                for name, conv in rule._converters.items()}
        url = rule.build(args)[1] if args else rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_view_declares_its_access(app):
    with app.test_request_context():
        undeclared = [ep for ep, _m, _u in _routes(app) if access_of(ep) is None]
    assert undeclared == []


@pytest.mark.parametrize("role", [None, *Role])
def test_each_role_gets_exactly_the_routes_it_may_use(app, make, unit, role):
    from tests.conftest import HttpUser

    person = HttpUser(app.test_client())
    if role is not None:
        user = make.user(unit, role=role.value)
        assert person.sign_in(user.email, make.PASSWORD).status_code == 302
    person.refresh_token("/sign-in" if role is None else "/")
    checked = 0
    for endpoint, method, url in _routes(app):
        with app.test_request_context():
            access = access_of(endpoint)
        if access in ("public", "device"):
            continue
        if method == "GET":
            response = person.get(url)
        else:
            response = person.client.open(url, method=method, headers={"X-CSRFToken": person.token})
        checked += 1
        if role is None:
            assert response.status_code == 302, (endpoint, method)
            assert response.headers["Location"].startswith("/sign-in"), endpoint
        elif role in access:
            assert response.status_code not in (401, 403), (endpoint, method, response.status_code)
        else:
            assert response.status_code == 403, (endpoint, method, role, response.status_code)
    assert checked > 0


def test_wrong_role_gets_translated_403(admin):
    response = admin.get("/me/card")  # a volunteer's own page
    assert response.status_code == 403
    assert "沒有權限" in response.get_data(as_text=True)


def test_unknown_route_gets_translated_404(anon):
    response = anon.get("/no/such/page")
    assert response.status_code == 404
    assert "找不到這個頁面" in response.get_data(as_text=True)
    english = anon.get("/no/such/page", headers={"Accept-Language": "en"})
    assert "Page not found" in english.get_data(as_text=True)


def test_volunteer_cannot_see_staff_home_data(app, make, unit, volunteer):
    make.volunteer(unit, name_zh="別人的名字")
    page = volunteer.get("/").get_data(as_text=True)
    assert "別人的名字" not in page
    assert volunteer.user.volunteer.name_zh in page


def test_an_enrolled_kiosk_reaches_only_its_own_routes(app, db, make, unit):
    """The tablet at reception holds a device cookie and no staff session: every route that is
    not public and not the kiosk's own sends it to sign in, like an anonymous visitor."""
    from models import kiosk as kiosks
    from models.base import utcnow
    from tests.test_kiosk_tablet import enrol

    site, admin = make.site(unit), make.user(unit, role="admin")
    _device, code = kiosks.create_device(db, site=site, name="服務台平板", actor=admin, now=utcnow())
    db.commit()
    tablet = enrol(app, code)
    checked = 0
    for endpoint, method, url in _routes(app):
        with app.test_request_context():
            access = access_of(endpoint)
        if access in ("public", "device") or endpoint == "auth.sign_out":
            continue
        response = tablet.client.open(url, method=method, headers={"X-CSRFToken": tablet.token})
        checked += 1
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith("/sign-in"), endpoint
    assert checked > 50
    assert tablet.get("/kiosk").status_code == 200  # and the kiosk itself still works


# Route arguments that name something belonging to one site, and how to fill them with the
# things of `world` below. A route whose every argument is here is walked automatically.
SITE_SCOPED_ARGS = {"session_id", "shift_id", "day", "site_id", "fmt", "slip_id", "year", "volunteer_id"}


@pytest.mark.parametrize("whose", ["other_site", "own_site"])
def test_a_supervisor_of_another_site_gets_nothing_of_this_site(app, db, make, unit, whose):
    """Every route taking a session, shift, site, slip or (evaluation) volunteer of site A: a
    supervisor of site B only gets 403/404 on all of them; a supervisor of site A gets the pages."""
    import datetime as dt

    from models.attendance import Repeat, Shift
    from models.base import TAIPEI, utcnow
    from models.service import ServiceSession, SessionSource, SessionStatus
    from models.slips import issue_slips
    from models.verification import SupervisorSite
    from tests.conftest import HttpUser

    site_a, site_b, item = make.site(unit), make.site(unit), make.item(unit)
    admin = make.user(unit, role="admin")
    vol = make.volunteer(unit, insured=True)
    day = dt.date(2026, 3, 2)
    start = dt.datetime.combine(day, dt.time(9), tzinfo=TAIPEI)
    common = dict(unit_id=unit.id, volunteer_id=vol.id, site_id=site_a.id, service_item_id=item.id,
                  source=SessionSource.poster)
    slipped = ServiceSession(**common, checked_in_at=start, checked_out_at=start + dt.timedelta(hours=2),
                             status=SessionStatus.verified, credited_minutes=120)
    queued = ServiceSession(**common, checked_in_at=start + dt.timedelta(hours=3),
                            checked_out_at=start + dt.timedelta(hours=4), status=SessionStatus.closed)
    shift = Shift(unit_id=unit.id, site_id=site_a.id, service_item_id=item.id, volunteer_id=vol.id,
                  repeat=Repeat.once, starts_on=day, start_time=dt.time(9), end_time=dt.time(11))
    db.add_all([slipped, queued, shift])
    db.commit()
    [slip] = issue_slips(db, admin, utcnow(), date_from=day, date_to=day)
    supervisor = make.user(unit, role="supervisor")
    db.add(SupervisorSite(user_id=supervisor.id, site_id=(site_b if whose == "other_site" else site_a).id))
    db.commit()
    values = {"session_id": queued.id, "shift_id": shift.id, "day": day.isoformat(),
              "site_id": site_a.id, "fmt": "csv", "slip_id": slip.id, "year": day.year,
              "volunteer_id": vol.id}

    person = HttpUser(app.test_client())
    assert person.sign_in(supervisor.email, make.PASSWORD).status_code == 302
    person.refresh_token("/")
    walked = []
    for rule in app.url_map.iter_rules():
        names = set(rule.arguments)
        if not names or not names <= SITE_SCOPED_ARGS:
            continue
        if "volunteer_id" in names and not rule.rule.startswith("/evaluation/"):
            continue  # insurance and training records are the unit's, open to every supervisor
        with app.test_request_context():
            access = access_of(rule.endpoint)
        if access in ("public", "device") or Role.supervisor not in access:
            continue
        url = rule.build({n: values[n] for n in names})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = person.get(url)
            else:
                response = person.client.open(url, method=method, headers={"X-CSRFToken": person.token})
            walked.append((rule.endpoint, method, response.status_code))
    assert len({ep for ep, _m, _s in walked}) >= 12, walked  # dashboard, attendance, slips, evaluation
    if whose == "other_site":
        assert all(status in (403, 404) for _ep, _m, status in walked), walked
    else:  # the control: the same pages open for the site's own supervisor
        gets = [(ep, status) for ep, m, status in walked if m == "GET"]
        assert all(status in (200, 302) for _ep, status in gets), gets
        assert sum(status == 200 for _ep, status in gets) >= 8, gets
