"""The installable shell: manifest, icons, service worker, health check, cache rules."""
import re


def test_manifest_names_the_app_in_both_languages(anon):
    response = anon.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    data = response.get_json()
    assert "志工時數簿" in data["name"] and "Hourbook" in data["name"]
    assert data["display"] == "standalone" and data["theme_color"].startswith("#")
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        image = anon.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png"


def test_service_worker_caches_only_versioned_static_files(anon):
    response = anon.get("/sw.js")
    assert response.status_code == 200
    script = response.get_data(as_text=True)
    assert 'searchParams.has("v")' in script and "/static/" in script
    assert "no-cache" in response.headers["Cache-Control"]


def test_pages_link_versioned_assets_and_vendored_htmx(anon):
    page = anon.get("/sign-in").get_data(as_text=True)
    htmx = re.search(r'src="(/static/vendor/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]+)"', page)
    assert htmx, "htmx must come from our own static folder, versioned"
    assert anon.get(htmx.group(1)).status_code == 200
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()


def test_authenticated_pages_are_never_cached(admin):
    response = admin.get("/")
    assert response.headers["Cache-Control"] == "no-store"


def test_csrf_header_is_sent_on_every_htmx_request(admin):
    page = admin.get("/").get_data(as_text=True)
    assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', page)


def test_healthz_reports_database(anon):
    response = anon.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "reachable"}


def test_security_headers(anon):
    response = anon.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


def test_offline_page_is_public_and_in_both_languages(anon):
    """What the service worker shows for a page that cannot load offline (kept at install,
    fetched without cookies): nobody's data, and both languages whatever the browser asks."""
    for language in ("zh-TW", "en"):
        response = anon.get("/offline", headers={"Accept-Language": language})
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert '<section class="card offline" lang="zh-Hant-TW">' in page and "目前沒有網路連線" in page
        assert '<section class="card offline" lang="en">' in page and "No network connection" in page
        assert "櫃台的簽到站" in page and "the reception tablet" in page
        assert 'action="/language"' not in page  # no language switch: it would need the network
    script = anon.get("/sw.js").get_data(as_text=True)
    assert 'const OFFLINE_URL = "/offline"' in script and 'credentials: "omit"' in script
