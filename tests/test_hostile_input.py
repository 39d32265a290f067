"""Hostile input at every POST route (hypothesis): very long strings, control characters,
SQL/HTML/CSV-formula payloads, odd Unicode, wrong types (numbers for dates, lists for single
values, JSON bodies for forms, random bytes for files), missing fields.

For each kind of visitor (anonymous, volunteer, supervisor, admin, an enrolled kiosk tablet) the
test walks the URL map: every POST route the visitor may use, with its arguments filled from a
realistic unit (tests/walk.py). The field names posted are the ones the app itself uses: the
forms on every page the visitor can open (crawled, htmx fragments included) and the names the
view reads from request.form. New routes and forms are covered without editing this file.

Each request must
  * never answer 5xx;
  * when it is rejected (4xx, or the form shown again with an error) change nothing in the
    database (a checksum of every table, minus the columns that record attempts by design:
    the check-in event log, kiosk last-seen, PIN failure counters);
and at the end no page any role can open shows a payload unescaped.
"""
from __future__ import annotations

import hashlib
import inspect
import io
import json
import re
from urllib.parse import urljoin, urlsplit

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from models import Base
from models.access_log import ACCESS_ACTIONS
from models.people import Role
from tests.conftest import HttpUser
from tests.walk import build_world, endpoint_of, may_use, new_kiosk_code, seed_urls

EXAMPLES = 10  # per route and visitor: derandomized, so CI sees the same inputs every run

# Columns and tables that record an attempt by design, accepted or not.
ATTEMPT_RECORDS = {"checkin_event": None, "kiosk_device": {"last_seen_at"},
                   "volunteer": {"pin_failures", "pin_locked_until"}}
NOT_POSTED = {"auth.sign_out"}  # would end the walk's own session

class Long(str):
    """A long hostile string that prints short in a failure report."""

    def __repr__(self):
        return f"<{len(self)} × {self[:1]!r}>"


# What a payload would become if it were not escaped: an element, a script or an event handler.
# Escaped, the same text is harmless and may show (e.g. "&lt;img src=x onerror=alert(1)&gt;"),
# so pages are parsed as a browser would and checked for the markup itself.
HOSTILE_TAG = "hb-x"
HOSTILE_SCRIPT = "alert('hb')"
PAYLOADS = [
    "<script>alert('hb')</script>", '"><img src=x onerror=alert(1)>', "<hb-x>bold</hb-x>",
    "'; DROP TABLE volunteer; --", "1 OR 1=1", "' OR ''='", "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\x00", "a\x00b", "\r\n\t\x0b\x0c", "\x1b[31m",
    "\u202eevil\u202c", "\u200b\ufeff", "𠀀𩸽👩‍👩‍👧", "Ｚ̸̡̛͍ａ̴", "ﷺ" * 20, Long("A" * 5000), Long("臺" * 3000),
    "9" * 40, "-1", "0", "1e309", "NaN", "-0", "null", "[]", "{}", "true", "../../etc/passwd", "%00",
    "２０２６-０１-０１", "2026-02-30", "9999-12-31T23:59", "0000-00-00", "25:61", "1.5", " ",
]
VALUE = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.integers(min_value=-2**63, max_value=2**64).map(str),
)
JSON_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | VALUE,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(VALUE, inner, max_size=3),
                          max_leaves=6)


# --- what a route's form posts ------------------------------------------------------------------

FORM_READ = re.compile(r"""(?:form|args|files)(?:\.get|\.getlist|\[)\(?\s*["']([A-Za-z_][\w-]*)["']""")


class _Forms:
    """Fields of every <form> (by action) and the hx-get/href links of an HTML page."""

    def __init__(self, html: str, base: str):
        from html.parser import HTMLParser

        self.forms: dict[str, set[str]] = {}
        self.files: dict[str, set[str]] = {}
        self.links: list[str] = []
        state = {"action": None}
        outer = self

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                for key in ("href", "hx-get"):
                    if tag in ("a", "button", "form", "div", "tr", "section") and a.get(key):
                        outer.links.append(urljoin(base, a[key]))
                if tag == "form":
                    action = a.get("hx-post") or a.get("action") or base
                    state["action"] = urlsplit(urljoin(base, action)).path
                    outer.forms.setdefault(state["action"], set())
                elif tag in ("input", "select", "textarea", "button") and state["action"] and a.get("name"):
                    if a.get("name") != "csrf_token":
                        outer.forms[state["action"]].add(a["name"])
                    if a.get("type") == "file":
                        outer.files.setdefault(state["action"], set()).add(a["name"])
                if tag in ("button", "a") and a.get("hx-post"):
                    outer.forms.setdefault(urlsplit(urljoin(base, a["hx-post"])).path, set())

            def handle_endtag(self, tag):
                if tag == "form":
                    state["action"] = None

        P().feed(html)


