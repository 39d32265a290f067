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
