"""Language: Traditional Chinese (zh_Hant_TW) by default, English on request."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from flask import request, session
from flask_login import current_user
from markupsafe import Markup, escape

from models.messages import N_

LANGUAGES = {"zh_Hant_TW": "繁體中文", "en": "English"}
DEFAULT = "zh_Hant_TW"
TRANSLATIONS = Path(__file__).parent / "translations"

# Accept-Language tags and what they mean here.
_ACCEPT = {
    "zh-TW": "zh_Hant_TW", "zh-Hant": "zh_Hant_TW", "zh-Hant-TW": "zh_Hant_TW", "zh-HK": "zh_Hant_TW",
    "zh-MO": "zh_Hant_TW", "zh": "zh_Hant_TW", "en": "en", "en-US": "en", "en-GB": "en",
}


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(list(_ACCEPT)) if request else None
    return _ACCEPT.get(best, DEFAULT) if best else DEFAULT


def fresh_session(user=None) -> None:
    """A clean session (at sign-in, at sign-out, on a kiosk's enrolment) that keeps the
    language the person chose on the page they were on. Signing in, an account without a
    language of its own takes that choice (the caller commits): the choice is not lost when
    the account's language (which wins once saved) is still unset."""
    lang = session.get("lang")
    session.clear()
    if lang in LANGUAGES:
        session["lang"] = lang
        if user is not None and user.locale not in LANGUAGES:
            user.locale = lang


def html_lang(locale: str) -> str:
    return "zh-Hant-TW" if locale == "zh_Hant_TW" else locale


def compile_catalogs() -> None:
    """Compile .po to .mo when the .mo is missing or older (cheap; skipped on read-only installs)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name)
            with mo.open("wb") as f:
                write_mo(f, catalog)
        except OSError:
            pass


def install_fast_template_gettext(app) -> None:
    """Templates call gettext a few hundred times per page (the verification queue: ~11 per
    row). Flask-Babel's callables look the translations up through several context proxies on
    every call; these look them up once per app context (request) and keep them in `g`.
    A request switches language half-way only through `forced_locale`, which drops this cache
    on the way in and out (a language switch by the user redirects)."""
    from flask import g
    from flask_babel import get_translations

    def translations():
        found = g.get("_hb_translations")
        if found is None:
            found = g._hb_translations = get_translations()
        return found

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )


def duration(minutes: int | None, translate=None) -> str:
    """Whole minutes as the reader reads a duration, thousands grouped: "1,500 小時 05 分" /
    "1,500 h 05 min". `translate` (msgid -> text, e.g. `chinese().ugettext` for a form printed
    in Chinese whoever downloads it): the reader's language by default."""
    if translate is None:
        from flask_babel import gettext as translate

    minutes = minutes or 0
    return translate(N_("%(h)s h %(m)02d min")) % {"h": f"{minutes // 60:,}", "m": minutes % 60}


_CHINESE = []


def chinese():
    """The zh-TW catalogue, without a request (printed forms are in Chinese for every reader)."""
    if not _CHINESE:
        from babel.support import Translations

        compile_catalogs()
        _CHINESE.append(Translations.load(str(TRANSLATIONS), [DEFAULT]))
    return _CHINESE[0]


def explain_award(e) -> str:
    """An award eligibility's explanation in the reader's language (durations as above), as
    text: for a spreadsheet, a message, the command line."""
    from flask_babel import get_locale, gettext, ngettext

    from models.awards import explain

    return explain(e, gettext, ngettext, duration, english_names=str(get_locale()) == "en")


def nowrap(text) -> Markup:
    """Text kept on one line on a page (a date would break at its hyphens on a phone)."""
    return Markup('<span class="nowrap">%s</span>') % text


def day(value) -> Markup:
    """A date as the pages write it (2026-03-05), on one line: the `day` filter."""
    return nowrap(value.isoformat() if hasattr(value, "isoformat") else value)


def duration_html(minutes: int | None) -> Markup:
    """`duration` for a page: it may break between its hours and its minutes on a narrow screen
    (a phone zoomed to 200 %), never inside either: "12 h" / "05 min" (the `hours_html` filter)."""
    words = duration(minutes).split(" ")
    return Markup(" ").join(nowrap(" ".join(words[i:i + 2])) for i in range(0, len(words), 2))


def explain_award_html(e) -> Markup:
    """explain_award for a page: the same words, HTML-escaped, with each date and duration kept
    on one line."""
    from flask_babel import get_locale, get_translations

    from models.awards import explain

    def html_gettext(message, **params):
        return escape(get_translations().ugettext(message)) % params

    def html_ngettext(singular, plural, num, **params):
        return escape(get_translations().ungettext(singular, plural, num)) % {"num": num, **params}

    return explain(e, html_gettext, html_ngettext, lambda minutes: nowrap(duration(minutes)),
                   english_names=str(get_locale()) == "en", day=day)


@contextmanager
def forced_locale(locale: str):
    """Flask-Babel's force_locale for Python and template gettext alike (e.g. a filing list in
    Chinese whoever downloads it, or a mail in each admin's language)."""
    from flask import g
    from flask_babel import force_locale

    g.pop("_hb_translations", None)
    try:
        with force_locale(locale):
            yield
    finally:
        g.pop("_hb_translations", None)


# WTForms' own messages ("This field is required.") come from its catalogue, which Flask-WTF
# loads for the request's locale: zh_Hant_TW is not there, and Babel falls back to zh, which is
# Simplified Chinese. Its zh_TW catalogue is Traditional: use that one. Flask-WTF looks the
# catalogue up only when it translates a message (a form with errors), through the module
# function replaced here; a request without form errors pays nothing.
_WTFORMS_LOCALE = {"zh_Hant_TW": "zh_TW"}
# WTForms' own messages that this app words itself (webapp/translations): a form field without
# a message of its own says these, in the words the rest of the app uses.
WTFORMS_WORDING = (
    N_("This field is required."),
    N_("Not a valid choice."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid float value."),
    N_("Not a valid date value."),
    N_("Not a valid datetime value."),
    N_("Invalid email address."),
)
_wtforms_translations: dict = {}


def install_wtforms_locale(app) -> None:
    import flask_wtf.i18n
    from babel import support
    from flask_babel import get_locale
    from wtforms.i18n import messages_path

    def wtforms_translations():
        if not request:
            return None
        from flask_babel import get_translations

        locale = str(get_locale())
        key = _WTFORMS_LOCALE.get(locale, locale)
        if key not in _wtforms_translations:
            found = support.Translations.load(messages_path(), [key], domain="wtforms")
            if isinstance(found, support.Translations):
                # Our own words for the messages WTFORMS_WORDING lists win over WTForms'
                # catalogue (its zh_TW says 此欄位是必需的, not how this app asks).
                found.merge(get_translations())
            _wtforms_translations[key] = found
        return _wtforms_translations[key]

    flask_wtf.i18n._get_translations = wtforms_translations


def local(thing) -> str:
    """A site's, item's or unit's name in the reader's language (Chinese when no English)."""
    from flask_babel import get_locale

    if str(get_locale()) == "en" and getattr(thing, "name_en", ""):
        return thing.name_en
    return getattr(thing, "name_zh", None) or thing.name


def distance(metres) -> str:
    """A distance as the pages write it: whole metres under 1,000 ("850 公尺" / "850 m"), else
    kilometres with one decimal ("3.6 公里" / "3.6 km"); number and unit joined by a no-break
    space. The `distance` filter (kept on one line) and a refusal's Metres param."""
    from flask_babel import gettext

    metres = int(metres or 0)
    text = (gettext("%(m)d m", m=metres) if metres < 1000
            else gettext("%(km).1f km", km=metres / 1000))
    return text.replace(" ", "\u00a0")


def local_params(params: dict) -> dict:
    """A domain message's params with each name (models.messages.Named) in the reader's
    language: `_(refusal.message, **(refusal.params|local_params))`; each label
    (models.messages.Label) translated."""
    from flask_babel import gettext

    from models.messages import Label, Metres, Named

    return {k: local(v) if isinstance(v, Named) else gettext(v) if isinstance(v, Label)
            else distance(v) if isinstance(v, Metres) else v for k, v in params.items()}


def refusal_text(error) -> str:
    """A domain refusal (models.messages.Refused and the like: an English msgid with params)
    in the reader's language, names (Named) included; `error.labels`, when it has them, are
    msgids translated before they are put in (a list is joined)."""
    from flask_babel import gettext as _

    params = local_params(error.params)
    for key, value in getattr(error, "labels", {}).items():
        if isinstance(value, (list, tuple)):
            params[key] = _(", ").join(_(v) for v in value)
        else:
            params[key] = _(value)
    return _(error.message, **params)
