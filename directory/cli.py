"""Command-line entry points, grouped by domain: bootstrap, seed, search, serve, referrals."""

from __future__ import annotations

import functools
import gc
import threading
import time
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from directory.errors import is_busy_or_unreachable, is_database_locked
from directory.extensions import db, search
from directory.indexing import services as indexing
from directory.vetting.heads_cli import sign_heads_and_report
from search import SearchUnavailable


def register(app: Flask) -> None:
    """Attach every command group to ``app.cli``."""
    from directory.accounts.cli import mail_group, users_group
    from directory.imports.cli import import_group
    from directory.referrals.cli import referrals_group
    from directory.vetting.cli import exclusions_group, vetting_group

    app.cli.add_command(users_group)
    app.cli.add_command(mail_group)
    app.cli.add_command(vetting_group)
    app.cli.add_command(exclusions_group)
    app.cli.add_command(referrals_group)
    app.cli.add_command(import_group)
    app.cli.add_command(bootstrap_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(search_group)
    app.cli.add_command(serve_command)
    for command in app.cli.commands.values():
        _reporting_database_trouble(command)


def _reporting_database_trouble(command: click.Command) -> None:
    """Make ``command`` (each of a group's) end with one clear line, not a traceback, on a busy or lost database.

    The commands that know better (bootstrap, search sync) say more themselves; this covers the rest, e.g.
    `flask search status` or a vetting run while another process holds SQLite's lock. Idempotent: the command
    objects are shared by every app the process creates.
    """
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _reporting_database_trouble(sub)
        return
    callback = command.callback
    if callback is None or getattr(callback, "reports_database_trouble", False):
        return

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except OperationalError as exc:
            if not is_busy_or_unreachable(exc):
                raise
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise click.ClickException(DATABASE_BUSY.format(reason=reason)) from None

    run.reports_database_trouble = True  # type: ignore[attr-defined]
    command.callback = run


DATABASE_BUSY = ("the database is busy or unreachable ({reason}): another process may hold its lock, or the server "
                 "is down. Whatever this command had already committed stays; run it again in a moment.")


def _database_error(exc: SQLAlchemyError) -> click.ClickException:
    """Return a one-line error naming DATABASE_URL instead of a traceback."""
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return click.ClickException(f"cannot use DATABASE_URL ({db.engine.url.render_as_string(hide_password=True)}): {reason}")


@click.command("bootstrap")
@click.option("--demo/--no-demo", default=None,
              help="Seed demo practitioners when the database is empty (default: yes, except in production).")
@click.option("--demo-accounts/--no-demo-accounts", default=True,
              help="With --demo: also seed demo accounts of every role and referrals in every state.")
@with_appcontext
def bootstrap_command(demo: bool | None, demo_accounts: bool) -> None:
    """Migrate the database, load vocabularies, seed demo data if empty, build the index."""
    from directory.models import CardCache, CheckSummary, Practitioner

    if demo is None:
        demo = not _in_production()
    from directory.practitioners.vocabulary import load_vocabularies

    try:
        upgrade(directory=str(current_app.config["MIGRATIONS_DIR"]))
        load_vocabularies()
        db.session.commit()
        empty = db.session.scalar(select(func.count(Practitioner.id))) == 0
    except OperationalError as exc:
        raise _database_error(exc) from None
    if empty and demo:
        _seed(current_app.config["DEMO_PRACTITIONERS"], 42)
        if demo_accounts:
            _seed_demo_accounts()
        # Anchor the seeded history at once, so the public chain can be re-verified on a fresh demo.
        sign_heads_and_report()
    from directory.seed import refresh_statistics

    refresh_statistics()
    db.session.commit()
    total = db.session.scalar(select(func.count(Practitioner.id))) or 0
    # A database from before the card rows (or the folded checks, migration 0022) gets them here, once.
    if total and (empty or not db.session.scalar(select(func.count()).select_from(CardCache))
                  or not db.session.scalar(select(func.count()).select_from(CheckSummary))):
        _rebuild_cards(total)
    backend = search.backend()
    rebuild = backend.ensure_index()
    if (rebuild or backend.count() == 0) and total:
        _reindex(total)
    click.echo(f"ready: {total} practitioners, search index holds {backend.count()} documents ({backend.name})")
    _print_demo_accounts()


@click.command("seed")
@click.option("--practitioners", "count", type=click.IntRange(min=0), default=2000, show_default=True,
              help="How many demo practitioners to add.")
@click.option("--seed", "seed_value", type=int, default=42, show_default=True, help="Random seed (same seed, same data).")
@click.option("--reindex/--no-reindex", default=True, help="Rebuild the search index afterwards.")
@click.option("--demo-accounts/--no-demo-accounts", default=False, show_default=True,
              help="Also seed demo accounts of every role and referrals in every state (once).")
@with_appcontext
def seed_command(count: int, seed_value: int, reindex: bool, demo_accounts: bool) -> None:
    """Add realistic demo practitioners on real places (deterministic for a seed)."""
    from directory.practitioners.vocabulary import load_vocabularies

    if demo_accounts and _in_production():
        raise click.ClickException("demo accounts are never created in production (MERIDIAN_ENV=production)")
    load_vocabularies()
    db.session.commit()
    _seed(count, seed_value)
    if demo_accounts:
        _seed_demo_accounts()
        _print_demo_accounts()
    _rebuild_cards(None)
    if reindex:
        search.backend().ensure_index()
        _reindex(None)


def _seed(count: int, seed_value: int) -> None:
    """Seed ``count`` practitioners with a progress bar, then commit."""
    from directory.seed import seed_practitioners

    started = time.perf_counter()
    with click.progressbar(length=count, label=f"Seeding {count} practitioners") as bar:
        seed_practitioners(count, seed_value, progress=bar.update)
        db.session.commit()
    click.echo(f"seeded {count} practitioners in {time.perf_counter() - started:.1f}s")


def _in_production() -> bool:
    """Tell whether this app runs with MERIDIAN_ENV=production."""
    return bool(current_app.config.get("MERIDIAN_ENV") == "production")


def _seed_demo_accounts() -> None:
    """Seed the demo accounts and referrals once, then commit; say so when they exist or cannot be made."""
    from directory.referrals.demo import DemoUnavailable, seed_demo

    if _in_production():
        # Their passwords are printed and in the README: in production they would be open doors.
        raise click.ClickException("demo accounts are never created in production (MERIDIAN_ENV=production)")

    try:
        created = seed_demo()
    except DemoUnavailable as exc:
        db.session.rollback()
        click.echo(f"no demo accounts: {exc.message}")
        return
    db.session.commit()
    click.echo("seeded the demo accounts and their referrals" if created else "the demo accounts exist already")


def _print_demo_accounts() -> None:
    """Print the demo accounts' sign-in details, when this database has them."""
    from directory.referrals.demo import ACCOUNTS, demo_accounts_present

    if not demo_accounts_present():
        return
    click.echo("\nDemo accounts (sign in at /sign-in; invented data, never use them in production):")
    width = max(len(account.email) for account in ACCOUNTS)
    for account in ACCOUNTS:
        click.echo(f"  {account.role:<13}{account.email:<{width + 2}}{account.password:<35}{account.shows}")


def _rebuild_cards(total: int | None) -> None:
    """Rewrite every practitioner's result card row (the table pages read cards from) with a progress bar."""
    from directory.models import Practitioner
    from directory.practitioners.cards import rebuild_cards

    total = total if total is not None else db.session.scalar(select(func.count(Practitioner.id))) or 0
    started = time.perf_counter()
    with click.progressbar(length=total, label="Writing result cards") as bar:
        count = rebuild_cards(progress=bar.update)
    click.echo(f"wrote {count} result cards in {time.perf_counter() - started:.1f}s")


def _reindex(total: int | None) -> None:
    """Rebuild the search index from the database with a progress bar."""
    from directory.models import Practitioner

    total = total if total is not None else db.session.scalar(select(func.count(Practitioner.id))) or 0
    started = time.perf_counter()
    with click.progressbar(length=total, label="Indexing practitioners") as bar:
        count = indexing.reindex_all(search.backend(), progress=bar.update)
    elapsed = time.perf_counter() - started
    click.echo(f"indexed {count} documents in {elapsed:.1f}s ({count / elapsed if elapsed else 0:.0f} docs/s)")


@click.group("search")
def search_group() -> None:
    """Keep the search index in step: sync, reindex, status."""


@search_group.command("sync")
@click.option("--watch", is_flag=True, help="Keep running, polling the outbox.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=0.5, show_default=True, help="Seconds between polls.")
@with_appcontext
def search_sync(watch: bool, interval: float) -> None:
    """Apply pending outbox changes to the search engine."""
    while True:
        try:
            if not watch:
                indexing.retry_now()
            report = indexing.sync_outbox(search.backend())
        except OperationalError as exc:
            if not is_database_locked(exc):
                raise
            if not watch:
                raise click.ClickException(DATABASE_LOCKED) from None
            click.echo(DATABASE_LOCKED)
            time.sleep(interval)
            continue
        if report.applied or report.failed:
            click.echo(f"applied {report.applied}, failed {report.failed}" + (f": {report.last_error}" if report.last_error else ""))
        if not watch:
            if report.failed:
                raise click.ClickException(f"{report.failed} changes wait in the outbox: {report.last_error}")
            return
        time.sleep(interval)


DATABASE_LOCKED = ("the database stayed locked by another connection (a long write elsewhere); nothing is lost: "
                   "the changes wait in the outbox. Run the command again in a moment.")


@search_group.command("reindex")
@with_appcontext
def search_reindex() -> None:
    """Rewrite the result cards, build a fresh index from the database and switch searches to it atomically."""
    try:
        _rebuild_cards(None)
        search.backend().ensure_index()
        _reindex(None)
    except SearchUnavailable as exc:
        raise click.ClickException(f"search engine unavailable: {exc}") from None
    except OperationalError as exc:
        if not is_database_locked(exc):
            raise
        raise click.ClickException("the new index serves, but the database stayed locked by another connection, so "
                                   "the outbox rows it covers were not cleared; the next sync applies them again, "
                                   "which changes nothing. Run `flask search sync` in a moment.") from None


@search_group.command("status")
@with_appcontext
def search_status() -> None:
    """Show the engine's health and how far the outbox is behind."""
    health = search.backend().health()
    status = indexing.outbox_status()
    click.echo(f"backend: {health.get('backend')} ({health['status']})")
    for key, value in health.items():
        if key not in ("backend", "status"):
            click.echo(f"  {key}: {value}")
    age = f"{status.oldest_age_s:.1f}s" if status.oldest_age_s is not None else "-"
    click.echo(f"outbox: {status.pending} pending, oldest {age}, max attempts {status.max_attempts}")
    click.echo(status.summary)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), envvar="PORT", default=5000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--sync-interval", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
              help="Seconds between outbox polls of the built-in worker.")
