"""The installable shell: web manifest and service worker (served from the site root)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory, url_for
from markupsafe import Markup

from ..access import public
from ..i18n import DEFAULT, forced_locale, html_lang

bp = Blueprint("pwa", __name__)


@bp.route("/manifest.webmanifest")
@public
def manifest():
    from .. import asset

    data = {
        "name": "Hourbook 志工時數簿",
        "short_name": "志工時數簿",
        "description": "志工簽到簽退與服務時數管理 — volunteer check-in and service hours",
        "lang": "zh-Hant-TW",
        "start_url": url_for("home.index"),
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#0f766e",
        "icons": [
            {"src": asset("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": asset("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": asset("icons/icon-maskable-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
        "translations": {"en": {"name": "Hourbook", "short_name": "Hourbook"}},
    }
    response = jsonify(data)
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/sw.js")
@public
def service_worker():
    response = send_from_directory(current_app.static_folder, "sw.js", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


# The page the service worker shows when a page cannot load for want of a network.
OFFLINE_LANGUAGES = (DEFAULT, "en")


@bp.route("/offline")
@public
def offline():
    """Fetched by the service worker without cookies and kept: nobody's data, and both
    languages (the worker cannot know which one the person will read)."""
    parts = []
    for locale in OFFLINE_LANGUAGES:
        with forced_locale(locale):
            parts.append(Markup(render_template("pwa/_offline_text.html", lang=html_lang(locale))))
    return render_template("pwa/offline.html", parts=parts)
