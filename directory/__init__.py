"""Meridian: a directory of vetted acupuncture practitioners (the Flask application)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from directory.config import PROJECT_ROOT, load_config
from directory.jsonio import OrjsonProvider


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error handlers, commands."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.json = OrjsonProvider(app)
    app.config.update(load_config(config))
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the database, migrations, CSRF and the search backend."""
    from directory import models  # noqa: F401  (every table on the metadata)
    from directory.extensions import init_extensions

    init_extensions(app)


def register_security(app: Flask) -> None:
    """Trust the configured proxies, load signed-in users and enforce every route's declared access rule."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from directory.accounts.policy import enforce_access_rules
    from directory.accounts.services import load_user
    from directory.errors import refuse_nul_bytes, refuse_untrusted_host, unauthorized
    from directory.extensions import login_manager

    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    # First of all hooks, before the extensions' own (CSRF, limits, HTTPS), which would build URLs.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)
    app.before_request(refuse_nul_bytes)
    app.before_request(enforce_access_rules)
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Client address (rate limits, audit) and scheme (HTTPS redirects) from the proxies' headers.
        # The Host header passes through proxies unchanged, so X-Forwarded-Host is not trusted.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]


def register_blueprints(app: Flask) -> None:
    """Mount each domain's blueprint, ids in their paths bounded to the id columns' range."""
    from directory.accounts.admin import bp as accounts_admin
    from directory.accounts.views import bp as accounts
    from directory.api.verification import bp as verification_api
    from directory.api.views import api
    from directory.content.views import bp as content
    from directory.practitioners.admin import bp as listings_admin
    from directory.practitioners.locations import bp as practitioner_locations
    from directory.practitioners.manage import bp as practitioner_manage
    from directory.practitioners.views import bp as practitioners
    from directory.referrals.admin import bp as referrals_admin
    from directory.referrals.views import bp as referrals
    from directory.reviews.admin import bp as reviews_admin
    from directory.reviews.views import bp as reviews
    from directory.routing import IdConverter
    from directory.screening.views import bp as screening
    from directory.site import bp as site
    from directory.vetting.manage import bp as credentials
    from directory.vetting.views import bp as vetting

    app.url_map.converters["int"] = IdConverter
    app.register_blueprint(site)
    app.register_blueprint(accounts)
    app.register_blueprint(accounts_admin)
    app.register_blueprint(content)
    app.register_blueprint(screening)
    app.register_blueprint(vetting)
    app.register_blueprint(credentials)
    app.register_blueprint(referrals_admin)
    app.register_blueprint(practitioners)
    app.register_blueprint(practitioner_manage)
    app.register_blueprint(listings_admin)
    app.register_blueprint(practitioner_locations)
    app.register_blueprint(referrals)
    app.register_blueprint(reviews)
    app.register_blueprint(reviews_admin)
    app.register_blueprint(api)
    app.register_blueprint(verification_api)


def register_errorhandlers(app: Flask) -> None:
    """Map domain errors and HTTP errors to HTML pages or JSON bodies."""
    from directory.errors import register_error_handlers

    register_error_handlers(app)


def register_commands(app: Flask) -> None:
    """Add the CLI command groups (seed, search, serve, bootstrap)."""
    from directory.cli import register

    register(app)