@click.option("--sync-worker/--no-sync-worker", default=True, show_default=True,
              help="Run the built-in outbox worker (off when `flask search sync --watch` runs elsewhere).")
@click.option("--connection-limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Client connections served at once (keep-alive ones count); more wait to be accepted.")
@with_appcontext
def serve_command(host: str, port: int, threads: int, sync_interval: float, sync_worker: bool,
                  connection_limit: int) -> None:
    """Serve Meridian with waitress, with an outbox worker thread keeping search in step.

    Every process may run one: workers claim rows, and versions keep the newest document in the index.
    """
    from waitress import serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if sync_worker:
        worker = threading.Thread(target=_outbox_worker, args=(app, sync_interval, threading.Event()), daemon=True,
                                  name="outbox-worker")
        worker.start()
    freeze_startup_heap()
    click.echo(f"Meridian on http://{host}:{port}/")
    # Waitress deletes X-Forwarded-* headers unless told otherwise; with TRUSTED_PROXIES set, ProxyFix (see
    # register_security) is the one place that decides which of them to believe, so they must reach the app.
    serve(app, host=host, port=port, threads=threads, connection_limit=connection_limit,
          clear_untrusted_proxy_headers=not app.config["TRUSTED_PROXIES"])


def freeze_startup_heap() -> None:
    """Move everything built at start-up out of the garbage collector's reach, for as long as the process lives.

    Modules, the app, the SQLAlchemy and vocabulary caches stay alive until exit; left tracked, every full
    collection walked them again (about 0.3 s, once per ~300 search requests: the p99 of the search API).
    Frozen, a full collection scans only what requests have allocated since.
    """
    gc.collect()
    gc.freeze()


def _outbox_worker(app: Any, interval: float, stop: threading.Event) -> None:
    """Drain the outbox until ``stop`` is set; an engine outage only delays search, changes wait in the outbox."""
    while not stop.is_set():
        with app.app_context():
            try:
                indexing.sync_outbox(app.extensions["search"].backend())
            except SQLAlchemyError as exc:
                app.logger.warning("outbox worker: database error: %s", exc)
            finally:
                db.session.remove()
        stop.wait(interval)
