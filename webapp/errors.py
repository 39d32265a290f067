"""Translated error pages (and small fragments for htmx requests)."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError


def _page(status: int, title: str, message: str):
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_e):
        return _page(404, _("Page not found"), _("There is no page at this address."))

    @app.errorhandler(403)
    def forbidden(_e):
        return _page(403, _("Not allowed"), _("Your role does not allow this page or action."))

    @app.errorhandler(405)
    def method_not_allowed(_e):
        return _page(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        return _page(
            400,
            _("Form expired"),
            _("This form has expired or did not come from Hourbook. Reload the page and try again."),
        )

    @app.errorhandler(429)
    def too_many(e):
        # A limit with its own answer (flask-limiter's on_breach: the application form comes
        # back with what was typed) keeps it; every other limit gets this page.
        if getattr(e, "response", None) is not None:
            return e.response
        return _page(
            429, _("Too many attempts"), _("Too many attempts. Please wait a minute and try again.")
        )

    @app.errorhandler(413)
    def too_large(_e):
        return _page(413, _("File too large"), _("The file is too large."))

    @app.errorhandler(415)
    def unsupported(_e):
        return _page(415, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(_e):
        """A number or date no person would type (a 20-digit id, the year 9999) that got past
        the form checks: a clear 400, and the request's transaction is rolled back."""
        from .extensions import db

        db.session.rollback()
        return _page(400, _("Out of range"),
                     _("A number or date in this request is out of range. Go back and check it."))

    @app.before_request
    def forms_only():
        """Every POST is an HTML form (htmx sends forms too). Flask-WTF would read a JSON body as
        form data, with lists and objects where a form only ever has strings: refuse it instead.
        A NUL character is never typed by a person, and PostgreSQL refuses it in any text: a
        request carrying one is refused before it reaches a query."""
        if request.method == "POST" and request.mimetype not in (
                "application/x-www-form-urlencoded", "multipart/form-data", ""):
            from flask import abort

            abort(415)
        if "\x00" in request.path or any(
                "\x00" in (key or "") or any("\x00" in (value or "") for value in values)
                for key, values in request.values.lists()) or any(
                "\x00" in (upload.filename or "") for upload in request.files.values()):
            return _page(400, _("Not allowed"), _("This address does not accept that kind of request."))
        return None
