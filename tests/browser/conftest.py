"""Browser fixtures: a live server per test, one Chromium per session, a fresh context per page.

Chromium is Debian's (/usr/bin/chromium): `playwright install` cannot download browsers here.
When it is missing the tests fail (they are part of the CI test command), they never skip.

    live_server        the test's app (tests/conftest.py `app`) served on 127.0.0.1:<free port>
    phone / tablet     a page at 360x740 (mobile, touch) / 1024x768, locale zh-TW
    open_page(size)    another page in a new context (a second person, another device)
    sign_in(page, email, password)   through the real sign-in form
    screenshot(page, name)           tests/browser/screenshots/<name>.png (git-ignored); a failed
                                     test leaves FAILED-<test>-<n>.png of each of its pages there
    assert_fits_phone(page)          no sideways scrolling at 360 px (tables=True: not even
                                     inside a table's card)
    assert_touch_targets(page)       every visible link, button and field at least 48 px tall
    in_menu(page, role, name)        a link or button of the main menu, "More" opened if it is under it

Every page records uncaught script errors and console errors (a CSP violation is one); a test
fails when there are any it did not expect. `page.allow_console_error(text)` allows those
containing `text`.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import ThreadedWSGIServer

from tests.factories import Factories

CHROMIUM = os.environ.get("HOURBOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The PostgreSQL pass runs beside the SQLite one (./dev test): its screenshots go to a folder of
# their own so that the two never write the same file at once.
SCREENSHOTS = Path(__file__).parent / "screenshots"
if os.environ.get("HOURBOOK_TEST_DB", "sqlite") != "sqlite":
    SCREENSHOTS = SCREENSHOTS / os.environ["HOURBOOK_TEST_DB"]
TIMEOUT_MS = 10_000

SIZES = {
    "phone": {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
    "tablet": {"viewport": {"width": 1024, "height": 768}, "device_scale_factor": 1,
               "is_mobile": False, "has_touch": True},
    "tablet-portrait": {"viewport": {"width": 768, "height": 1024}, "device_scale_factor": 1,
                        "is_mobile": False, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1,
                "is_mobile": False, "has_touch": False},
}


class _AnsweringServer(ThreadedWSGIServer):
    """Werkzeug's threaded server that knows how many connections it is still answering."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.answering = 0
        self.changed = threading.Condition()

    def process_request_thread(self, request, client_address):
        with self.changed:
            self.answering += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.changed:
                self.answering -= 1
                self.changed.notify_all()


