"""Configuration, one class per environment, read from environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEARCH_BACKENDS = ("embedded", "elasticsearch", "opensearch")


class ConfigError(click.ClickException):
    """A setting is missing or malformed; shown as one line naming the variable."""


def _host_list(value: str | None) -> list[str] | None:
    """Return the host names of a comma-separated setting, or None (any host) when it is unset."""
    hosts = [host.strip().lower() for host in (value or "").split(",") if host.strip()]
    return hosts or None


class Config:
    """Settings shared by every environment."""

    INSTANCE_DIR = Path(os.environ.get("MERIDIAN_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'meridian.db'}"
    # SQLite only: how long a write waits for another connection's write transaction before the user is told
    # the site is busy (503, nothing saved).
    SQLITE_BUSY_TIMEOUT_S = float(os.environ.get("SQLITE_BUSY_TIMEOUT_S", "10"))
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "embedded")
    # One node's URL, or a cluster's nodes comma-separated: a search failing on one node is retried on another.
    SEARCH_URL = os.environ.get("SEARCH_URL")
    SEARCH_INDEX_PREFIX = os.environ.get("SEARCH_INDEX_PREFIX", "meridian")
    SEARCH_EMBEDDED_PATH = os.environ.get("SEARCH_EMBEDDED_PATH") or str(INSTANCE_DIR / "search.db")
    # How many connections one wide embedded search runs on at once (1: one); at most one search at a time does.
    SEARCH_EMBEDDED_THREADS = int(os.environ.get("SEARCH_EMBEDDED_THREADS") or min(2, os.cpu_count() or 1))
    SEARCH_TIMEOUT_S = float(os.environ.get("SEARCH_TIMEOUT_S", "5"))
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    # Fernet keys sealing patient names and contacts in referrals, comma-separated, newest first.
    REFERRAL_KEYS: str | None = os.environ.get("REFERRAL_KEYS")
    # Ed25519 key signing the published chain heads: base64 of a 32-byte private seed (see vetting/signing.py).
    VERIFICATION_SIGNING_KEY: str | None = os.environ.get("VERIFICATION_SIGNING_KEY")
    # Links in email are built from this, never from the request's Host header (which a client chooses).
    PUBLIC_BASE_URL: str | None = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # Flask refuses requests whose Host is not listed (None: any host, for development only).
    TRUSTED_HOSTS = _host_list(os.environ.get("TRUSTED_HOSTS"))
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: none, trust no header).
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "0")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "false").lower() == "true"
    REMEMBER_COOKIE_HTTPONLY = True
    FORCE_HTTPS = os.environ.get("FORCE_HTTPS", "false").lower() == "true"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "true").lower() == "true"
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SEARCH_API = os.environ.get("RATELIMIT_SEARCH_API", "120 per minute")
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Meridian <no-reply@meridian.invalid>")
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")
    NPI_REGISTRY_URL = os.environ.get("NPI_REGISTRY_URL", "https://npiregistry.cms.hhs.gov/api/")
    DEMO_PRACTITIONERS = int(os.environ.get("DEMO_PRACTITIONERS", "2000"))
    # Reviews: "pre" (an admin approves each first) or "post" (published at once unless held).
    REVIEW_MODERATION = os.environ.get("REVIEW_MODERATION", "pre")
    # Holds that apply in both modes: new accounts, and bursts of reviews for one practitioner.
    REVIEW_MIN_ACCOUNT_AGE_DAYS = int(os.environ.get("REVIEW_MIN_ACCOUNT_AGE_DAYS", "3"))
    REVIEW_BURST_COUNT = int(os.environ.get("REVIEW_BURST_COUNT", "5"))
    REVIEW_BURST_HOURS = float(os.environ.get("REVIEW_BURST_HOURS", "24"))
    # Comma-separated; empty means the built-in list (directory/reviews/signals.py DEFAULT_TERMS).
    REVIEW_ADVERSE_EVENT_TERMS = os.environ.get("REVIEW_ADVERSE_EVENT_TERMS", "")


class DevelopmentConfig(Config):
    """Local use (`make run`): a per-install random secret kept under instance/."""


class ProductionConfig(Config):
    """Production: every secret and backing service must be given explicitly; HTTPS only."""

    SESSION_COOKIE_SECURE = True
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL")
    FORCE_HTTPS = os.environ.get("FORCE_HTTPS", "true").lower() == "true"


CONFIGS: dict[str, type[Config]] = {"development": DevelopmentConfig, "production": ProductionConfig}
# Optional settings taken from the environment only when set; their defaults live with the
# code that uses them (the vetting policy's NCQA windows, the NPI client's timeouts).
OPTIONAL_FROM_ENV = (
    "NPI_REGISTRY_TIMEOUT_S", "NPI_REGISTRY_RETRIES", "NPI_REGISTRY_BACKOFF_S",
    "VETTING_DOCUMENT_DIR", "VETTING_DOCUMENT_MAX_BYTES", "VETTING_PRIMARY_SOURCE_DAYS", "VETTING_EXCLUSION_DAYS",
    "VETTING_REVERIFY_MONTHS", "VETTING_EXPIRING_DAYS", "VETTING_ALERT_DAYS", "VETTING_NAME_MATCH_REVIEW_DAYS",
    "VETTING_AUTOMATED_MONITORING_DAYS", "VETTING_MANUAL_MONITORING_DAYS",
    "REFERRALS_EXPIRE_DAYS", "CLAIM_REVIEW_DAYS", "RATING_PRIOR_MEAN", "RATING_PRIOR_WEIGHT",
    "PRACTITIONER_PHOTO_DIR", "PRACTITIONER_PHOTO_MAX_BYTES", "PRACTITIONER_PHOTO_MAX_SIDE",
)


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the settings for MERIDIAN_ENV with ``overrides`` applied, validated."""
    env = os.environ.get("MERIDIAN_ENV", "development")
    if env not in CONFIGS:
        raise ConfigError(f"MERIDIAN_ENV must be one of {', '.join(CONFIGS)}, not {env!r}")
    cls = CONFIGS[env]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    settings["MERIDIAN_ENV"] = env
    settings.update({key: os.environ[key] for key in OPTIONAL_FROM_ENV if os.environ.get(key)})
    settings.update(overrides or {})
    _validate(settings)
    return settings


