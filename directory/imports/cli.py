"""`flask import nppes-api` and `flask import nppes-file`: list acupuncturists from the public NPI registry."""

from __future__ import annotations

import re
from pathlib import Path

import click
from flask.cli import with_appcontext

from directory.extensions import db
from directory.imports.listings import Tally
from directory.imports.nppes_api import import_from_api
from directory.imports.nppes_file import BulkFileError, import_file
from directory.vetting.sources.npi import NpiRegistryClient


@click.group("import")
def import_group() -> None:
    """Import unclaimed listings from the NPI registry (API or bulk file)."""


@import_group.command("nppes-api")
@click.option("--state", required=True, help="Two-letter US state of the practice locations, e.g. MA.")
@click.option("--city", default="", help="Only practice locations in this city.")
@click.option("--postal-code", default="", help="Only practice locations with this ZIP code (or its first digits).")
@with_appcontext
def nppes_api_command(state: str, city: str, postal_code: str) -> None:
    """Page through the NPPES API and create or update the listings it returns (resumes an unfinished run)."""
    if not re.fullmatch(r"[A-Za-z]{2}", state.strip()):
        raise click.BadParameter("a two-letter state code, e.g. MA", param_hint="--state")
    if postal_code and not re.fullmatch(r"\d{2,5}", postal_code.strip()):
        raise click.BadParameter("two to five digits of a ZIP code", param_hint="--postal-code")
    client = NpiRegistryClient.from_config()
    try:
        report = import_from_api(state.strip(), city.strip(), postal_code.strip(), client=client)
    finally:
        client.close()
    click.echo(f"{'resumed' if report.resumed else 'finished'} import run {report.run_id}:")
    _echo(report.tally)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise click.ClickException(f"{len(report.errors)} slice(s) failed; run the command again to retry them")


@import_group.command("nppes-file")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def nppes_file_command(file: Path) -> None:
    """Stream an NPPES npidata_pfile CSV and create or update the acupuncturists' listings."""
    try:
        with click.progressbar(length=file.stat().st_size, label=f"Reading {file.name}") as bar:
            tally = import_file(file, progress=bar.update)
    except (BulkFileError, UnicodeDecodeError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    _echo(tally)


def _echo(tally: Tally) -> None:
    """Print the counts, or say that nothing was found."""
    for line in tally.lines() or ["        0  records"]:
        click.echo(line)