def discover(app, person: HttpUser, world, role, start: str = "/") -> tuple[dict, dict, set[str]]:
    """Crawl the pages `person` can open; return {form action path: field names}, {path: file
    fields} and the HTML pages' URLs."""
    from webapp.access import access_of

    with app.test_request_context():
        access = {r.endpoint: access_of(r.endpoint) for r in app.url_map.iter_rules()}
    queue = [start] + [u for _e, _m, u in seed_urls(app, world, role)]
    seen: dict[str, int] = {}
    forms: dict[str, set[str]] = {}
    files: dict[str, set[str]] = {}
    pages: set[str] = set()
    while queue:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != "localhost":
            continue
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        endpoint = endpoint_of(app, parts.path)
        if endpoint is None or endpoint in ("auth.sign_out",) or not may_use(access.get(endpoint), role) \
                and access.get(endpoint) != "device":
            continue
        if seen.get(endpoint, 0) >= 3 or url in pages:  # a few URLs per endpoint (modes, filters)
            continue
        seen[endpoint] = seen.get(endpoint, 0) + 1
        response = person.get(url)
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        html = response.get_data(as_text=True)
        pages.add(url)
        found = _Forms(html, f"http://localhost{url}")
        for action, names in found.forms.items():
            forms.setdefault(action, set()).update(names)
        for action, names in found.files.items():
            files.setdefault(action, set()).update(names)
        queue += found.links
    return forms, files, pages


def post_targets(app, world, role, forms: dict, files: dict) -> list[tuple[str, str, list[str], list[str]]]:
    """(endpoint, url, field names, file fields) of every POST route the role may use."""
    from webapp.access import access_of

    targets = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.endpoint in NOT_POSTED:
                continue
            access = access_of(rule.endpoint)
            if not (may_use(access, role) or (role == "kiosk" and access == "device")):
                continue
            if role == "kiosk" and access != "device":
                continue
            args = {n: world.args.get(n, "1") for n in rule.arguments}
            url = rule.build(args, append_unknown=False)[1]
            names = set(forms.get(urlsplit(url).path, set()))
            view = app.view_functions[rule.endpoint]
            try:
                source = inspect.getsource(inspect.unwrap(view))
            except (OSError, TypeError):
                source = ""
            names |= set(FORM_READ.findall(source))
            names.discard("csrf_token")
            targets.append((rule.endpoint, url, sorted(names), sorted(files.get(urlsplit(url).path, set()))))
    return sorted(targets)


# --- the database before and after ----------------------------------------------------------------

def checksum(db) -> str:
    db.rollback()
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        skip = ATTEMPT_RECORDS.get(table.name, set())
        if table.name in ATTEMPT_RECORDS and skip is None:
            continue
        cols = [c for c in table.columns if c.name not in skip]
        pk = list(table.primary_key.columns) or cols[:1]
        query = select(*cols).order_by(*pk)
        if table.name == "audit_entry":
            # a refused form that shows a full ID number again is a view, and views are logged
            # (models.access_log) by design: not a change
            query = query.where(table.c.action.not_in(list(ACCESS_ACTIONS)))
        for row in db.execute(query):
            digest.update(repr(tuple(row)).encode())
        digest.update(f"|{table.name}|".encode())
    db.rollback()
    return digest.hexdigest()


def rejected(response) -> bool:
    if response.status_code >= 400:
        return True
    if response.status_code == 200 and "text/html" in response.headers.get("Content-Type", ""):
        body = response.get_data(as_text=True)
        return 'class="error"' in body or "has-error" in body or 'role="alert"' in body
    return False


# --- the walk -------------------------------------------------------------------------------------