def _validate(settings: dict[str, Any]) -> None:
    """Fail fast, one line per problem, naming the variable to fix."""
    try:
        make_url(settings["SQLALCHEMY_DATABASE_URI"])
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a valid database URL ({exc})") from None
    if settings["SEARCH_BACKEND"] not in SEARCH_BACKENDS:
        raise ConfigError(f"SEARCH_BACKEND must be one of {', '.join(SEARCH_BACKENDS)}, not {settings['SEARCH_BACKEND']!r}")
    if settings["SEARCH_BACKEND"] != "embedded" and not settings.get("SEARCH_URL"):
        raise ConfigError(f"SEARCH_URL is required when SEARCH_BACKEND={settings['SEARCH_BACKEND']}")
    if settings["SEARCH_BACKEND"] != "embedded":
        bad = [u for u in str(settings["SEARCH_URL"]).split(",") if not u.strip().startswith(("http://", "https://"))]
        if bad:
            raise ConfigError(f"SEARCH_URL must list http(s):// node URLs separated by commas, not {bad[0].strip()!r}")
    if not settings.get("SECRET_KEY"):
        if settings["MERIDIAN_ENV"] == "production":
            raise ConfigError("SECRET_KEY must be set in production")
        settings["SECRET_KEY"] = _instance_secret(Path(settings["INSTANCE_DIR"]))
    _validate_public_address(settings)
    _validate_referral_keys(settings)
    _validate_signing_key(settings)
    _validate_rating_prior(settings)


