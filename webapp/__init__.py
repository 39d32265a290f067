"""The Hourbook web application: create_app() is the factory, a flat list of steps."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, g, request, url_for
from flask_babel import format_datetime, get_locale
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from . import access, errors, i18n
from .config import from_environment
from .extensions import babel, csrf, db, limiter, login_manager


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(from_environment(Path(app.instance_path)))
    if overrides:
        app.config.update(overrides)

    db.init_app(app)
    configure_requests(app)  # first: POSTs must take the write lock before anything reads
    configure_login(app)
    csrf.init_app(app)
    i18n.compile_catalogs()
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        default_translation_directories=str(i18n.TRANSLATIONS),
    )
    i18n.install_fast_template_gettext(app)
    i18n.install_wtforms_locale(app)
    limiter.init_app(app)
    access.init_app(app)
    errors.init_app(app)
    __import__("webapp.deployment", fromlist=["init_app"]).init_app(app)  # proxy, HTTPS, DB down
    app.url_map.converters["int"] = RowNumber  # before the routes: every <int:...> is bounded
    register_blueprints(app)
    configure_templates(app)

    from .cli import register_commands

    register_commands(app)
    return app


class RowNumber(IntegerConverter):
    """<int:...> in every route: a number beyond the database's INTEGER (a 20-digit id typed
    into the address) is "no such page", not an overflow inside a query."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=None, signed=False):
        from .forms import MAX_DB_ID

        super().__init__(url_map, fixed_digits=fixed_digits, min=min,
                         max=MAX_DB_ID if max is None else max, signed=signed)


