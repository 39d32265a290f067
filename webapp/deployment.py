"""Running behind a reverse proxy and over HTTPS, and staying up while the database is not.

- HOURBOOK_PROXY_COUNT=n: trust n proxies' X-Forwarded-For/-Proto/-Host/-Port (ProxyFix), so
  rate limits see the client's address and url_for builds https:// links. 0 (default): trust
  none — never set it without a proxy in front, or anyone could fake their address.
- HOURBOOK_HTTPS=1: the site is served over HTTPS only: Secure cookies (see config.py) and
  Strict-Transport-Security on every response.
- A database that does not answer (restart, failover, SQLite lock timeout) is a 503 with
  Retry-After and a translated "try again" page, not a 500; the engine's
  pool_pre_ping replaces dead connections, so the app recovers by itself.
"""
from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    count = int(app.config.get("HOURBOOK_PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count,
                                x_port=count)

    @app.after_request
    def strict_transport(response):
        if app.config.get("HOURBOOK_HTTPS"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(error):
        if isinstance(error, DBAPIError) and not _is_unavailable(error):
            raise error
        log.warning("database unavailable: %s", str(error).splitlines()[0][:300])
        _forget_session()
        g.no_store = True
        title = _("Please try again")
        message = _("The system is busy or restarting. Please try again in a moment; if you "
                    "were checking in or out, reload the page to see whether it was recorded.")
        headers = {"Retry-After": "5"}
        try:
            template = "errors/_error.html" if request.headers.get("HX-Request") else \
                "errors/error.html"
            body = render_template(template, status=503, title=title, message=message)
        except Exception:  # the page itself may need the database (the signed-in user)
            _forget_session()
            body = render_template("errors/_error.html", status=503, title=title, message=message)
        return body, 503, headers


def _is_unavailable(error: DBAPIError) -> bool:
    """Connection lost/refused, server shutting down, SQLite busy: retryable, not a bug."""
    if isinstance(error, OperationalError) or error.connection_invalidated:
        return True
    text = str(getattr(error, "orig", error)).lower()
    return any(s in text for s in ("server closed the connection", "terminating connection",
                                   "connection refused", "the database system is",
                                   "database is locked", "consuming input failed"))


def _forget_session() -> None:
    """Roll back and drop the request's session; treat the visitor as signed out for this
    page so rendering it does not ask the database for the user again."""
    from flask_login import AnonymousUserMixin

    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.rollback()
        except Exception:
            pass
        session.close()
    g._login_user = AnonymousUserMixin()  # a loaded user's rows are expired by the rollback
