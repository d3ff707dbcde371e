"""Vetting commands: `flask vetting run|verify-chain` and `flask exclusions import [--source leie|sam] FILE`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from directory.clock import today as clock_today
from directory.extensions import db
from directory.vetting.decisions import recompute_statuses
from directory.vetting.heads_cli import sign_heads_and_report, sign_heads_command
from directory.vetting.history import alert_broken_chains, count_checks, verify_all_chains
from directory.vetting.runner import RunSummary, plan_run, run_batch, send_expiry_alerts
from directory.vetting.sources.leie import import_exclusion_list
from directory.vetting.sources.list_import import ExclusionListInvalid, ImportReport, file_digest
from directory.vetting.sources.npi import NpiRegistryClient
from directory.vetting.sources.sam_file import import_sam_list

BATCH = 100  # practitioners per commit: an interrupted run keeps what it did
SHOWN_PROBLEMS = 20
# Each list's importer: (path, file date, progress, digest) -> report; each replaces only its own list.
IMPORTERS: dict[str, Callable[[Path, date | None, Callable[[int], None], str], ImportReport]] = {
    "leie": import_exclusion_list, "sam": import_sam_list}
LIST_NAMES = {"leie": "OIG LEIE", "sam": "SAM.gov exclusions"}


@click.group("vetting")
def vetting_group() -> None:
    """Re-verify practitioners and check the tamper-evident history."""


vetting_group.add_command(sign_heads_command)


@vetting_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only report what is due; check nothing.")
@with_appcontext
def vetting_run(dry_run: bool) -> None:
    """Run the checks that are due (NPI registry, exclusion lists), queue manual ones, send expiry alerts."""
    started, today = time.perf_counter(), clock_today()
    plan = plan_run(today)
    work = plan.work
    click.echo(f"due: {len(work)} practitioners, {sum(len(w.automated) for w in work)} automated checks, "
               f"{sum(len(w.manual) for w in work)} manual checks; {len(plan.outdated)} statuses to update")
    for note in plan.skipped:
        click.echo(note)
    if dry_run:
        return
    summary = RunSummary()
    client = NpiRegistryClient.from_config()
    try:
        with click.progressbar(length=len(work), label="Checking practitioners") as bar:
            for start in range(0, len(work), BATCH):
                run_batch(work[start:start + BATCH], client, summary)
                db.session.commit()
                bar.update(len(work[start:start + BATCH]))
        for start in range(0, len(plan.outdated), BATCH):
            recompute_statuses(plan.outdated[start:start + BATCH])
            db.session.commit()
        summary.statuses_updated = len(plan.outdated)
        summary.alerts = send_expiry_alerts(today)
        db.session.commit()
    finally:
        client.close()
    _print_summary(summary, time.perf_counter() - started)
    sign_heads_and_report()
    if summary.errors:
        raise click.exceptions.Exit(1)


def _print_summary(summary: RunSummary, seconds: float) -> None:
    """Print what a run did."""
    for (source, outcome), count in sorted(summary.outcomes.items()):
        click.echo(f"  {source}: {outcome} {count}")
    click.echo(f"manual checks waiting in the admin queue: {summary.manual_queued}")
    click.echo(f"statuses brought up to date: {summary.statuses_updated}")
    click.echo(f"expiry alerts queued: {summary.alerts}")
    for error in summary.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(f"checked {summary.practitioners} practitioners in {seconds:.1f}s; {len(summary.errors)} errors")


@vetting_group.command("verify-chain")
@with_appcontext
def verify_chain_command() -> None:
    """Recompute every verification chain and report any break (exit code 1 if one is found)."""
    with click.progressbar(length=count_checks(), label="Verifying chains") as bar:
        report = verify_all_chains(progress=bar.update)
    for subject, found in report.breaks:
        click.echo(f"BREAK {subject}, sequence {found.sequence}: {found.reason}")
    alerted = alert_broken_chains(report)
    db.session.commit()
    click.echo(f"verified {report.chains} chains, {report.rows} checks: {len(report.breaks)} breaks")
    if alerted:
        click.echo(f"admins emailed about {alerted} newly broken chains")
    if report.breaks:
        raise click.exceptions.Exit(1)


@click.group("exclusions")
def exclusions_group() -> None:
    """Import the federal exclusion lists (OIG LEIE, SAM.gov exclusions extract)."""


@exclusions_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", type=click.Choice(sorted(IMPORTERS)), default="leie", show_default=True,
              help="Which list the file is: the OIG LEIE (UPDATED.csv) or the SAM.gov exclusions extract.")
@click.option("--file-date", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date of the list (default: SAM's file name, else the file's modification date).")
@with_appcontext
def exclusions_import(file: Path, source: str, file_date: datetime | None) -> None:
    """Replace one exclusion list with a file (LEIE or SAM CSV); the other list and a re-import change nothing."""
    started = time.perf_counter()
    sha256, lines = file_digest(file)
    try:
        with click.progressbar(length=lines, label=f"Importing {file.name} ({LIST_NAMES[source]})") as bar:
            report = IMPORTERS[source](file, file_date.date() if file_date else None, bar.update, sha256)
    except ExclusionListInvalid as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    _print_import(report, time.perf_counter() - started)


def _print_import(report: ImportReport, seconds: float) -> None:
    """Print an import's totals and its skipped rows."""
    if report.unchanged:
        click.echo(f"unchanged: {report.file_name} (sha256 {report.sha256[:12]}) is already the current "
                   f"{LIST_NAMES[report.list_code]} list")
        return
    _print_lines(report.problems, report.malformed, "skipped rows")
    _print_lines(report.notes, report.noted, "rows kept without a value")
    rate = report.rows_imported / seconds if seconds else 0
    click.echo(f"imported {report.rows_imported} of {report.rows_read} rows ({_skipped(report)}) "
               f"from {report.file_name} in {seconds:.1f}s ({rate:.0f} rows/s); run `flask vetting run` to re-match")


def _print_lines(entries: list[tuple[int, str]], total: int, what: str) -> None:
    """Print the first of an import's per-line messages, and how many more there were."""
    for line, message in entries[:SHOWN_PROBLEMS]:
        click.echo(f"line {line}: {message}", err=True)
    if total > SHOWN_PROBLEMS:
        click.echo(f"... and {total - SHOWN_PROBLEMS} more {what}", err=True)


def _skipped(report: ImportReport) -> str:
    """Return how many rows were skipped, and why when some were set aside rather than malformed."""
    if not report.set_aside:
        return f"{report.rows_skipped} skipped"
    reasons = [f"{report.malformed} malformed"] if report.malformed else []
    reasons += [f"{count} {reason}" for reason, count in sorted(report.set_aside.items())]
    return f"{report.rows_skipped} skipped: {', '.join(reasons)}"
