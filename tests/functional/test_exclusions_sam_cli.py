"""`flask exclusions import --source sam FILE` end to end, beside the LEIE it must leave alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from directory.extensions import db
from directory.vetting.cli import exclusions_group, vetting_group
from directory.vetting.models import Exclusion
from directory.vetting.sources.exclusions import current_list
from tests.support.npi_server import FakeNpiRegistry, Scripted, found, npi_record
from tests.unit.vetting.builders import DATA, us_practitioner

SAMPLE = DATA / "sam_sample.csv"


def _invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(exclusions_group, list(args))


def _rows() -> int:
    return int(db.session.scalar(select(func.count(Exclusion.id))) or 0)


def test_a_sam_import_prints_what_it_kept_and_why_it_set_rows_aside(app: Flask, session: Any) -> None:
    result = _invoke(app, "import", "--source", "sam", str(SAMPLE), "--file-date", "2026-11-30")
    assert result.exit_code == 0, result.output
    assert "imported 6 of 8 rows (2 skipped: 1 inactive, 1 terminated) from sam_sample.csv" in result.output
    assert "line 9: NPI is not 10 digits: '12345'; kept without an NPI" in result.output
    assert "rows/s" in result.output
    listing = current_list("sam")
    assert listing is not None and listing.rows_imported == 6


def test_the_same_extract_twice_is_already_imported(app: Flask, session: Any, tmp_path: Path) -> None:
    _invoke(app, "import", "--source", "sam", str(SAMPLE))
    copy = tmp_path / "SAM_Exclusions_Public_Extract_V2_26335.CSV"
    copy.write_bytes(SAMPLE.read_bytes())
    again = _invoke(app, "import", "--source", "sam", str(copy))
    assert again.exit_code == 0, again.output
    assert "unchanged: SAM_Exclusions_Public_Extract_V2_26335.CSV" in again.output
    assert "already the current SAM.gov exclusions list" in again.output


def test_the_source_defaults_to_the_leie(app: Flask, session: Any) -> None:
    result = _invoke(app, "import", str(DATA / "leie_sample.csv"))
    assert "imported 8 of 8 rows (0 skipped) from leie_sample.csv" in result.output
    assert current_list("leie") is not None and current_list("sam") is None
    refused = _invoke(app, "import", str(SAMPLE))
    assert refused.exit_code == 1 and "not an LEIE file" in refused.output


def test_an_unknown_source_is_a_usage_error_listing_the_choices(app: Flask, session: Any) -> None:
    result = _invoke(app, "import", "--source", "ofac", str(SAMPLE))
    assert result.exit_code == 2
    assert "'ofac' is not one of 'leie', 'sam'" in result.output
    assert _rows() == 0


def test_wrong_columns_are_named_and_change_nothing(app: Flask, session: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(SAMPLE.read_text(encoding="utf-8").replace('"Zip Code"', '"ZIP"', 1), encoding="utf-8")
    result = _invoke(app, "import", "--source", "sam", str(bad))
    assert result.exit_code == 1
    assert "missing columns: Zip Code; unexpected columns: ZIP" in result.output
    assert _rows() == 0 and current_list("sam") is None


def test_a_truncated_extract_is_refused_and_both_lists_stay(app: Flask, session: Any, tmp_path: Path) -> None:
    _invoke(app, "import", str(DATA / "leie_sample.csv"))
    _invoke(app, "import", "--source", "sam", str(SAMPLE), "--file-date", "2026-11-30")
    before = (current_list("leie").id, current_list("sam").id, _rows())
    text = SAMPLE.read_text(encoding="utf-8")
    cut = tmp_path / "SAM_Exclusions_Public_Extract_V2_26336.CSV"
    cut.write_text(text[:text.rindex('"Reciprocal"')], encoding="utf-8")
    result = _invoke(app, "import", "--source", "sam", str(cut))
    assert result.exit_code == 1
    assert "line 9: the last record has 19 of 31 fields" in result.output
    assert "the current SAM list stays in force" in result.output
    assert (current_list("leie").id, current_list("sam").id, _rows()) == before


def test_a_sam_import_does_not_make_the_leie_check_due_again(app: Flask, session: Any,
                                                           registry: FakeNpiRegistry) -> None:
    _invoke(app, "import", str(DATA / "leie_update.csv"))
    us_practitioner(npi="1000000145")
    registry.answer("1000000145", Scripted(body=found(npi_record("1000000145"))))
    runner = app.test_cli_runner()
    runner.invoke(vetting_group, ["run"])
    _invoke(app, "import", "--source", "sam", str(SAMPLE))
    # SAM is a source of its own now: its first import makes the SAM check due, and only that one.
    assert "1 automated checks" in runner.invoke(vetting_group, ["run", "--dry-run"]).output
    output = runner.invoke(vetting_group, ["run"]).output
    assert "sam_exclusions: pass 1" in output and "exclusion_list:" not in output