def _validate_signing_key(settings: dict[str, Any]) -> None:
    """Require VERIFICATION_SIGNING_KEY in production; elsewhere use this install's own key; refuse a malformed one."""
    from directory.vetting.signing import new_signing_key, parse_signing_key

    if not settings.get("VERIFICATION_SIGNING_KEY"):
        if settings["MERIDIAN_ENV"] == "production":
            raise ConfigError("VERIFICATION_SIGNING_KEY must be set in production (base64 of a 32-byte Ed25519 seed)")
        settings["VERIFICATION_SIGNING_KEY"] = _instance_secret(
            Path(settings["INSTANCE_DIR"]), "verification_signing_key", new_signing_key)
    try:
        parse_signing_key(settings["VERIFICATION_SIGNING_KEY"])
    except ValueError:
        raise ConfigError("VERIFICATION_SIGNING_KEY must be the base64 of 32 random bytes (make one with "
                          "`python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'`)"
                          ) from None


def _validate_rating_prior(settings: dict[str, Any]) -> None:
    """Refuse a RATING_PRIOR_MEAN or RATING_PRIOR_WEIGHT out of range at start-up, not at the first search."""
    from directory.reviews.rating import prior_from_settings

    prior_from_settings(settings)


def _validate_referral_keys(settings: dict[str, Any]) -> None:
    """Require REFERRAL_KEYS in production; elsewhere use this install's own key; refuse malformed keys."""
    from directory.referrals.crypto import parse_keys

    if not settings.get("REFERRAL_KEYS"):
        if settings["MERIDIAN_ENV"] == "production":
            raise ConfigError("REFERRAL_KEYS must be set in production (comma-separated Fernet keys, newest first)")
        settings["REFERRAL_KEYS"] = _instance_fernet_key(Path(settings["INSTANCE_DIR"]))
    try:
        parse_keys(settings["REFERRAL_KEYS"])
    except ValueError:
        raise ConfigError("REFERRAL_KEYS must be comma-separated Fernet keys (make one with "
                          "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
                          ) from None


def _validate_public_address(settings: dict[str, Any]) -> None:
    """Check PUBLIC_BASE_URL, TRUSTED_HOSTS and TRUSTED_PROXIES; production trusts only its own host."""
    production = settings["MERIDIAN_ENV"] == "production"
    base = settings.get("PUBLIC_BASE_URL")
    if not base:
        raise ConfigError("PUBLIC_BASE_URL must be set (e.g. https://meridian.example): links in email are built from it")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"PUBLIC_BASE_URL must be an http(s) address such as https://meridian.example, not {base!r}")
    if production and parts.scheme != "https":
        raise ConfigError(f"PUBLIC_BASE_URL must use https in production, not {base!r}")
    settings["PUBLIC_BASE_URL"] = base.rstrip("/")
    hosts = settings.get("TRUSTED_HOSTS")
    if isinstance(hosts, str):
        hosts = _host_list(hosts)
    if hosts is None and production:
        hosts = [parts.hostname]
    settings["TRUSTED_HOSTS"] = hosts
    settings["TRUSTED_PROXIES"] = _proxy_count(settings.get("TRUSTED_PROXIES", 0))


def _proxy_count(value: Any) -> int:
    """Return TRUSTED_PROXIES as a small non-negative integer."""
    text = str(value).strip()
    if not text.isdigit() or int(text) > 10:
        raise ConfigError(f"TRUSTED_PROXIES must be a whole number of proxies from 0 to 10, not {value!r}")
    return int(text)


def _instance_secret(instance_dir: Path, name: str = "secret_key", make: Callable[[], str] | None = None) -> str:
    """Return this install's random secret, creating it on first use (never a shared default)."""
    path = instance_dir / name
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = make() if make else secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _instance_fernet_key(instance_dir: Path) -> str:
    """Return this install's own referral key, creating it on first use (never a shared default)."""
    from cryptography.fernet import Fernet

    return _instance_secret(instance_dir, "referral_key", lambda: Fernet.generate_key().decode())