@st.composite
def request_for(draw, names: list[str], file_fields: list[str]):
    """A hostile request: ("form", data) with some fields missing, doubled or extra, or
    ("json", body) — the wrong type altogether."""
    if draw(st.integers(0, 9)) == 0:
        return "json", draw(st.dictionaries(st.sampled_from(names or ["x"]) | VALUE, JSON_VALUE, max_size=4))
    data: dict[str, object] = {}
    for name in names:
        choice = draw(st.integers(0, 5))
        if choice == 0:
            continue  # missing
        data[name] = [draw(VALUE), draw(VALUE)] if choice == 1 else draw(VALUE)
    if draw(st.booleans()):
        data[draw(VALUE) or "extra"] = draw(VALUE)
    for name in file_fields:
        content = draw(st.sampled_from([b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"=cmd|' /C calc'!A0",
                                        b"<script>alert(1)</script>", bytes(range(256))]))
        filename = draw(st.sampled_from(["x.png", "../../x.xlsx", "a\x00b.jpg", "臺.csv", ""]))
        data[name] = (io.BytesIO(content), filename)
    return "form", data


def hostile_round(app, db, person: HttpUser, targets, label: str) -> None:
    problems: list[str] = []

    # no shrinking: a failure names the route and shows the request; shrinking a walk of every
    # route would take minutes
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        before = checksum(db)
        for endpoint, url, names, file_fields in targets:
            kind, payload = data.draw(request_for(names, file_fields), label=endpoint)
            headers = {"X-CSRFToken": person.token}
            if kind == "json":
                response = person.client.post(url, json=payload, headers=headers)
            else:
                payload.setdefault("csrf_token", person.token)
                response = person.client.post(url, data=payload, headers=headers)
            response.get_data()
            response.close()
            after = checksum(db)
            shown = repr(payload)[:300]
            assert response.status_code < 500, f"{label} {endpoint} {url}: {response.status_code} for {shown}"
            if rejected(response) and after != before:
                raise AssertionError(f"{label} {endpoint} {url}: rejected ({response.status_code}) "
                                     f"but the database changed, for {shown}")
            before = after

    run()
    assert not problems


def assert_escaped(person: HttpUser, pages: set[str], label: str) -> None:
    for url in sorted(pages):
        response = person.get(url)
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        found = injected_markup(response.get_data(as_text=True))
        assert not found, f"{label} {url} shows payload markup unescaped: {found}"