class LiveServer:
    """A werkzeug server in a background thread; `url` is its http://127.0.0.1:<port>."""

    def __init__(self, app):
        self.server = _AnsweringServer("127.0.0.1", 0, app)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name=f"live-server-{self.server.server_port}", daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, then wait for the requests still being answered: the app's engine is
        disposed next, and a request that took a database connection after that would leave it
        open in a pool nobody closes (on PostgreSQL, psycopg's ResourceWarning when it is
        garbage-collected, blamed on whichever later test is running)."""
        self.server.shutdown()
        with self.server.changed:
            done = self.server.changed.wait_for(lambda: self.server.answering == 0, timeout=15)
        self.server.server_close()
        self.thread.join(timeout=10)
        if not done:
            pytest.fail(f"the live server was still answering {self.server.answering} "
                        "connection(s) 15 s after the test", pytrace=False)


@pytest.fixture
def live_server(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium "
                    "(./dev setup does) — the browser tests are part of the test suite", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """Uncaught errors and console errors of one page, minus the ones a test said to expect."""

    def __init__(self, page: Page):
        self.seen: list[str] = []
        self.expected: list[str] = []
        page.on("pageerror", lambda error: self.seen.append(f"uncaught: {error}"))
        page.on("console", lambda msg: msg.type == "error" and self.seen.append(f"console: {msg.text}"))

    def unexpected(self) -> list[str]:
        return [p for p in self.seen if not any(e in p for e in self.expected)]


@pytest.fixture
def open_page(request, browser, live_server):
    """open_page("phone" | "tablet" | "tablet-portrait", locale="zh-TW") -> a Page in a context of its own."""
    opened: list[tuple] = []

    def open_(size: str = "phone", locale: str = "zh-TW") -> Page:
        context = browser.new_context(base_url=live_server.url, locale=locale,
                                      timezone_id="Asia/Taipei", **SIZES[size])
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        problems = PageProblems(page)
        page.allow_console_error = problems.expected.append
        opened.append((context, page, problems))
        return page

    yield open_
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    problems = []
    for n, (context, page, found) in enumerate(opened):
        failure_shot = SCREENSHOTS / f"FAILED-{request.node.name}-{n}.png"
        if failed and not page.is_closed():
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=failure_shot, full_page=True)
        elif not failed:
            failure_shot.unlink(missing_ok=True)  # an old failure's picture would only mislead
        problems += found.unexpected()
        context.close()
    if problems and not failed:
        pytest.fail("browser errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def phone(open_page) -> Page:
    return open_page("phone")


@pytest.fixture
def tablet(open_page) -> Page:
    return open_page("tablet")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report  # open_page keeps a screenshot of pages of failed tests
    return report


def sign_in(page: Page, email: str, password: str = Factories.PASSWORD, *, expect: str | None = "/",
            settle: bool = False) -> Page:
    """Sign in through the real form and wait for the answer; check the browser landed on the
    path `expect` (None: don't check, e.g. for a wrong password). `settle`: first wait until the
    page's own requests are done (the service worker's), whose answers, computed from the cookie
    before signing in, could land after the sign-in's and put that session back."""
    page.goto("/sign-in")
    if settle:
        page.wait_for_load_state("networkidle")
    form = page.locator("main form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    if expect is not None:
        assert path_of(page) == expect, f"after signing in the browser is at {page.url}"
    return page


def in_menu(page: Page, role: str, name: str, **kw):
    """The main menu's link (or button: signing out) `name`: in the bar, or under "More",
    which is opened then (_nav.html: which links stand in the bar depends on the width)."""
    nav = page.locator("nav.mainnav")
    target = nav.get_by_role(role, name=name, **kw)  # hidden ones (the other copy, a closed "More") do not count
    if not target.count():
        nav.locator("details.more > summary").click()
    return target


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def screenshot(page: Page, name: str) -> Path:
    """Whole-page screenshot kept for a person to look at (tests/browser/screenshots/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def _styled(page: Page) -> None:
    """Wait for the page's stylesheets: a layout measured before they arrive is the unstyled
    page (a slow 304 on a busy machine once made every link "24px tall")."""
    page.wait_for_load_state("load")
    page.wait_for_function("[...document.querySelectorAll('link[rel=stylesheet]')].every(l => l.sheet)")


def assert_fits_phone(page: Page, width: int = 360, *, tables: bool = False) -> None:
    """Nothing sticks out sideways: no horizontal scrolling at phone width. `tables`: no table
    scrolls sideways inside its card either (.table-wrap)."""
    _styled(page)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"page is {scroll}px wide at a {width}px viewport"
    if tables:
        wide = page.evaluate("""() => [...document.querySelectorAll('.table-wrap')]
            .filter(w => w.scrollWidth > w.clientWidth + 0.5)
            .map(w => `${w.scrollWidth}px in ${w.clientWidth}px: ${w.textContent.trim().slice(0, 40)}`)""")
        assert not wide, f"tables scroll sideways: {wide}"


def assert_touch_targets(page: Page, minimum: int = 48) -> None:
    """Every visible link, button and field is at least `minimum` px tall (a checkbox counts
    by its label)."""
    small = small_touch_targets(page, minimum)
    assert not small, "touch targets too small:\n" + "\n".join(small)


def small_touch_targets(page: Page, minimum: int = 48) -> list[str]:
    """The visible links, buttons and fields less than `minimum` px tall."""
    _styled(page)
    return page.evaluate("""(minimum) => {
        const found = [];
        const targets = document.querySelectorAll(
            'a, button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea, label.check');
        for (const el of targets) {
            if (el.matches('.skip')) continue;
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) continue;
            if (box.height < minimum - 0.5) {
                const name = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
                found.push(`${name} "${el.textContent.trim().slice(0, 30)}" is ${box.height}px tall`);
            }
        }
        return found;
    }""", minimum)
