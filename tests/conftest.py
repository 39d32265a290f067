"""Shared fixtures: a migrated database (SQLite file or a PostgreSQL schema of its own),
the app, HTTP users signed in through the real sign-in form, and factories.

Backend: HOURBOOK_TEST_DB=sqlite (default) or postgresql
(HOURBOOK_TEST_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""
from __future__ import annotations

import os
import re
import secrets
import uuid

import pytest
from sqlalchemy import create_engine, text

from models import Base, migrate, people
from tests.factories import Factories

BACKEND = os.environ.get("HOURBOOK_TEST_DB", "sqlite")
PG_URL = os.environ.get("HOURBOOK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashes: the suite tests behaviour, not scrypt


def pytest_report_header(config):
    return f"hourbook database backend: {BACKEND}"


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hourbook-test.db'}"
        migrate.upgrade(url)
        yield url
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError("HOURBOOK_TEST_DB must be sqlite or postgresql")
    schema = f"hbtest_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _pg_schema_url(schema)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _empty_all_tables(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app(database_url):
    from webapp import create_app
    from webapp.extensions import limiter

    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
        "HOURBOOK_DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": "memory://",
    })
    limiter.reset()
    yield app
    engine = app.extensions["hourbook_db"]["engine"]
    _empty_all_tables(engine)
    engine.dispose()


@pytest.fixture
def db(app):
    """A session of the app's own sessionmaker, outside any request."""
    session = app.extensions["hourbook_db"]["sessionmaker"]()
    yield session
    session.close()


@pytest.fixture
def make(db):
    return Factories(db)


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class HttpUser:
    """A person using the app over real HTTP (Flask's test client), CSRF token and all."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def refresh_token(self, url: str = "/sign-in") -> str:
        page = self.client.get(url).get_data(as_text=True)
        match = CSRF_META.search(page)
        assert match, f"no CSRF token on {url}"
        self.token = match.group(1)
        return self.token

    @staticmethod
    def _done(response):
        response.get_data()  # buffer the body, then release files held by send_file
        response.close()
        return response

    def get(self, url, **kw):
        return self._done(self.client.get(url, **kw))

    def post(self, url, data=None, hx=False, **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if hx:
            headers["HX-Request"] = "true"
        data = dict(data or {})
        if self.token is None:
            self.refresh_token()
        if hx:
            headers.setdefault("X-CSRFToken", self.token)
        else:
            data.setdefault("csrf_token", self.token)
        return self._done(self.client.post(url, data=data, headers=headers, **kw))

    def sign_in(self, email: str, password: str, remember: bool = False, next_url: str | None = None):
        self.refresh_token("/sign-in")
        url = "/sign-in" + (f"?next={next_url}" if next_url else "")
        response = self.post(url, {"email": email, "password": password,
                                   **({"remember": "y"} if remember else {})})
        if response.status_code == 302:
            self.refresh_token("/")  # sign-in starts a fresh session with a fresh token
        return response


@pytest.fixture
def anon(app):
    return HttpUser(app.test_client())


@pytest.fixture
def unit(make):
    return make.unit()


def _signed_in(app, make, unit, role):
    user = make.user(unit, role=role)
    person = HttpUser(app.test_client())
    response = person.sign_in(user.email, make.PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    person.user = user
    return person


@pytest.fixture
def admin(app, make, unit):
    return _signed_in(app, make, unit, "admin")


@pytest.fixture
def supervisor(app, make, unit):
    return _signed_in(app, make, unit, "supervisor")


@pytest.fixture
def volunteer(app, make, unit):
    return _signed_in(app, make, unit, "volunteer")


class Inbox:
    """What a real SMTP server on 127.0.0.1 (aiosmtpd) received: (recipients, message)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((sorted(envelope.rcpt_tos), msg))
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_inbox(app, monkeypatch):
    """A real SMTP server for the app (webapp/mail.py settings), no TLS; its Inbox."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    for key, value in {"HOURBOOK_SMTP_HOST": "127.0.0.1", "HOURBOOK_SMTP_PORT": str(controller.port),
                       "HOURBOOK_SMTP_STARTTLS": "0", "HOURBOOK_SMTP_FROM": "hourbook@example.tw"}.items():
        monkeypatch.setitem(app.config, key, value)
    yield inbox
    controller.stop()