def injected_markup(html: str) -> list[str]:
    """Elements, scripts and event-handler attributes that only an unescaped payload makes."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        in_script = False

        def handle_starttag(self, tag, attrs):
            if tag == HOSTILE_TAG:
                found.append(f"<{tag}>")
            found.extend(f"<{tag} {name}=...>" for name, _value in attrs
                         if name.startswith("on"))
            self.in_script = tag == "script"

        def handle_endtag(self, tag):
            self.in_script = False

        def handle_data(self, data):
            if self.in_script and HOSTILE_SCRIPT in data:
                found.append("<script>alert('hb')")

    Parser(convert_charrefs=True).feed(html)
    return found


def test_markup_check_tells_escaped_text_from_markup():
    from markupsafe import escape

    for payload in PAYLOADS[:3]:
        assert injected_markup(f"<p>{escape(payload)}</p>") == []
        assert injected_markup(f"<p>{payload}</p>"), payload


def signed_in(app, email, password) -> HttpUser:
    from webapp.extensions import limiter

    limiter.reset()  # the hostile sign-in attempts before used up the rate limit
    person = HttpUser(app.test_client())
    assert person.sign_in(email, password).status_code == 302
    return person


def test_hostile_input_at_every_post_route(app, db):
    world = build_world(db)
    visitors = {"anonymous": None, "volunteer": Role.volunteer, "supervisor": Role.supervisor,
                "admin": Role.admin}
    people = {}
    all_pages: dict[str, set[str]] = {}
    for label, role in visitors.items():
        if role is None:
            person = HttpUser(app.test_client())
            person.refresh_token("/sign-in")
        else:
            person = signed_in(app, world.emails[label], world.password)
        forms, files, pages = discover(app, person, world, role, start="/sign-in" if role is None else "/")
        targets = post_targets(app, world, role, forms, files)
        if role is None:  # signing in with hostile input would start a session: keep it last
            targets.sort(key=lambda t: t[0] == "auth.sign_in")
        assert len(targets) >= 3, f"{label}: only {targets} found"
        hostile_round(app, db, person, targets, label)
        people[label] = person
        all_pages[label] = pages

    # the kiosk tablet: enrol through its page, then its device endpoints
    kiosk = HttpUser(app.test_client())
    code = new_kiosk_code(db, world)  # the anonymous round may have used the world's code
    kiosk.refresh_token(f"/kiosk/enrol/{code}")
    assert kiosk.post(f"/kiosk/enrol/{code}").status_code in (302, 303)
    kiosk.refresh_token("/kiosk")
    forms, files, _pages = discover(app, kiosk, world, "kiosk", start="/kiosk")
    targets = post_targets(app, world, "kiosk", forms, files)
    assert {t[0] for t in targets} >= {"kiosk.tablet_identify", "kiosk.tablet_act", "kiosk.tablet_sync"}
    hostile_round(app, db, kiosk, targets, "kiosk")

    # whatever was accepted is shown escaped on every page of every role
    for label, person in people.items():
        if label == "anonymous":
            continue
        fresh = signed_in(app, world.emails[label], world.password)  # hostile posts may have changed
        assert_escaped(fresh, all_pages[label], label)               # the language or signed out


def test_nul_characters_are_refused_before_any_query(anon, supervisor):
    """PostgreSQL refuses NUL in any text: a query string, form field or path with one is a 400
    page, never a 500; the same request without it works."""
    assert supervisor.get("/dashboard/?volunteer=a%00b").status_code == 400
    assert supervisor.get("/dashboard/?volunteer=ab").status_code == 200
    refused = supervisor.post("/dashboard/bulk-approve", {"volunteer": "a\x00b"})
    assert refused.status_code == 400
    assert "這個網址不接受這種請求。" in refused.get_data(as_text=True)  # a translated page
    assert anon.get("/openings/a%00b").status_code == 400


def test_a_json_body_is_refused_not_read_as_a_form(supervisor):
    response = supervisor.client.post("/dashboard/bulk-approve", json={"volunteer": ["1", {"x": 1}]},
                                      headers={"X-CSRFToken": supervisor.token})
    assert response.status_code == 415


# --- numbers and dates no person types, in the address and the query string ---------------------

HUGE = "99999999999999999999"  # beyond every database's INTEGER
DATE_NAMES = ("as_of", "from", "to", "on", "day", "date_from", "date_to")
NUMBER_NAMES = ("year", "before", "volunteer_id", "volunteer", "site", "ids", "first", "last",
                "offset")
# every query parameter the app reads, set at once: dates in the year 9999, in the year 1, and
# 20-digit numbers (one request each, so a whole walk stays quick)
EXTREMES = {
    "dates in 9999": {**{n: "9999-12-31" for n in DATE_NAMES}, "month": "9999-12", "period": "range"},
    "dates in year 1": {**{n: "0001-01-01" for n in DATE_NAMES}, "month": "0001-01", "period": "range"},
    "huge numbers": {**{n: HUGE for n in NUMBER_NAMES}, "year": "9999"},
}


def test_a_huge_number_in_the_address_is_no_such_page(app):
    """Every <int:...> of every route: a 20-digit number is a 404 (routing), never an overflow
    inside a query; anonymous, before any sign-in, so no route is missed."""
    client = app.test_client()
    checked = 0
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            ints = [n for n, conv in rule._converters.items() if conv.__class__.__name__ == "RowNumber"]
            if not ints:
                continue
            values = {n: (HUGE if n in ints else "x") for n in rule.arguments}
            path = rule.build(values, append_unknown=False)[1]
            method = "GET" if "GET" in rule.methods else "POST"
            assert client.open(path, method=method).status_code in (404, 405), path
            checked += 1
    assert checked > 40


def test_extreme_dates_and_numbers_in_the_query_are_refused_in_words(app, db):
    """Every page an admin opens, with the query parameters the app reads set to dates in the
    year 1 or 9999 or to 20-digit numbers: an answer, never a server error."""
    world = build_world(db)
    admin = signed_in(app, world.emails["admin"], world.password)
    urls = [url for _endpoint, _method, url in seed_urls(app, world, Role.admin)]
    assert len(urls) > 60
    for url in urls:
        for kind, params in EXTREMES.items():
            query = "&".join(f"{k}={v}" for k, v in params.items())
            response = admin.get(f"{url}{'&' if '?' in url else '?'}{query}")
            assert response.status_code < 500, (url, kind)
