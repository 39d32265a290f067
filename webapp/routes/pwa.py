"""The installable shell: web manifest and service worker (served from the site root)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, send_from_directory, url_for

from ..access import public

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
