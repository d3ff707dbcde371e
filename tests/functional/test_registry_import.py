"""Both NPI-registry importers against the real formats: a local server speaking the API's JSON, a CSV in the file's layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from directory.extensions import db
from directory.imports.cli import import_group
from directory.imports.models import ImportRun, ImportSlice, RegistryListing
from directory.imports.nppes_api import import_from_api
from directory.indexing.models import SearchOutbox
from directory.indexing.services import documents_for
from directory.practitioners.cards import load_cards
from directory.practitioners.models import Practitioner
from directory.vetting.models import Credential, VerificationCheck
from directory.vetting.sources.npi import NpiRegistryClient, npi_is_valid
from tests import factories
from tests.support.npi_server import FakeNpiRegistry, Scripted, npi_record
from tests.support.nppes_csv import ACUPUNCTURIST, row, write_file


def npi(base: int) -> str:
    """Return a valid NPI (Luhn check digit) built on a nine-digit base."""
    stem = f"{base:09d}"
    return next(stem + d for d in "0123456789" if npi_is_valid(stem + d))


def _invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(import_group, list(args))


def _listing(number: str) -> Practitioner | None:
    return db.session.scalar(select(Practitioner).join(RegistryListing, RegistryListing.practitioner_id == Practitioner.id)
                             .where(RegistryListing.npi == number))


@pytest.fixture
def fast(app: Flask) -> Any:
    app.config["NPPES_IMPORT_DELAY_SECONDS"] = 0
    yield
    app.config.pop("NPPES_IMPORT_DELAY_SECONDS", None)


# --- the bulk file ------------------------------------------------------------------------------------------------

def _file(tmp_path: Path) -> Path:
    other = "207Q00000X"
    malformed = row(npi(100000008))[:-3]
    return write_file(tmp_path / "npidata_pfile_20050523-20261109.csv", [
        row(npi(100000001), first="MEI", last="CHEN"),
        row(npi(100000002), first="ANA", last="ORTIZ", taxonomies=[(1, other, "MD1", "MA"), (7, ACUPUNCTURIST, "AC-777", "MA")]),
        row(npi(100000003), deactivated="01/15/2020"),
        row(npi(100000004), first="JO", last="PARK", deactivated="01/15/2020", reactivated="03/01/2021"),
        row(npi(100000005), taxonomies=[(1, other, "MD2", "MA")]),
        row(npi(100000006), entity="2", last="LOTUS"),
        row(npi(100000007), line1="", city="", postal=""),
        malformed,
        row("1234567890"),
        row(npi(100000009), first="ZED", last="ROSS", city="NOWHEREVILLE", postal="00000"),
    ])


def test_file_import_keeps_active_individual_acupuncturists_and_counts_every_skip(app: Flask, session: Any,
                                                                                  tmp_path: Path) -> None:
    result = _invoke(app, "nppes-file", str(_file(tmp_path)))
    assert result.exit_code == 0, result.output
    for reason in ("malformed row (wrong number of columns)", "bad NPI check digit", "deactivated NPI",
                   "organisation (entity type 2)", "not an acupuncturist", "no practice location address"):
        assert f"1  skipped: {reason}" in result.output
    assert "4  created" in result.output
    assert "saved without a location" in result.output
    chen = _listing(npi(100000001))
    assert chen is not None and (chen.first_name, chen.last_name, chen.title) == ("Mei", "Chen", "L.Ac.")
    assert chen.vetting_status == "unverified"
    # Written as people write them, not as the registry stores them.
    where = chen.locations[0]
    assert (where.postal_code, where.phone, where.address_line1) == ("02139-1234", "(617) 555-0100", "1 Main St")
    assert chen.locations[0].latitude != 0 and chen.locations[0].timezone == "America/New_York"
    ortiz = _listing(npi(100000002))
    assert ortiz is not None
    licences = db.session.scalars(select(Credential.number).where(Credential.practitioner_id == ortiz.id,
                                                                  Credential.kind == "state_licence")).all()
    assert licences == ["AC-777"]  # slot 7's licence, not slot 1's medical one
    assert _listing(npi(100000004)) is not None  # reactivated after its deactivation
    for skipped in (100000003, 100000005, 100000006, 100000007):
        assert _listing(npi(skipped)) is None
    ross = _listing(npi(100000009))
    assert ross is not None and ross.locations == []
    assert "NOWHEREVILLE" in db.session.scalar(select(RegistryListing.unplaced_address).where(
        RegistryListing.npi == npi(100000009)))


def test_file_import_rerun_is_idempotent(app: Flask, session: Any, tmp_path: Path) -> None:
    path = _file(tmp_path)
    _invoke(app, "nppes-file", str(path))
    counts = (db.session.scalar(select(func.count(Practitioner.id))), db.session.scalar(select(func.count(Credential.id))))
    outbox = db.session.scalar(select(func.count(SearchOutbox.id)))
    again = _invoke(app, "nppes-file", str(path))
    assert again.exit_code == 0 and "4  unchanged" in again.output and "created" not in again.output
    assert (db.session.scalar(select(func.count(Practitioner.id))),
            db.session.scalar(select(func.count(Credential.id)))) == counts
    assert db.session.scalar(select(func.count(SearchOutbox.id))) == outbox


def test_file_import_hides_a_listing_whose_npi_was_deactivated(app: Flask, session: Any, tmp_path: Path) -> None:
    number = npi(100000001)
    _invoke(app, "nppes-file", str(write_file(tmp_path / "a.csv", [row(number)])))
    result = _invoke(app, "nppes-file", str(write_file(tmp_path / "b.csv", [row(number, deactivated="02/02/2026")])))
    assert "its imported listing was hidden" in result.output
    listing = _listing(number)
    assert listing is not None and listing.hidden


def test_file_import_refuses_a_file_that_is_not_the_npi_file(app: Flask, session: Any, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text('"NPI","Name"\n"1234567893","X"\n')
    result = _invoke(app, "nppes-file", str(path))
    assert result.exit_code == 1 and "not an NPPES npidata file" in result.output
    assert db.session.scalar(select(func.count(RegistryListing.id))) == 0


def test_imported_listing_is_searchable_labelled_and_never_verified_by_the_npi_alone(
        app: Flask, session: Any, client: Any, tmp_path: Path) -> None:
    _invoke(app, "nppes-file", str(write_file(tmp_path / "a.csv", [row(npi(100000001))])))
    chen = _listing(npi(100000001))
    assert chen is not None
    pending = db.session.scalars(select(SearchOutbox.practitioner_id)).all()
    assert chen.id in pending  # search changes go through the outbox
    document = documents_for([chen.id])[chen.id]
    assert document["visible"] and not document["verified"] and document["locations"]
    assert load_cards([chen.id], verified_only=False)[chen.id].registry_unclaimed
    page = client.get(f"/practitioners/{chen.slug}")
    assert page.status_code == 200 and "Listed from the public registry — not yet claimed" in page.text
    factories.practitioner_account(chen)
    db.session.flush()
    assert "not yet claimed" not in client.get(f"/practitioners/{chen.slug}").text


# --- the API ------------------------------------------------------------------------------------------------------

def _mailing_only(number: str) -> dict[str, Any]:
    record = npi_record(number, "LI", "WEI")
    record["addresses"] = [a for a in record["addresses"] if a["address_purpose"] == "MAILING"]
    for address in record["addresses"]:
        address["state"] = "MA"
    return record


def _api_records() -> list[dict[str, Any]]:
    return [
        npi_record(npi(200000001), "MEI", "CHEN"),
        npi_record(npi(200000002), "ANA", "ORTIZ", taxonomy="207Q00000X"),
        npi_record(npi(200000003), "LOTUS", "CLINIC", enumeration_type="NPI-2"),
        _mailing_only(npi(200000004)),
        npi_record(npi(200000005), "OLD", "TIMER", status="D"),
    ]


def _client(app: Flask) -> NpiRegistryClient:
    with app.app_context():
        return NpiRegistryClient.from_config()


def test_api_import_filters_records_and_records_a_registry_check(app: Flask, session: Any, registry: FakeNpiRegistry,
                                                                 fast: Any) -> None:
    registry.listed.extend(_api_records())
    result = _invoke(app, "nppes-api", "--state", "MA")
    assert result.exit_code == 0, result.output
    assert "1  created" in result.output and "1  NPI-registry checks recorded" in result.output
    for reason in ("no Acupuncturist (171100000X) taxonomy", "organisation (NPI-2)", "mailing address only",
                   "NPI not active"):
        assert reason in result.output
    chen = _listing(npi(200000001))
    assert chen is not None and chen.locations[0].city == "Cambridge"
    check = db.session.scalar(select(VerificationCheck).where(VerificationCheck.practitioner_id == chen.id))
    assert check is not None and check.source == "npi_registry" and check.outcome == "pass"
    assert chen.vetting_status != "verified"  # the licence still needs its manual primary-source check
    searches = registry.searches()
    assert searches[0]["version"] == "2.1" and searches[0]["limit"] == "200"
    assert searches[0]["taxonomy_description"] == "Acupuncturist" and searches[0]["address_purpose"] == "LOCATION"


def test_api_import_splits_a_query_that_fills_the_1200_window(app: Flask, session: Any, registry: FakeNpiRegistry,
                                                              fast: Any) -> None:
    # 1,300 acupuncturists in Cambridge (021..) and 5 in Boston's 022..: the state query sees only 1,200.
    registry.listed.extend(npi_record(npi(300000000 + i), "A", f"P{i}", postal_code=f"0213{i % 10}1234")
                           for i in range(1300))
    registry.listed.extend(npi_record(npi(310000000 + i), "B", f"Q{i}", city="BOSTON", postal_code="02215")
                           for i in range(5))
    report = import_from_api("MA", client=_client(app))
    assert not report.errors
    assert report.tally.counts["created"] == 1305
    assert db.session.scalar(select(func.count(RegistryListing.id))) == 1305
    asked = {s.get("postal_code") for s in registry.searches()}
    assert {"021*", "022*", "0213*"} <= asked
    assert all(int(s["skip"]) <= 1000 and int(s["limit"]) <= 200 for s in registry.searches())


def test_api_errors_page_is_reported_not_raised(app: Flask, session: Any, registry: FakeNpiRegistry, fast: Any) -> None:
    registry.listed.append(npi_record(npi(200000001)))
    registry.search_answer({"state": "MA"}, Scripted(body={"Errors": [{"description": "No valid search criteria",
                                                                       "field": "generic"}]}))
    result = _invoke(app, "nppes-api", "--state", "MA")
    assert result.exit_code == 1
    assert "the registry refused the query: No valid search criteria" in result.output
    assert db.session.scalar(select(ImportSlice.error)) == "the registry refused the query: No valid search criteria"


def test_api_import_resumes_after_a_crash_and_reruns_idempotently(app: Flask, session: Any, registry: FakeNpiRegistry,
                                                                  fast: Any) -> None:
    registry.listed.extend(npi_record(npi(400000000 + i), "C", f"R{i}") for i in range(450))

    class Crash(Exception):
        pass

    def crash_after_two_pages(piece: ImportSlice, count: int) -> None:
        if piece.next_skip >= 400:
            raise Crash

    with pytest.raises(Crash):
        import_from_api("MA", client=_client(app), on_page=crash_after_two_pages)
    assert db.session.scalar(select(ImportRun.state)) == "running"
    registry.requests.clear()
    report = import_from_api("MA", client=_client(app))
    assert report.resumed and [s["skip"] for s in registry.searches()] == ["400"]
    assert db.session.scalar(select(func.count(RegistryListing.id))) == 450
    again = import_from_api("MA", client=_client(app))
    assert not again.resumed and again.tally.counts["unchanged"] == 450 and "created" not in again.tally.counts
    assert db.session.scalar(select(func.count(Practitioner.id)).where(Practitioner.npi.like("4%"))) == 450


def test_api_import_retries_a_failing_page(app: Flask, session: Any, registry: FakeNpiRegistry, fast: Any) -> None:
    registry.listed.append(npi_record(npi(200000001)))
    registry.search_answer({"state": "MA"}, Scripted(status=503, body={}, times=1))
    report = import_from_api("MA", client=_client(app))
    assert not report.errors and report.tally.counts["created"] == 1
    assert len(registry.searches()) == 2  # the 503, then the retry the client's backoff made


def test_api_command_refuses_a_bad_state(app: Flask, session: Any) -> None:
    result = _invoke(app, "nppes-api", "--state", "Massachusetts")
    assert result.exit_code == 2 and "two-letter state code" in result.output


def test_file_import_counts_a_reactivation_before_the_last_deactivation_as_deactivated(
        app: Flask, session: Any, tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.csv", [row(npi(100000004), deactivated="01/15/2022", reactivated="03/01/2021")])
    result = _invoke(app, "nppes-file", str(path))
    assert "1  skipped: deactivated NPI" in result.output and _listing(npi(100000004)) is None


def test_file_import_leaves_a_claimed_listing_alone(app: Flask, session: Any, tmp_path: Path) -> None:
    number = npi(100000001)
    _invoke(app, "nppes-file", str(write_file(tmp_path / "a.csv", [row(number)])))
    chen = _listing(number)
    assert chen is not None
    factories.practitioner_account(chen)
    chen.bio = "My own words."
    db.session.commit()
    result = _invoke(app, "nppes-file", str(write_file(tmp_path / "b.csv", [row(number, last="CHEN-WU")])))
    assert "left alone: claimed by its practitioner" in result.output
    assert (chen.last_name, chen.bio) == ("Chen", "My own words.")
