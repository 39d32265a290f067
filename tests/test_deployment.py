"""Deployment: HTTPS (Secure cookies, HSTS), a reverse proxy (ProxyFix), rate limits shared by
several app processes through Redis, and a database that stops answering (503, not 500)."""
from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import HttpUser

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def make_app(monkeypatch):
    """make_app(database_url, **environment) → an app configured from that environment."""
    from webapp import create_app
    from webapp.extensions import limiter

    made = []

    def make(database_url, **env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app = create_app({"TESTING": True, "SECRET_KEY": "t-" + uuid.uuid4().hex,
                          "HOURBOOK_DATABASE_URL": database_url,
                          "RATELIMIT_STORAGE_URI": "memory://"})
        limiter.reset()
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["hourbook_db"]["engine"].dispose()


def test_behind_https_cookies_are_secure_and_hsts_is_sent(
        database_url, make_app, monkeypatch, make, unit):
    user = make.user(unit, role="admin")
    app = make_app(database_url, HOURBOOK_HTTPS="1")
    person = HttpUser(app.test_client())
    page = person.get("/sign-in", base_url="https://hourbook.example.tw")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    person.token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))[1]
    response = person.post("/sign-in", {"email": user.email, "password": make.PASSWORD,
                                        "remember": "y"}, base_url="https://hourbook.example.tw",
                           headers={"Referer": "https://hourbook.example.tw/sign-in"})
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = [c for c in cookies if c.startswith("session=")]
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert session_cookie and remember
    for cookie in session_cookie + remember:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_without_https_no_hsts_and_no_secure_cookie(
        database_url, make_app, monkeypatch, make, unit):
    user = make.user(unit, role="admin")
    monkeypatch.delenv("HOURBOOK_SECURE_COOKIES", raising=False)
    app = make_app(database_url, HOURBOOK_HTTPS="0")
    person = HttpUser(app.test_client())
    assert "Strict-Transport-Security" not in person.get("/sign-in").headers
    response = person.post("/sign-in", {"email": user.email, "password": make.PASSWORD})
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" not in cookie and "HttpOnly" in cookie


def _fail_sign_in(person: HttpUser, email: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "http"} if forwarded_for else {}
    return person.post("/sign-in", {"email": email, "password": "wrong-password"},
                       headers=headers).status_code


def test_behind_a_proxy_limits_count_the_client_address(
        database_url, make_app, monkeypatch, make, unit):
    """With HOURBOOK_PROXY_COUNT=1 the limit is per client behind the proxy: one client locked
    out does not lock out the next one."""
    user = make.user(unit, role="admin")
    app = make_app(database_url, HOURBOOK_PROXY_COUNT="1",
               HOURBOOK_LOGIN_LIMIT="3 per minute")
    person = HttpUser(app.test_client())
    assert [_fail_sign_in(person, user.email, "203.0.113.9") for _ in range(4)] == [401, 401, 401, 429]
    assert _fail_sign_in(person, user.email, "203.0.113.10") == 401
    ok = person.post("/sign-in", {"email": user.email, "password": make.PASSWORD},
                     headers={"X-Forwarded-For": "203.0.113.11"})
    assert ok.status_code == 302


def test_without_a_proxy_a_forged_forwarded_for_does_not_escape_the_limit(
        database_url, make_app, monkeypatch, make, unit):
    user = make.user(unit, role="admin")
    monkeypatch.delenv("HOURBOOK_PROXY_COUNT", raising=False)
    app = make_app(database_url, HOURBOOK_LOGIN_LIMIT="3 per minute")
    person = HttpUser(app.test_client())
    statuses = [_fail_sign_in(person, user.email, f"198.51.100.{i}") for i in range(4)]
    assert statuses == [401, 401, 401, 429]


def _database_down_url() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=2"


def test_a_database_that_does_not_answer_is_a_translated_503(make_app):
    app = make_app(_database_down_url())
    person = HttpUser(app.test_client())
    response = person.post("/sign-in", {"email": "a@b.tw", "password": "x" * 12})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.get_data(as_text=True)
    assert "系統忙碌或正在重新啟動" in body and "請重新整理頁面" in body
    english = person.post("/sign-in", {"email": "a@b.tw", "password": "x" * 12},
                          headers={"Accept-Language": "en"})
    assert english.status_code == 503
    assert "reload the page to see whether it was recorded" in english.get_data(as_text=True)


def test_an_ordinary_database_error_is_not_taken_for_an_outage():
    """Only a database that is away is retryable; a bug (a constraint, bad SQL) is not hidden."""
    from sqlalchemy.exc import IntegrityError

    from webapp.deployment import _is_unavailable

    class Orig(Exception):
        pass

    assert not _is_unavailable(IntegrityError("INSERT", {}, Orig("duplicate key value")))


# --- two app processes share their rate limits through Redis -----------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, database_url: str, prefix: str):
        self.port = _free_port()
        env = dict(os.environ, HOURBOOK_DATABASE_URL=database_url,
                   HOURBOOK_SECRET_KEY="shared-" + prefix,
                   HOURBOOK_RATELIMIT_STORAGE_URI=REDIS, HOURBOOK_RATELIMIT_KEY_PREFIX=prefix,
                   HOURBOOK_LOGIN_LIMIT="3 per minute")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{self.port}",
             "webapp:create_app()"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/sign-in", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode()[-2000:])
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def fail_sign_in(self, email: str) -> int:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"http://127.0.0.1:{self.port}/sign-in", timeout=10).read().decode()
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "email": email,
                                       "password": "wrong-password"}).encode()
        try:
            return opener.open(f"http://127.0.0.1:{self.port}/sign-in", data, timeout=10).status
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


def test_rate_limits_hold_across_app_processes_sharing_redis(database_url, make, unit, db):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    user = make.user(unit, role="admin")
    db.commit()
    prefix = f"hbtest-{os.getpid()}-{secrets.token_hex(4)}"
    one, two = Server(database_url, prefix), Server(database_url, prefix)
    try:
        # 3 per minute in all: alternate between the two processes
        statuses = [server.fail_sign_in(user.email) for server in (one, two, one, two, one)]
        assert statuses == [401, 401, 401, 429, 429]
        assert client.keys(f"*{prefix}*"), "the limits live in Redis under this run's prefix"
    finally:
        one.stop()
        two.stop()
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        client.close()
