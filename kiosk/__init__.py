"""The check-in surface: site posters on phones and the tablet kiosk at reception.

It calls models/, never the dashboard.
"""
from flask import Blueprint

bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
               static_url_path="/kiosk/static")

from . import phone  # noqa: E402,F401  (registers the phone check-in routes)
from . import devices, tablet  # noqa: E402,F401  (the tablet kiosk and its admin pages)
