"""Configuration from environment variables, with safe defaults."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _secret_key(instance_path: Path) -> str:
    """HOURBOOK_SECRET_KEY, or one generated once and kept in the instance folder."""
    key = os.environ.get("HOURBOOK_SECRET_KEY")
    if key:
        return key
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment(instance_path: Path) -> dict:
    env = os.environ.get
    # HOURBOOK_HTTPS=1: served over HTTPS only (Secure cookies, HSTS). HOURBOOK_SECURE_COOKIES=1
    # is the older name of the same switch.
    https = env("HOURBOOK_HTTPS", env("HOURBOOK_SECURE_COOKIES", "0")) == "1"
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "HOURBOOK_DATABASE_URL": env(
            "HOURBOOK_DATABASE_URL", f"sqlite:///{instance_path / 'hourbook.db'}"
        ),
        "HOURBOOK_TIMEZONE": "Asia/Taipei",
        "RATELIMIT_STORAGE_URI": env("HOURBOOK_RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": env("HOURBOOK_RATELIMIT_KEY_PREFIX", "hourbook"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "HOURBOOK_HTTPS": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "HOURBOOK_PROXY_COUNT": int(env("HOURBOOK_PROXY_COUNT", "0") or 0),
        "HOURBOOK_LOGIN_LIMIT": env("HOURBOOK_LOGIN_LIMIT", "5 per minute;20 per hour"),
        # the application forms' limits and the applicant's lookup's (README); unset:
        # routes/openings.py's defaults (the lookup: HOURBOOK_LOGIN_LIMIT)
        **{name: env(name) for name in ("HOURBOOK_APPLY_LIMIT", "HOURBOOK_APPLY_POST_LIMIT",
                                        "HOURBOOK_STATUS_LIMIT")
           if env(name)},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        "WTF_CSRF_TIME_LIMIT": None,  # token lives as long as the session (kiosks stay open for hours)
        "BABEL_DEFAULT_LOCALE": "zh_Hant_TW",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Taipei",
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        # Uploaded certificates and photos: outside the static folder, served by webapp/routes/files.py.
        "HOURBOOK_UPLOAD_DIR": env("HOURBOOK_UPLOAD_DIR", str(instance_path / "uploads")),
        # The address the app is reached at, for links in mail sent from cron (`hourbook
        # reminders send`); the SMTP settings are read by webapp/mail.py.
        "HOURBOOK_BASE_URL": env("HOURBOOK_BASE_URL", "").rstrip("/"),
    }