def configure_login(app: Flask) -> None:
    from sqlalchemy.orm import joinedload

    from models.people import User

    from sqlalchemy import bindparam, select

    # Built once: every signed-in request loads its user with this.
    user_with_volunteer = select(User).options(joinedload(User.volunteer)).where(User.id == bindparam("id"))

    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        ident, _, token = user_id.partition(":")
        if not ident.isdigit():
            return None
        # The volunteer comes with the user: nearly every page a volunteer opens needs it.
        user = db.session.execute(user_with_volunteer, {"id": int(ident)}).unique().scalar_one_or_none()
        if user is None or user.session_token != token or not user.active:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect

        target = url_for("auth.sign_in", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request"):
            # htmx would swap a redirect's sign-in page into a fragment: send the whole page there.
            return "", 401, {"HX-Redirect": target}
        return redirect(target)

    @app.after_request
    def settle_anonymous_session(response):
        # Flask-Login's session protection marks a session that holds no user "not fresh" the
        # first time a request loads the user from it, and that rewrites the cookie. Left to a
        # later request, the rewrite can come from the service worker fetched while the sign-in
        # form is on its way: its answer, computed from the anonymous cookie, arrives after the
        # sign-in's and puts the anonymous session back. So the mark goes in with the session's
        # first write, and later anonymous answers have nothing to set.
        from flask import session

        if session.modified and "_user_id" not in session and session.get("_fresh") is not False:
            session["_fresh"] = False
        return response


def register_blueprints(app: Flask) -> None:
    from kiosk import bp as kiosk_bp

    from .routes import auth, home, insurance, pwa, sites

    app.register_blueprint(pwa.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(insurance.bp)
    from .routes import directory

    app.register_blueprint(directory.bp)
    app.register_blueprint(sites.bp)
    app.register_blueprint(kiosk_bp)
    from .routes import my_hours, slips
    app.register_blueprint(slips.bp)
    app.register_blueprint(slips.export_bp)
    app.register_blueprint(my_hours.bp)
    from .routes import attendance
    app.register_blueprint(attendance.bp)

    from .routes import dashboard, team

    app.register_blueprint(dashboard.bp)
    app.register_blueprint(team.bp)
    from .routes import privacy, record_book, roster_import
    app.register_blueprint(record_book.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(privacy.admin_bp)
    app.register_blueprint(roster_import.bp)
    from .routes import account_setup, openings, recruitment
    app.register_blueprint(openings.bp)
    app.register_blueprint(recruitment.bp)
    app.register_blueprint(account_setup.bp)
    from .routes import files as files_routes
    app.register_blueprint(files_routes.bp)
    from .routes import training as training_routes
    app.register_blueprint(training_routes.bp)
    from .routes import service_items
    app.register_blueprint(service_items.bp)
    from .routes import reports as reports_routes
    app.register_blueprint(reports_routes.bp)
    from .routes import unit_plan, unit_profile
    app.register_blueprint(unit_plan.bp)
    app.register_blueprint(unit_profile.bp)
    from .routes import evaluation, volunteer_status
    app.register_blueprint(evaluation.bp)
    app.register_blueprint(evaluation.overview_bp)
    app.register_blueprint(volunteer_status.bp)
    from .routes import recognition

    app.register_blueprint(recognition.awards_bp)
    app.register_blueprint(recognition.certificates_bp)
    app.register_blueprint(recognition.milestones_bp)
    from .routes import access_log as access_log_routes
    app.register_blueprint(access_log_routes.bp)
    from .routes import help as help_routes
    app.register_blueprint(help_routes.bp)


_asset_versions: dict[tuple[str, str], str] = {}


def asset(filename: str, endpoint: str = "static") -> str:
    """URL of a static file with its content hash: the service worker caches only these.

    `endpoint` is "static" (webapp/static) or a blueprint's, e.g. "kiosk.static".
    """
    from flask import current_app

    key = (endpoint, filename)
    version = _asset_versions.get(key)
    if version is None:
        blueprint = endpoint.rpartition(".")[0]
        folder = current_app.blueprints[blueprint].static_folder if blueprint else current_app.static_folder
        version = hashlib.sha256((Path(folder) / filename).read_bytes()).hexdigest()[:10]
        _asset_versions[key] = version
    return url_for(endpoint, filename=filename, v=version)


def configure_templates(app: Flask) -> None:
    from models.hours import hours_text
    from models.base import TAIPEI, taipei_date, utcnow
    from models import contact

    def taipei(moment, fmt: str = "yyyy-MM-dd HH:mm"):
        if moment is None:
            return ""
        if fmt == "HH:mm":  # a clock time reads the same in every locale: no Babel needed
            return moment.astimezone(TAIPEI).strftime("%H:%M")
        return format_datetime(moment.astimezone(TAIPEI), fmt)

    def taipei_short(moment, clock: str | None = None):
        """Month, day and time for this year's moments (Asia/Taipei); the year too when the
        moment is in another year ("01/01 10:00" alone would read as this January). `clock`:
        the time as it is to be shown (ServiceSession.clock), instead of HH:mm."""
        if moment is None:
            return ""
        day = "MM/dd" if moment.astimezone(TAIPEI).year == taipei_date(utcnow()).year else "yyyy-MM-dd"
        return f"{taipei(moment, day)} {clock or taipei(moment, 'HH:mm')}"

    def taipei_end(end, start, clock: str | None = None):
        """The end of a stretch that began at `start`: its time alone on the same Taipei day,
        else with its own date ("12/01 08:00–12/02 00:00", not "–00:00")."""
        if end is None:
            return ""
        if taipei_date(end) == taipei_date(start):
            return clock or taipei(end, "HH:mm")
        return taipei_short(end, clock)

    def session_times(s):
        """A session's check-in and check-out as its rows show them, "12/06 07:57–08:30": the
        times with their seconds when minutes would overstate what counts (ServiceSession.clock,
        as the hour slip prints them), the check-out's date when it is another day's."""
        start = taipei_short(s.checked_in_at, s.clock(s.checked_in_at))
        return f"{start}–{taipei_end(s.checked_out_at, s.checked_in_at, s.clock(s.checked_out_at))}"

    app.jinja_env.filters["taipei"] = taipei
    app.jinja_env.filters["session_times"] = session_times
    app.jinja_env.filters["taipei_end"] = taipei_end
    app.jinja_env.filters["taipei_short"] = taipei_short
    app.jinja_env.filters["local_params"] = i18n.local_params
    app.jinja_env.filters["local"] = i18n.local
    app.jinja_env.filters["hours"] = i18n.duration
    app.jinja_env.filters["hours_html"] = i18n.duration_html
    app.jinja_env.filters["day"] = i18n.day
    app.jinja_env.filters["nowrap"] = i18n.nowrap
    app.jinja_env.filters["tel_uri"] = contact.tel_uri
    app.jinja_env.filters["distance"] = lambda m: i18n.nowrap(i18n.distance(m))
    # on a page, thousands grouped like durations (3,000 小時); files keep hours_text's plain number
    app.jinja_env.filters["decimal_hours"] = lambda minutes: "{:,}".format(
        float(hours_text(minutes))).removesuffix(".0")
    app.jinja_env.globals["asset"] = asset
    from models import service as service_words  # a session's status, source and flags, in words

    app.jinja_env.globals["session_labels"] = {"status": service_words.STATUS_LABELS,
                                               "source": service_words.SOURCE_LABELS,
                                               "flags": service_words.FLAG_LABELS}

    @app.context_processor
    def layout_context():
        locale = str(get_locale() or i18n.DEFAULT)
        return {
            "languages": i18n.LANGUAGES,
            "current_locale": locale,
            "html_lang": i18n.html_lang(locale),
            # "label: value" in the reader's language: a full-width colon in Chinese text
            "colon": ": " if locale == "en" else "：",
            "comma": ", " if locale == "en" else "，",
        }


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; media-src 'self' blob:; worker-src 'self'; manifest-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


def configure_requests(app: Flask) -> None:
    from models.base import begin_write

    @app.before_request
    def start_write_transaction():
        # State-changing requests take the SQLite write lock up front (see models.base.WRITE).
        if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint == "static":
            return
        view = app.view_functions.get(request.endpoint)
        if not getattr(view, "hourbook_writes_late", False):  # see extensions.writes_late
            begin_write(db.session)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static" and (
            current_user.is_authenticated or g.get("no_store")
        ):
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response
