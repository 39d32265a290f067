"""Who may reach which endpoint. Every view declares it; undeclared views are refused.

`@public` marks pages anyone may open; `@roles(Role.admin, ...)` marks pages for signed-in
users of those roles. The check runs before every request (default deny), so a new route
without a declaration is closed until someone thinks about who should see it.
"""
from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask_login import current_user

from models.people import Role

ALL_ROLES = frozenset(Role)
STAFF = (Role.admin, Role.supervisor)


def public(view):
    view.hourbook_access = "public"
    return view


def roles(*allowed: Role):
    def mark(view):
        view.hourbook_access = frozenset(allowed)
        return view

    return mark


def signed_in(view):
    return roles(*ALL_ROLES)(view)


def access_of(endpoint: str | None):
    if endpoint is None:
        return "public"  # 404s and the like: let Flask answer
    if endpoint == "static" or endpoint.endswith(".static"):
        return "public"  # the app's and blueprints' static files
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "hourbook_access", None)


def _enforce():
    access = access_of(request.endpoint)
    if access == "public":
        return None
    if access == "device":  # kiosk endpoints check their own device token
        return None
    if not current_user.is_authenticated:
        from .extensions import login_manager

        return login_manager.unauthorized()
    if access is None or current_user.role not in access:
        abort(403)
    return None


def init_app(app: Flask) -> None:
    app.before_request(_enforce)
