"""The app as deployed plus POST /bench/floor (benchlib.add_floor_endpoint), for
bench/checkin_load.py --floor: a signed-in, CSRF-checked POST that does nothing, served by the
same code and gunicorn settings as the check-in. Not an entry point of the product."""
from __future__ import annotations

import benchlib
from webapp import create_app as _create_app


def create_app():
    app = _create_app()
    benchlib.add_floor_endpoint(app)
    return app
