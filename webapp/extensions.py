"""Extensions, created once here and init_app'ed in the factory."""
from __future__ import annotations

from flask import Flask, current_app, g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect as _CSRFProtect
from sqlalchemy.orm import Session

from models.base import make_engine, make_sessionmaker



class CSRFProtect(_CSRFProtect):
    """Flask-WTF's CSRF protection; a POST's answer reuses the token the request just proved.

    The token is a signature of the session's secret, and any valid one will do: an htmx answer
    (the check-in panel) puts the same token back in its forms instead of signing a fresh one
    for every POST (csrf_token() in a template signs once per request)."""

    def protect(self, apply_exemptions=False):
        super().protect(apply_exemptions)
        if g.get("csrf_valid") and "csrf_token" not in g:
            g.csrf_token = self._get_csrf_token()


login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class Database:
    """One engine per app; one SQLAlchemy Session per app context (request, CLI command)."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["HOURBOOK_DATABASE_URL"])
        app.extensions["hourbook_db"] = {"engine": engine, "sessionmaker": make_sessionmaker(engine)}
        app.teardown_appcontext(self._close)

    @property
    def engine(self):
        return current_app.extensions["hourbook_db"]["engine"]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = current_app.extensions["hourbook_db"]["sessionmaker"]()
        return g.db_session

    @staticmethod
    def _close(_exc) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()


def writes_late(view):
    """Mark a view whose domain functions take the write lock themselves (models.base.begin_write)
    after the request's reads: the user, the site and the CSRF check then run outside SQLite's
    write lock, which is held only for the domain's own reads and writes. Only for views whose
    every write goes through such a function (begin_write refuses changes made before it)."""
    view.hourbook_writes_late = True
    return view
